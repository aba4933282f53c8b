"""A simulation run's outputs: ``report.md``, ``figures.json``, ``events.jsonl`` and the PNG plots
(the figures are computed in :mod:`ringfence.sim.figures`, the plots drawn in :mod:`ringfence.sim.plots`).

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

from ringfence.sim.figures import cross_figures, isolated_figures
from ringfence.sim.plots import plots

__all__ = ["comparison_rows", "cross_figures", "figures_data", "guard_rows", "isolated_figures",
           "reference_figures", "save_events", "write_guard_comparison", "write_report"]


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


def guard_rows(without: dict[str, Any], with_guard: dict[str, Any], decimals: int) -> list[tuple[str, str, str]]:
    """The same scenario and seed without and with MarginGuard policies (``figures["guard"]`` of each
    run; the group "with a policy" is the same traders in both: those holding one in the second run):
    liquidations, trader losses, keeper income and the collateral the traders committed."""
    t = lambda v: _tokens(v, decimals)
    a, b = without["guard"], with_guard["guard"]
    ah, bh, ar, br = a["with_policy"], b["with_policy"], a["without_policy"], b["without_policy"]
    return [
        ("traders (with a policy in the second run)", f"{a['all']['traders']} ({ah['traders']})",
         f"{b['all']['traders']} ({bh['traders']})"),
        ("positions liquidated: all traders", f"{a['all']['liquidated']} of {a['all']['positions']}",
         f"{b['all']['liquidated']} of {b['all']['positions']}"),
        ("positions liquidated: traders with a policy", f"{ah['liquidated']} of {ah['positions']}",
         f"{bh['liquidated']} of {bh['positions']}"),
        ("positions liquidated: the other traders", f"{ar['liquidated']} of {ar['positions']}",
         f"{br['liquidated']} of {br['positions']}"),
        ("trader losses, net: all traders", t(a["all"]["trader_loss"]), t(b["all"]["trader_loss"])),
        ("trader losses, net: traders with a policy", t(ah["trader_loss"]), t(bh["trader_loss"])),
        ("keeper income: liquidation bonuses", t(a["keeper_bonus"]), t(b["keeper_bonus"])),
        ("keeper income: top-up fees (top-ups)", f"{t(a['keeper_top_up_fees'])} ({a['top_ups']})",
         f"{t(b['keeper_top_up_fees'])} ({b['top_ups']})"),
        ("keeper income: total", t(a["keeper_income"]), t(b["keeper_income"])),
        ("margin the guard added from reserves", t(a["top_up_amount"]), t(b["top_up_amount"])),
        ("collateral committed by traders with a policy (margin + own top-ups + reserve)", t(ah["committed"]),
         f"{t(bh['committed'])} (reserve {t(bh['reserve_deposits'])}, {t(bh['reserve_used'])} used)"),
        ("collateral committed by all traders", t(a["all"]["committed"]), t(b["all"]["committed"])),
    ]


def write_guard_comparison(pairs: list[tuple[Any, Any]], out: Path) -> Path:
    """``guard-comparison.md`` and ``guard-comparison.json`` in ``out``: per scenario, the run without and
    the run with the guard (same seed, same price paths, same traders and plans)."""
    out.mkdir(parents=True, exist_ok=True)
    lines = ["# MarginGuard: the same runs without and with policies", "",
             ("Each scenario is run twice with its seed: the price paths, the oracle rounds, the traders and "
              "their plans are the same; in the second run the traders marked by `traders.guard` hold a "
              "MarginGuard policy on each vault, funded from a reserve earmarked to their vaults, and the "
              "keepers top up before they liquidate. Trader losses are net (minted - wallet - claimable, "
              "after the reserves' remainders were withdrawn); committed collateral counts the reserve "
              "deposited whether or not it was used."), ""]
    data = []
    for without, with_guard in pairs:
        sc = with_guard.scenario
        g = sc.traders
        dec = with_guard.markets[0].spec.decimals
        lines += [f"## {sc.name} (seed {sc.seed})", "",
                  (f"Policy: trigger {float(g.guard_trigger):g}, target {float(g.guard_target):g}, most per top-up "
                   f"{float(g.guard_max_per_top_up):g} x margin, budget {float(g.guard_budget):g} x margin, fee "
                   f"{g.guard_fee} tokens."), "",
                  "| figure | without the guard | with the guard |", "| --- | --- | --- |",
                  *[f"| {a} | {b} | {c} |" for a, b, c in guard_rows(without.figures, with_guard.figures, dec)], ""]
        data.append({"scenario": sc.name, "seed": sc.seed, "without": without.figures["guard"],
                     "with": with_guard.figures["guard"]})
    (out / "guard-comparison.json").write_text(json.dumps(data, indent=1, default=str))
    path = out / "guard-comparison.md"
    path.write_text("\n".join(lines) + "\n")
    return path


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


def _throughput(run: Any) -> tuple[int, float]:
    """The block loop's transactions, and its transactions per second."""
    loop_tx = int(run.timings.get("loop_transactions", 0))
    tps = loop_tx / run.timings["loop_seconds"] if run.timings.get("loop_seconds") else 0.0
    return loop_tx, tps


def figures_data(run: Any) -> dict[str, Any]:
    """``figures.json``: the scenario, the run's counts and timings, both columns' figures."""
    sc = run.scenario
    figures = run.figures
    loop_tx, tps = _throughput(run)
    return {
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
        **({"guard": figures["guard"]} if figures.get("guard") else {}),
        "cross": {k: v for k, v in figures["cross"].items() if k != "fund_series"},
        "keeper_activity": run.keeper_reports,
    }


def write_report(run: Any, out: Path) -> dict[str, Path]:
    """Writes figures.json, events.jsonl, report.md and the plots into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "figures.json").write_text(json.dumps(figures_data(run), indent=1, default=str))
    save_events(run, out / "events.jsonl")
    files = plots(run, out)
    dec = run.markets[0].spec.decimals
    lines = [
        *_summary_lines(run), "",
        *_comparison_lines(run.figures, dec), "",
        *_check_lines(run.figures, dec), "",
        *_guard_lines(run, dec),
        "## Plots", "",
        *[f"![{p}]({p})" for p in files], "",
        "Files: `figures.json` (every figure, exact integers), `events.jsonl` (every protocol event), the plots above.",
    ]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    return {"report": out / "report.md", "figures": out / "figures.json", "events": out / "events.jsonl",
            **{p: out / p for p in files}}


def _summary_lines(run: Any) -> list[str]:
    """The report's title and what was run: network, markets, LPs, traders, keepers, transactions."""
    sc = run.scenario
    iso = run.figures["isolated"]
    loop_tx, tps = _throughput(run)
    return [
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
        f"{run.timings['total_seconds']:.1f} s"),
    ]


def _comparison_lines(figures: dict[str, Any], dec: int) -> list[str]:
    """The two columns side by side, and what the cross column is."""
    return [
        "## Isolated (Ringfence, on chain) versus cross margin (a Python model)", "",
        "| figure | isolated (on chain) | cross (model) |", "| --- | --- | --- |",
        *[f"| {a} | {b} | {c} |" for a, b, c in comparison_rows(figures, dec)], "",
        ("Amounts in whole settlement tokens. **The cross column is a model**, not a contract: the same "
        "traders, positions, top-ups, closes and oracle prices, with each trader's positions sharing one "
        "margin account (the sum of the margins allocated), closed together when the account's equity "
        "falls below the sum of MM x notional, after the fastest keeper's delay, with the pool's bonus, "
        "penalty and bad-debt waterfall and no partial liquidation. Contagion: a position closed by its "
        "account's liquidation although its own equity was at least MM x notional."),
    ]


def _guard_lines(run: Any, dec: int) -> list[str]:
    """A guarded run's MarginGuard figures (none without a guard)."""
    g = run.figures.get("guard")
    if not g or not g.get("guard"):
        return []
    held = g["with_policy"]
    return [
        "## MarginGuard", "",
        (f"- {held['traders']} of {g['all']['traders']} traders hold a policy on each vault, funded from reserves "
         f"of {_tokens(held['reserve_deposits'], dec)} in all ({_tokens(held['reserve_used'], dec)} used)"),
        (f"- {g['top_ups']} top-ups by the keepers added {_tokens(g['top_up_amount'], dec)} of margin and paid "
         f"them {_tokens(g['keeper_top_up_fees'], dec)} in fees (liquidation bonuses: "
         f"{_tokens(g['keeper_bonus'], dec)})"),
        (f"- positions liquidated: {held['liquidated']} of {held['positions']} of the policy holders', "
         f"{g['without_policy']['liquidated']} of {g['without_policy']['positions']} of the others'"),
        "- `--guard-compare` runs the same seed without the guard and writes `guard-comparison.md`", "",
    ]


def _check_lines(figures: dict[str, Any], dec: int) -> list[str]:
    """What must hold: no solvent vault liquidated, no loss beyond a vault, tokens conserved."""
    iso = figures["isolated"]
    return [
        "## Checks", "",
        f"- isolated liquidations of vaults solvent on their own: {iso['liquidated_solvent_alone']}",
        (f"- trader losses beyond their vaults' margins (wallets): {_tokens(iso['trader_excess_loss'], dec)}; "
        f"worst trader lost {iso['worst_trader_loss_of_allocation']:.1%} of what it allocated"),
        "- conservation (minted = wallets + pools + funds + vaults): "
        + ", ".join(f"{k}: gap {v['gap']}" for k, v in iso["conservation"].items()),
        f"- cross model's money balance gap: {figures['cross']['conservation_gap']}",
    ]
