"""Figures, ``report.md``, ``figures.json``, ``events.jsonl`` and PNG plots of a simulation run.

Every money figure is an exact integer of the settlement token's smallest unit (the JSON keeps
them so); the markdown and the plots show them in whole tokens.

LP figures: ``liquidity_end`` and ``lp_pnl`` are the pool's realized LP liquidity (``liquidity()``:
deposits, realized trader losses and fees, minus realized trader profits, keeper pay and
redemptions); ``total_assets_marked_end``, ``lp_pnl_marked`` and the ``share_price_marked_*``
figures are marked to the oracle price (``totalAssets()`` / ``convertToAssets``: the fees open
positions owe minus their unrealized PnL included). With every position closed at the end
(``close_at_end``, the default) the two agree.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ringfence import model

__all__ = ["comparison_rows", "cross_figures", "isolated_figures", "reference_figures", "save_events", "write_report"]

WAD = 10**18



def _label(ax: Any, ylabel: str, title: str) -> None:
    """A time plot's axes: hours across, ``ylabel`` up."""
    ax.set_xlabel("hours")
    ax.set_ylabel(ylabel)
    ax.set_title(title)


def _save(plt: Any, fig: Any, out: Path, name: str) -> str:
    """Writes ``fig`` as ``out/name``, frees it, and returns the file name."""
    fig.tight_layout()
    fig.savefig(out / name, dpi=110)
    plt.close(fig)
    return name

def _drawdown(series: list[int]) -> int:
    peak, worst = None, 0
    for v in series:
        peak = v if peak is None else max(peak, v)
        worst = max(worst, peak - v)
    return worst


# ------------------------------------------------------------------------------------ isolated (chain)
def isolated_figures(run: Any, balances: dict[str, Any], minted: dict[tuple[str, str], int],
                     traders: list[str]) -> dict[str, Any]:
    """The isolated run's figures, from the chain's events and balances."""
    by_pool = {m.market.address.lower(): m for m in run.markets}
    size: dict[str, int] = {}
    paid_in: dict[str, int] = {}
    liquidated_vaults: set[str] = set()
    full = partial = solvent_alone = 0
    liquidation_marks = []
    bad_debt = covered = borne = fund_to_keepers = pool_to_keepers = keeper_total = 0
    for e in run.events:
        a = e["args"]
        name = e["event"]
        if name == "PositionOpened":
            size[a["vault"].lower()] = a["size"]
            paid_in[a["owner"].lower()] = paid_in.get(a["owner"].lower(), 0) + a["margin"]
        elif name == "MarginAdded":
            paid_in[a["payer"].lower()] = paid_in.get(a["payer"].lower(), 0) + a["amount"]
        elif name == "Liquidated":
            vault = a["vault"].lower()
            m = by_pool[e["contract"].lower()]
            before = size.get(vault, a["closedSize"])
            requirement = model.requirement_up(model.notional_up(before, a["priceWad"], m.scale),
                                               m.params.maintenance_margin_wad)
            alone_ok = a["equityBefore"] >= requirement
            solvent_alone += alone_ok
            size[vault] = before - a["closedSize"]
            liquidated_vaults.add(vault)
            full += bool(a["full"])
            partial += not a["full"]
            liquidation_marks.append({"step": run.step_of(e["block"]), "market": run.markets.index(m),
                                      "price_wad": a["priceWad"], "full": bool(a["full"]),
                                      "bad_debt": a["badDebt"], "solvent_alone": alone_ok})
        elif name == "BadDebtCovered":
            bad_debt += a["shortfall"]
            covered += a["coveredByFund"]
            borne += a["borneByLps"]
        elif name == "KeeperPaid":
            fund_to_keepers += a["fromFund"]
            pool_to_keepers += a["fromPool"]
            keeper_total += a["fromEquity"] + a["fromFund"] + a["fromPool"]

    # Trader losses beyond what they allocated to vaults, from wallets: minted - wallet - claimable.
    excess = 0
    worst_loss_share = 0.0
    for t in traders:
        minted_t = sum(v for (tok, who), v in minted.items() if who == t)
        wallet = sum(b["holders"].get(t, 0) + b["claimable"].get(t, 0) for b in balances.values())
        loss = minted_t - wallet
        allocated = paid_in.get(t.lower(), 0)
        excess += max(0, loss - allocated)
        if allocated:
            worst_loss_share = max(worst_loss_share, loss / allocated)

    # Conservation per token: every unit minted is in a wallet, a pool, a fund or a vault.
    conservation = {}
    tokens: dict[str, list[Any]] = {}
    for m in run.markets:
        tokens.setdefault(m.token.lower(), []).append(m)
    for token, ms in tokens.items():
        b0 = balances[ms[0].spec.id]
        held = sum(b0["holders"].values())
        held += sum(balances[m.spec.id]["pool"] + balances[m.spec.id]["fund"] + balances[m.spec.id]["vaults"]
                    for m in ms)
        total_minted = sum(v for (tok, _), v in minted.items() if tok.lower() == token)
        conservation[ms[0].spec.id] = {"minted": total_minted, "held": held, "gap": total_minted - held}

    fund_series = [[s["markets"][i]["fund"] for s in run.samples] for i in range(len(run.markets))]
    share_series = [[s["markets"][i]["share_price"] for s in run.samples] for i in range(len(run.markets))]
    lp_entries: dict[str, dict[str, int]] = {}  # pool -> immediate (bootstrap) deposits / settled requests
    for e in run.events:
        if e["event"] in ("Deposit", "DepositRequested", "DepositSettled"):
            counts = lp_entries.setdefault(e["contract"].lower(), {})
            counts[e["event"]] = counts.get(e["event"], 0) + 1
    markets = []
    for i, m in enumerate(run.markets):
        b = balances[m.spec.id]
        entries = lp_entries.get(m.market.address.lower(), {})
        markets.append({
            "id": m.spec.id, "pool": m.market.address, "token": m.token, "feed": m.feed,
            "start_answer": m.rounds[0].answer, "rounds": len(m.rounds),
            "deposits": m.deposits,
            "lp_deposits_immediate": entries.get("Deposit", 0),
            "lp_deposits_requested": entries.get("DepositRequested", 0),
            "lp_deposits_settled": entries.get("DepositSettled", 0),
            "lp_shares": b["lp_shares"], "pending_deposits_end": b["pending_deposits"],
            "liquidity_end": b["liquidity"], "lp_pnl": b["liquidity"] - m.deposits,
            "total_assets_marked_end": b["total_assets_marked"],
            "lp_pnl_marked": b["total_assets_marked"] - m.deposits,
            "share_price_marked_start": share_series[i][0] if share_series[i] else b["share_price_marked"],
            "share_price_marked_end": b["share_price_marked"], "share_unit": m.share_unit,
            "fund_start": m.spec.insurance_fund, "fund_end": b["fund"],
            "fund_drawdown": _drawdown([m.spec.insurance_fund, *fund_series[i], b["fund"]]),
            # the pool holds the LPs' liquidity, unclaimed credits and pending deposits (and donations)
            "pool_balance": b["pool"], "pool_balance_minus_liquidity": b["pool"] - b["liquidity"],
        })
    opened = [p for p in run.positions if p.opened]
    return {
        "positions_opened": len(opened),
        "positions_failed": {p.failed: sum(1 for q in run.positions if q.failed == p.failed)
                             for p in run.positions if p.failed},
        "positions_liquidated": len(liquidated_vaults),
        "liquidations_full": full,
        "liquidations_partial": partial,
        "liquidated_solvent_alone": solvent_alone,
        "trader_excess_loss": excess,
        "worst_trader_loss_of_allocation": round(worst_loss_share, 6),
        "bad_debt": bad_debt,
        "bad_debt_covered_by_fund": covered,
        "bad_debt_borne_by_lps": borne,
        "keeper_bonus_total": keeper_total,
        "keeper_bonus_from_fund": fund_to_keepers,
        "keeper_bonus_from_pool": pool_to_keepers,
        "fund_drawdown": sum(m["fund_drawdown"] for m in markets),
        "fund_end": sum(m["fund_end"] for m in markets),
        "fund_start": sum(m["fund_start"] for m in markets),
        "lp_pnl": sum(m["lp_pnl"] for m in markets),
        "lp_pnl_marked": sum(m["lp_pnl_marked"] for m in markets),
        "markets": markets,
        "conservation": conservation,
        "liquidation_marks": liquidation_marks,
        "topups": sum(1 for a in run.actions if a.kind == "topup"),
        "topped_up": sum(a.amount for a in run.actions if a.kind == "topup"),
    }


# ------------------------------------------------------------------------------------ cross (model)
def cross_figures(run: Any, cross: Any, result: Any, needs: dict[str, int]) -> dict[str, Any]:
    iso = run.figures["isolated"]["markets"]
    markets = []
    for i, m in enumerate(run.markets):
        start_price = iso[i]["share_price_marked_start"]
        lp_pnl = result.lp_pnl[i]
        series = [m.spec.insurance_fund, *(f[i] for _, f in result.fund_series)]
        markets.append({
            "id": m.spec.id, "lp_pnl": lp_pnl,
            "share_price_end": start_price * (m.deposits + lp_pnl) // m.deposits if m.deposits else 0,
            "fund_start": m.spec.insurance_fund, "fund_end": cross.fund[i], "fund_drawdown": _drawdown(series),
        })
    marks = []
    for liq in result.liquidations:
        marks.append({"step": liq["block"], "market": liq["market"], "price_wad": liq["price_wad"],
                      "contagion": liq["contagion"]})
    return {
        "model": True,
        "positions_opened": sum(1 for a in run.actions if a.kind == "open"),
        "positions_liquidated": result.liquidated_positions,
        "account_liquidations": result.account_liquidations,
        "liquidated_solvent_alone": result.contagion,
        "trader_excess_loss": result.trader_excess_loss,
        "bad_debt": result.bad_debt,
        "fund_paid": result.fund_paid,
        "keeper_bonus_total": result.keepers,
        "fund_drawdown": sum(m["fund_drawdown"] for m in markets),
        "fund_end": sum(m["fund_end"] for m in markets),
        "fund_start": sum(m["fund_start"] for m in markets),
        "lp_pnl": sum(m["lp_pnl"] for m in markets),
        "markets": markets,
        "capital": {"initial_margin": needs["initial_margin"], "peak_need": needs["cross_peak_need"]},
        "conservation_gap": cross.conservation_gap(),
        "open_at_end": cross.open_positions(),
        "fund_series": result.fund_series,
        "liquidation_marks": marks,
    }


# ------------------------------------------------------------------------------------ output
def _tokens(value: int, decimals: int) -> str:
    return f"{value / 10**decimals:,.2f}"


def comparison_rows(figures: dict[str, Any], decimals: int) -> list[tuple[str, str, str]]:
    iso, cro = figures["isolated"], figures["cross"]
    t = lambda v: _tokens(v, decimals)
    def share(f: dict[str, Any], key: str) -> str:
        return " / ".join(f"{m[key] / 10**decimals:.6f}" for m in f["markets"])

    ratio = cro["capital"]["peak_need"] / iso["capital"]["peak_need"] if iso["capital"]["peak_need"] else 0
    return [
        ("positions opened", f"{iso['positions_opened']}", f"{cro['positions_opened']}"),
        ("positions liquidated", (f"{iso['positions_liquidated']} ({iso['liquidations_full']} full, "
         f"{iso['liquidations_partial']} partial liquidations)"),
         f"{cro['positions_liquidated']} (in {cro['account_liquidations']} accounts)"),
        ("liquidated although solvent on their own (contagion)", f"{iso['liquidated_solvent_alone']}",
         f"{cro['liquidated_solvent_alone']}"),
        ("trader losses beyond each position's allocation", t(iso["trader_excess_loss"]),
         t(cro["trader_excess_loss"])),
        ("bad debt", t(iso["bad_debt"]), t(cro["bad_debt"])),
        ("insurance fund: start -> end", f"{t(iso['fund_start'])} -> {t(iso['fund_end'])}",
         f"{t(cro['fund_start'])} -> {t(cro['fund_end'])}"),
        ("insurance-fund max drawdown", t(iso["fund_drawdown"]), t(cro["fund_drawdown"])),
        ("LP PnL (realized liquidity - deposits)", t(iso["lp_pnl"]), t(cro["lp_pnl"])),
        ("LP share price at the end (isolated: marked to the oracle)", share(iso, "share_price_marked_end"),
         share(cro, "share_price_end")),
        ("initial margin for the same exposure (IM x N)", t(iso["capital"]["initial_margin"]),
         t(cro["capital"]["initial_margin"])),
        ("collateral to hold every position to plan (peak need)", t(iso["capital"]["peak_need"]),
         f"{t(cro['capital']['peak_need'])} ({ratio:.0%} of isolated)"),
    ]


def _plots(run: Any, out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    sc = run.scenario
    hours = lambda step: step * sc.block_time / 3600
    iso, cro = run.figures["isolated"], run.figures["cross"]

    fig, axes = plt.subplots(len(run.markets), 1, figsize=(11, 4.2 * len(run.markets)), squeeze=False)
    for i, m in enumerate(run.markets):
        ax = axes[i][0]
        dec = m.spec.oracle.decimals
        ax.plot([hours(b) for b in range(len(m.path))], m.path, color="0.75", lw=0.8, label="market price")
        xs: list[float] = []
        ys: list[float] = []
        for r in m.rounds:
            if xs:
                xs.append(hours(r.block))
                ys.append(ys[-1])
            xs.append(hours(r.block))
            ys.append(r.answer / 10**dec)
        xs.append(hours(sc.blocks))
        ys.append(ys[-1])
        ax.plot(xs, ys, color="tab:blue", lw=1.2, label=f"oracle answer ({len(m.rounds)} rounds)")
        marks = [x for x in iso["liquidation_marks"] if x["market"] == i]
        ax.scatter([hours(x["step"]) for x in marks], [x["price_wad"] / WAD for x in marks], marker="x",
                   color="tab:red", zorder=3, label=f"isolated liquidations ({len(marks)})")
        cmarks = [x for x in cro["liquidation_marks"] if x["market"] == i]
        ax.scatter([hours(x["step"]) for x in cmarks], [x["price_wad"] / WAD * 1.01 for x in cmarks],
                   marker="o", facecolors="none", edgecolors="tab:orange", zorder=3,
                   label=f"cross-model liquidations ({len(cmarks)}, {sum(x['contagion'] for x in cmarks)} contagion)")
        ax.set_title(f"{sc.name}: {m.spec.id}")
        ax.set_xlabel("hours")
        ax.set_ylabel("price")
        ax.legend(fontsize=8)
    files.append(_save(plt, fig, out, "price.png"))

    fig, ax = plt.subplots(figsize=(11, 4.2))
    xs, p10, p50, p90, lo = [], [], [], [], []
    for s in run.samples:
        h = sorted(x for mk in s["markets"] for x in mk["health"])
        if not h:
            continue
        xs.append(hours(s["block"]))
        lo.append(h[0])
        p10.append(h[len(h) // 10])
        p50.append(h[len(h) // 2])
        p90.append(h[min(len(h) - 1, len(h) * 9 // 10)])
    if xs:
        ax.fill_between(xs, p10, p90, color="tab:blue", alpha=0.25, label="10th-90th percentile")
        ax.plot(xs, p50, color="tab:blue", label="median")
        ax.plot(xs, lo, color="tab:red", lw=0.8, label="lowest")
    ax.axhline(1.0, color="k", ls="--", lw=0.8, label="maintenance (health 1)")
    ax.set_yscale("log")
    _label(ax, "vault health (equity / MM x notional)", "Distribution of open vaults' health (isolated, on chain)")
    ax.legend(fontsize=8)
    files.append(_save(plt, fig, out, "health.png"))

    dec0 = run.markets[0].spec.decimals
    fig, ax = plt.subplots(figsize=(11, 4))
    ax.plot([hours(s["block"]) for s in run.samples],
            [sum(mk["fund"] for mk in s["markets"]) / 10**dec0 for s in run.samples], label="isolated (chain)")
    ax.step([hours(b) for b, _ in cro["fund_series"]], [sum(f) / 10**dec0 for _, f in cro["fund_series"]],
            where="post", label="cross (model)", ls="--")
    _label(ax, "tokens", "Insurance-fund balance")
    ax.legend()
    files.append(_save(plt, fig, out, "insurance_fund.png"))

    fig, ax = plt.subplots(figsize=(11, 4))
    for i, m in enumerate(run.markets):
        ax.plot([hours(s["block"]) for s in run.samples],
                [s["markets"][i]["share_price"] / 10**m.spec.decimals for s in run.samples],
                label=f"{m.spec.id} isolated (chain)")
        ax.scatter([hours(sc.blocks)], [cro["markets"][i]["share_price_end"] / 10**m.spec.decimals],
                   marker="D", color="tab:orange", label=f"{m.spec.id} cross model, end", zorder=3)
    _label(ax, "assets per LP share", "LP share price (marked to the oracle price)")
    ax.legend(fontsize=8)
    files.append(_save(plt, fig, out, "lp_share_price.png"))

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [1, 2]})
    labels = ["liquidated", "contagion"]
    a1.bar([x - 0.2 for x in range(2)], [iso["positions_liquidated"], iso["liquidated_solvent_alone"]], 0.4,
           label="isolated")
    a1.bar([x + 0.2 for x in range(2)], [cro["positions_liquidated"], cro["liquidated_solvent_alone"]], 0.4,
           label="cross (model)")
    a1.set_xticks(range(2), labels)
    a1.set_ylabel("positions")
    a1.legend()
    keys = [("bad debt", "bad_debt"), ("losses beyond\nallocation", "trader_excess_loss"),
            ("fund drawdown", "fund_drawdown"), ("LP PnL", "lp_pnl")]
    iv = [iso[k] / 10**dec0 for _, k in keys] + [iso["capital"]["peak_need"] / 10**dec0]
    cv = [cro[k] / 10**dec0 for _, k in keys] + [cro["capital"]["peak_need"] / 10**dec0]
    names = [n for n, _ in keys] + ["collateral\npeak need"]
    a2.bar([x - 0.2 for x in range(len(names))], iv, 0.4, label="isolated")
    a2.bar([x + 0.2 for x in range(len(names))], cv, 0.4, label="cross (model)")
    a2.set_xticks(range(len(names)), names, fontsize=8)
    a2.set_ylabel("tokens")
    a2.axhline(0, color="k", lw=0.6)
    a2.legend()
    fig.suptitle(f"{sc.name}: isolated (Ringfence, on chain) vs cross margin (model)")
    files.append(_save(plt, fig, out, "comparison.png"))
    return files


_UNSTABLE = {"liquidation_marks", "pool", "token", "feed", "path"}


def reference_figures(data: dict[str, Any]) -> dict[str, Any]:
    """The part of a run's ``figures.json`` that the same scenario and seed must reproduce exactly on
    a fresh embedded chain: every count and amount of both columns, without timings, addresses and
    the plots' marker lists (``docs/reference/flash-crash.json`` holds the demo's)."""

    def keep(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: keep(v) for k, v in value.items() if k not in _UNSTABLE}
        if isinstance(value, list):
            return [keep(v) for v in value]
        return value

    return {"scenario": keep(data["scenario"]), "oracle_rounds": data["oracle_rounds"],
            "transactions": data["transactions"], "isolated": keep(data["isolated"]),
            "cross": keep(data["cross"])}


def save_events(run: Any, path: Path) -> None:
    """One JSON object per line: the run's events in order."""
    with path.open("w") as f:
        for e in run.events:
            f.write(json.dumps(e) + "\n")


def write_report(run: Any, out: Path) -> dict[str, Path]:
    """Writes figures.json, events.jsonl, report.md and the plots into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    sc = run.scenario
    figures = run.figures
    loop_tx = int(run.timings.get("loop_transactions", 0))
    tps = loop_tx / run.timings["loop_seconds"] if run.timings.get("loop_seconds") else 0.0
    data = {
        "scenario": {"name": sc.name, "path": sc.path, "seed": sc.seed, "blocks": sc.blocks,
                     "block_time": sc.block_time, "traders": sc.traders.count,
                     "keepers": [{"delay": k.delay, "gas_budget": k.gas_budget} for k in sc.keepers]},
        "network": run.network, "chain_id": run.chain_id,
        "oracle_rounds": sum(len(m.rounds) for m in run.markets),
        "oracle_heartbeats_added": sum(m.heartbeats for m in run.markets),
        "transactions": run.transactions, "loop_transactions": loop_tx,
        "transactions_per_second": round(tps, 2),
        "send_transactions_per_second": round(run.transactions / run.timings["send_seconds"], 2)
        if run.timings.get("send_seconds") else 0.0,
        "timings": {k: round(v, 3) for k, v in run.timings.items()},
        "isolated": {k: v for k, v in figures["isolated"].items()},
        "cross": {k: v for k, v in figures["cross"].items() if k != "fund_series"},
        "keeper_activity": run.keeper_reports,
    }
    (out / "figures.json").write_text(json.dumps(data, indent=1, default=str))
    save_events(run, out / "events.jsonl")
    plots = _plots(run, out)
    dec = run.markets[0].spec.decimals
    rows = comparison_rows(figures, dec)
    iso = figures["isolated"]
    lines = [
        f"# Simulation: {sc.name}", "",
        sc.description.strip(), "",
        (f"- network `{run.network}` (chain id {run.chain_id}), seed {sc.seed}, {sc.blocks} blocks of "
        f"{sc.block_time} s ({sc.blocks * sc.block_time / 3600:.1f} h)"),
        "- markets: " + ", ".join(f"{m.spec.id} (feed {m.feed}, token {m.token}, {len(m.rounds)} oracle rounds, "
                                   f"start {m.rounds[0].answer / 10**m.spec.oracle.decimals:,.2f})"
                                   for m in run.markets),
        f"- LPs: {sc.lps.count} per market, {sc.lps.deposit:,.2f} tokens each; per market the first "
        f"deposit is immediate (a pool without shares), the others are requested before block 0 and "
        f"settled on its oracle round, before any trade ("
        + ", ".join(f"{m['id']}: {m['lp_deposits_immediate']} immediate, {m['lp_deposits_settled']} of "
                    f"{m['lp_deposits_requested']} requests settled" for m in iso["markets"]) + ")",
        f"- {sc.traders.count} traders, {iso['positions_opened']} positions opened"
        + (f" ({sum(iso['positions_failed'].values())} refused by the pool: {iso['positions_failed']})"
           if iso["positions_failed"] else "")
        + f", {iso['topups']} margin top-ups; {len(sc.keepers)} keepers (delays "
        f"{', '.join(str(k.delay) for k in sc.keepers)} blocks; gas budgets "
        f"{', '.join(f'{k.gas_budget:,}' for k in sc.keepers)})",
        (f"- {run.transactions:,} transactions; the block loop sent {loop_tx:,} in "
        f"{run.timings['loop_seconds']:.1f} s ({tps:.1f} tx/s with everything else the loop does: keeper "
        f"passes, reads, samples); sending alone ran at "
        f"{run.transactions / max(run.timings.get('send_seconds', 0), 1e-9):.0f} tx/s; total "
        f"{run.timings['total_seconds']:.1f} s"), "",
        "## Isolated (Ringfence, on chain) versus cross margin (a Python model)", "",
        "| figure | isolated (on chain) | cross (model) |", "| --- | --- | --- |",
        *[f"| {a} | {b} | {c} |" for a, b, c in rows], "",
        ("Amounts in whole settlement tokens. **The cross column is a model**, not a contract: the same "
        "traders, positions, top-ups, closes and oracle prices, with each trader's positions sharing one "
        "margin account (the sum of the margins allocated), closed together when the account's equity "
        "falls below the sum of MM x notional, after the fastest keeper's delay, with the pool's bonus, "
        "penalty and bad-debt waterfall and no partial liquidation. Contagion: a position closed by its "
        "account's liquidation although its own equity was at least MM x notional."), "",
        "## Checks", "",
        f"- isolated liquidations of vaults solvent on their own: {iso['liquidated_solvent_alone']}",
        (f"- trader losses beyond their vaults' margins (wallets): {_tokens(iso['trader_excess_loss'], dec)}; "
        f"worst trader lost {iso['worst_trader_loss_of_allocation']:.1%} of what it allocated"),
        "- conservation (minted = wallets + pools + funds + vaults): "
        + ", ".join(f"{k}: gap {v['gap']}" for k, v in iso["conservation"].items()),
        f"- cross model's money balance gap: {figures['cross']['conservation_gap']}", "",
        "## Plots", "",
        *[f"![{p}]({p})" for p in plots], "",
        "Files: `figures.json` (every figure, exact integers), `events.jsonl` (every protocol event), the plots above.",
    ]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    return {"report": out / "report.md", "figures": out / "figures.json", "events": out / "events.jsonl",
            **{p: out / p for p in plots}}
