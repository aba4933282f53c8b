"""The figures of a simulation run, both columns: the isolated one from the chain's events and
balances (:func:`isolated_figures`), the cross-margin one from the model's result
(:func:`cross_figures`). Every money figure is an exact integer of the settlement token's smallest
unit; :mod:`ringfence.sim.report` explains the LP figures and writes them out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ringfence import model

__all__ = ["cross_figures", "drawdown", "guard_figures", "isolated_figures"]


def drawdown(series: list[int]) -> int:
    """The largest fall from a running peak."""
    peak, worst = None, 0
    for v in series:
        peak = v if peak is None else max(peak, v)
        worst = max(worst, peak - v)
    return worst


# ------------------------------------------------------------------------------------ isolated (chain)
@dataclass
class _EventTally:
    """What the protocol's events add up to: liquidations (and whether each vault was solvent on its
    own), bad debt and who bore it, keeper pay, and what each owner paid into vaults."""

    size: dict[str, int] = field(default_factory=dict)  # vault -> open size
    paid_in: dict[str, int] = field(default_factory=dict)  # owner or payer -> margin paid in
    owner: dict[str, str] = field(default_factory=dict)  # vault -> owner
    liquidated_vaults: set[str] = field(default_factory=set)
    full: int = 0
    partial: int = 0
    solvent_alone: int = 0
    liquidation_marks: list[dict[str, Any]] = field(default_factory=list)
    bad_debt: int = 0
    covered: int = 0
    borne: int = 0
    fund_to_keepers: int = 0
    pool_to_keepers: int = 0
    keeper_total: int = 0

    def read(self, run: Any) -> _EventTally:
        by_pool = {m.market.address.lower(): m for m in run.markets}
        guard = (getattr(run, "guard", None) or "").lower()
        for e in run.events:
            a = e["args"]
            name = e["event"]
            if name == "PositionOpened":
                self.size[a["vault"].lower()] = a["size"]
                self.owner[a["vault"].lower()] = a["owner"].lower()
                self.paid_in[a["owner"].lower()] = self.paid_in.get(a["owner"].lower(), 0) + a["margin"]
            elif name == "MarginAdded":
                payer = a["payer"].lower()
                if payer == guard:  # a MarginGuard top-up: from the owner's reserve
                    payer = self.owner.get(a["vault"].lower(), payer)
                self.paid_in[payer] = self.paid_in.get(payer, 0) + a["amount"]
            elif name == "Liquidated":
                self._liquidated(run, e, by_pool[e["contract"].lower()])
            elif name == "BadDebtCovered":
                self.bad_debt += a["shortfall"]
                self.covered += a["coveredByFund"]
                self.borne += a["borneByLps"]
            elif name == "KeeperPaid":
                self.fund_to_keepers += a["fromFund"]
                self.pool_to_keepers += a["fromPool"]
                self.keeper_total += a["fromEquity"] + a["fromFund"] + a["fromPool"]
        return self

    def _liquidated(self, run: Any, e: dict[str, Any], m: Any) -> None:
        a = e["args"]
        vault = a["vault"].lower()
        before = self.size.get(vault, a["closedSize"])
        requirement = model.requirement_up(model.notional_up(before, a["priceWad"], m.scale),
                                           m.params.maintenance_margin_wad)
        alone_ok = a["equityBefore"] >= requirement
        self.solvent_alone += alone_ok
        self.size[vault] = before - a["closedSize"]
        self.liquidated_vaults.add(vault)
        self.full += bool(a["full"])
        self.partial += not a["full"]
        self.liquidation_marks.append({"step": run.step_of(e["block"]), "market": run.markets.index(m),
                                       "price_wad": a["priceWad"], "full": bool(a["full"]),
                                       "bad_debt": a["badDebt"], "solvent_alone": alone_ok})


def _trader_losses(traders: list[str], balances: dict[str, Any], minted: dict[tuple[str, str], int],
                   paid_in: dict[str, int]) -> tuple[int, float]:
    """Trader losses beyond what they allocated to vaults, from wallets: minted - wallet - claimable;
    and the worst trader's loss as a share of what it allocated."""
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
    return excess, worst_loss_share


def _conservation(run: Any, balances: dict[str, Any], minted: dict[tuple[str, str], int]) -> dict[str, Any]:
    """Conservation per token: every unit minted is in a wallet, a pool, a fund or a vault."""
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
    return conservation


def _market_figures(run: Any, balances: dict[str, Any]) -> list[dict[str, Any]]:
    """Per market: the LPs' entries, liquidity and PnL (realized and marked), the insurance fund."""
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
            "fund_drawdown": drawdown([m.spec.insurance_fund, *fund_series[i], b["fund"]]),
            # the pool holds the LPs' liquidity, unclaimed credits and pending deposits (and donations)
            "pool_balance": b["pool"], "pool_balance_minus_liquidity": b["pool"] - b["liquidity"],
        })
    return markets


def _totals(markets: list[dict[str, Any]], *keys: str) -> dict[str, int]:
    """Each of ``keys`` summed over the markets' figures."""
    return {key: sum(m[key] for m in markets) for key in keys}


def isolated_figures(run: Any, balances: dict[str, Any], minted: dict[tuple[str, str], int],
                     traders: list[str]) -> dict[str, Any]:
    """The isolated run's figures, from the chain's events and balances."""
    tally = _EventTally().read(run)
    excess, worst_loss_share = _trader_losses(traders, balances, minted, tally.paid_in)
    conservation = _conservation(run, balances, minted)
    markets = _market_figures(run, balances)
    opened = [p for p in run.positions if p.opened]
    return {
        "positions_opened": len(opened),
        "positions_failed": {p.failed: sum(1 for q in run.positions if q.failed == p.failed)
                             for p in run.positions if p.failed},
        "positions_liquidated": len(tally.liquidated_vaults),
        "liquidations_full": tally.full,
        "liquidations_partial": tally.partial,
        "liquidated_solvent_alone": tally.solvent_alone,
        "trader_excess_loss": excess,
        "worst_trader_loss_of_allocation": round(worst_loss_share, 6),
        "bad_debt": tally.bad_debt,
        "bad_debt_covered_by_fund": tally.covered,
        "bad_debt_borne_by_lps": tally.borne,
        "keeper_bonus_total": tally.keeper_total,
        "keeper_bonus_from_fund": tally.fund_to_keepers,
        "keeper_bonus_from_pool": tally.pool_to_keepers,
        **_totals(markets, "fund_drawdown", "fund_end", "fund_start", "lp_pnl", "lp_pnl_marked"),
        "markets": markets,
        "conservation": conservation,
        "liquidation_marks": tally.liquidation_marks,
        "topups": sum(1 for a in run.actions if a.kind == "topup"),
        "topped_up": sum(a.amount for a in run.actions if a.kind == "topup"),
    }


def _margins_by_trader(run: Any, traders: list[str]) -> tuple[dict[int, int], dict[int, int], dict[int, int]]:
    """Per trader index: the margin of its opens (``PositionOpened``), its own top-ups and the top-ups
    keepers made under its MarginGuard policies."""
    margin_at_open: dict[int, int] = {}
    for e in run.events:
        if e["event"] == "PositionOpened":
            owner = e["args"]["owner"].lower()
            i = next((n for n, t in enumerate(traders) if t.lower() == owner), None)
            if i is not None:
                margin_at_open[i] = margin_at_open.get(i, 0) + e["args"]["margin"]
    own_top_ups: dict[int, int] = {}
    guard_top_ups: dict[int, int] = {}
    for a in run.actions:
        if a.kind == "topup":
            vault = run.positions[a.position].vault
            target = guard_top_ups if vault and a.by_guard else own_top_ups
            target[a.trader] = target.get(a.trader, 0) + a.amount
    return margin_at_open, own_top_ups, guard_top_ups


def guard_figures(run: Any, balances: dict[str, Any], minted: dict[tuple[str, str], int], traders: list[str],
                  reserve_left: dict[int, int]) -> dict[str, Any]:
    """The MarginGuard's part of an isolated run, per group of traders (with a policy, without; every
    trader counted in ``all``): positions opened and liquidated, the traders' net loss (minted - wallet -
    claimable, after the reserves' remainders were withdrawn), the collateral each group committed
    (margin at open, the traders' own top-ups and the reserves deposited) and what the reserves paid out;
    and the keepers' income: liquidation bonuses (``KeeperPaid``) and top-up fees."""
    tally = _EventTally().read(run)
    guarded = {t.index for t in run.traders if t.guarded}
    margin_at_open, own_top_ups, guard_top_ups = _margins_by_trader(run, traders)
    deposits: dict[int, int] = {}
    used: dict[int, int] = {}
    for reserve_id, (trader, _, deposit) in run.reserves.items():
        deposits[trader] = deposits.get(trader, 0) + deposit
        used[trader] = used.get(trader, 0) + deposit - reserve_left.get(reserve_id, 0)

    def group(members: set[int]) -> dict[str, int]:
        positions = [p for p in run.positions if p.trader in members and p.opened]
        losses = 0
        for i in members:
            t = traders[i]
            minted_t = sum(v for (_, who), v in minted.items() if who == t)
            losses += minted_t - sum(b["holders"].get(t, 0) + b["claimable"].get(t, 0) for b in balances.values())
        return {
            "traders": len(members), "positions": len(positions),
            "liquidated": sum(1 for p in positions if p.vault and p.vault.lower() in tally.liquidated_vaults),
            "trader_loss": losses,
            "margin_at_open": sum(margin_at_open.get(i, 0) for i in members),
            "own_top_ups": sum(own_top_ups.get(i, 0) for i in members),
            "reserve_deposits": sum(deposits.get(i, 0) for i in members),
            "reserve_used": sum(used.get(i, 0) for i in members),
            "committed": sum(margin_at_open.get(i, 0) + own_top_ups.get(i, 0) + deposits.get(i, 0) for i in members),
        }

    everyone = set(range(len(traders)))
    income = getattr(run, "keeper_income", {}) or {}
    return {
        "guard": getattr(run, "guard", None),
        "with_policy": group(guarded),
        "without_policy": group(everyone - guarded),
        "all": group(everyone),
        "top_ups": income.get("top_ups", 0),
        "top_up_amount": sum(guard_top_ups.values()),
        "keeper_top_up_fees": income.get("top_up_fees", 0),
        "keeper_top_up_gas": income.get("top_up_gas", 0),
        "keeper_bonus": tally.keeper_total,
        "keeper_income": tally.keeper_total + income.get("top_up_fees", 0),
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
            "fund_start": m.spec.insurance_fund, "fund_end": cross.fund[i], "fund_drawdown": drawdown(series),
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
        **_totals(markets, "fund_drawdown", "fund_end", "fund_start", "lp_pnl"),
        "markets": markets,
        "capital": {"initial_margin": needs["initial_margin"], "peak_need": needs["cross_peak_need"]},
        "conservation_gap": cross.conservation_gap(),
        "open_at_end": cross.open_positions(),
        "fund_series": result.fund_series,
        "liquidation_marks": marks,
    }
