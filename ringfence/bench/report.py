"""The bench's outputs: ``reports/gas.json``, ``reports/BENCH.md`` and the rich table on the console."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ringfence.bench.levers import CLOSING_CHANGES
from ringfence.bench.measure import Measurement, Recorder
from ringfence.bench.offchain import OffchainFigure
from ringfence.bench.trace import TxTrace
from ringfence.bench.trace import markdown as trace_markdown
from ringfence.paths import ROOT

REPORTS = ROOT / "reports"

# Display order and names of the operations. Morpho Blue has no one-transaction open, close or batch of
# its own: those rows' Morpho figures go through the bench's MorphoBundler; "_2tx" rows are the same
# operations as direct Morpho calls.
OPERATIONS: list[tuple[str, str]] = [
    ("open_from_nothing", "open from nothing, one transaction (Morpho: bundler)"),
    ("open_from_nothing_2tx", "open from nothing, Morpho in two transactions"),
    ("reopen", "re-open in a kept vault, one transaction (Morpho: bundler)"),
    ("reopen_2tx", "re-open, Morpho in two transactions"),
    ("add_margin", "add margin"),
    ("remove_margin", "remove margin"),
    ("close_profit", "close at a profit, one transaction (Morpho: bundler)"),
    ("close_profit_2tx", "close at a profit, Morpho in two transactions"),
    ("close_loss", "close at a loss, one transaction (Morpho: bundler)"),
    ("close_loss_2tx", "close at a loss, Morpho in two transactions"),
    ("open_close_from_nothing", "open + close from nothing, one transaction each (Morpho: bundler)"),
    ("open_close_from_nothing_2tx", "open + close from nothing, Morpho in four transactions"),
    ("liquidate_full", "liquidate: full"),
    ("liquidate_full_direct", "liquidate: full, on the pool"),
    ("liquidate_full_mean_of_singles", "liquidate: full, mean of single transactions"),
    ("liquidate_partial", "liquidate: partial"),
    ("liquidate_bad_debt", "liquidate: bad debt"),
    ("batch_10_per_vault", "batch of 10, per vault (Morpho: bundler multicall)"),
    ("batch_50_per_vault", "batch of 50, per vault (Morpho: bundler multicall)"),
    ("batch_100_per_vault", "batch of 100, per vault (Morpho: bundler multicall)"),
    ("lp_bootstrap_deposit", "LP deposit: bootstrap (pool without shares)"),
    ("lp_request_deposit", "LP requestDeposit"),
    ("lp_settle_deposit", "LP settleDeposit (keeper)"),
    ("lp_deposit", "LP deposit (Ringfence: request + settle)"),
    ("lp_request_redeem", "LP requestRedeem"),
    ("lp_settle_redeem", "LP settleRedeem (keeper)"),
    ("lp_withdraw", "LP withdraw (Ringfence: request + settle)"),
    ("market_creation", "market creation"),
]

# Morpho-only rows, and the Ringfence operation each is set against (its figure repeated, no goal), so
# the other view of the same operation has its ratio too.
RINGFENCE_OP: dict[str, str] = {
    "open_from_nothing_2tx": "open_from_nothing",
    "reopen_2tx": "reopen",
    "close_profit_2tx": "close_profit",
    "close_loss_2tx": "close_loss",
    "open_close_from_nothing_2tx": "open_close_from_nothing",
    "liquidate_full_mean_of_singles": "liquidate_full",
}

# Ringfence's gas goals (gas per operation, at most); liquidations through the Liquidator.
GOALS: dict[str, int] = {
    "open_from_nothing": 190_000,
    "reopen": 110_000,
    "add_margin": 50_000,
    "remove_margin": 80_000,
    "close_profit": 95_000,
    "close_loss": 95_000,
    "liquidate_full": 110_000,
    "liquidate_partial": 110_000,
    "liquidate_bad_debt": 110_000,
    "batch_50_per_vault": 26_000,
    "open_close_from_nothing": 285_000,
    "market_creation": 4_500_000,
}

# The MarginGuard's stories (Ringfence only: Morpho Blue has no automated top-up), their own table, and
# their goals (gas per operation, at most).
GUARD_OPERATIONS: list[tuple[str, str]] = [
    ("guard_set_policy_first", "set a policy, first time"),
    ("guard_set_policy_change", "set a policy, change"),
    ("guard_top_up_wallet", "top-up from the owner's wallet"),
    ("guard_top_up_reserve", "top-up from a reserve"),
    ("guard_batch_50_per_vault", "batch of 50 top-ups, per vault"),
]
GUARD_GOALS: dict[str, int] = {
    "guard_set_policy_first": 60_000,
    "guard_set_policy_change": 60_000,
    "guard_top_up_wallet": 80_000,
    "guard_top_up_reserve": 80_000,
    "guard_batch_50_per_vault": 40_000,
}

_BUNDLER_OPEN = "MorphoBundler.open: collateral pulled to the bundler, supplyCollateral + borrow on behalf"
_BUNDLER_CLOSE = ("MorphoBundler.close: position read, repay all shares (assets pulled in onMorphoRepay) + "
                  "withdrawCollateral on behalf")
MORPHO_EQUIVALENT: dict[str, str] = {
    "open_from_nothing": _BUNDLER_OPEN,
    "open_from_nothing_2tx": "supplyCollateral + borrow",
    "reopen": _BUNDLER_OPEN,
    "reopen_2tx": "supplyCollateral + borrow",
    "add_margin": "supplyCollateral",
    "remove_margin": "withdrawCollateral",
    "close_profit": _BUNDLER_CLOSE,
    "close_profit_2tx": "repay + withdrawCollateral",
    "close_loss": _BUNDLER_CLOSE,
    "close_loss_2tx": "repay + withdrawCollateral",
    "open_close_from_nothing": "MorphoBundler.open + MorphoBundler.close",
    "open_close_from_nothing_2tx": "supplyCollateral + borrow + repay + withdrawCollateral",
    "liquidate_full": "liquidate (repaidShares = all)",
    "liquidate_full_direct": "liquidate (repaidShares = all)",
    "liquidate_full_mean_of_singles": "liquidate (repaidShares = all), each its own transaction",
    "liquidate_partial": "liquidate (repaidShares = half)",
    "liquidate_bad_debt": "liquidate (seizedAssets = all)",
    **{f"batch_{n}_per_vault": f"MorphoBundler.liquidateBatch: {n} × (position read + liquidate, repaidShares = all)"
       for n in (10, 50, 100)},
    "lp_deposit": "supply",
    "lp_withdraw": "withdraw",
    "market_creation": "createMarket",
}


_NAMES = dict(OPERATIONS) | dict(GUARD_OPERATIONS)


@dataclass
class Row:
    op: str
    name: str
    ringfence: int | None
    morpho: int | None
    goal: int | None

    @property
    def ratio(self) -> str:
        if not self.ringfence or not self.morpho:
            return "–"
        return f"{self.ringfence / self.morpho:.2f}×"

    @property
    def status(self) -> str:
        if self.goal is None:
            return ""
        if self.ringfence is None:
            return "not measured"
        over = self.ringfence - self.goal
        if over <= 0:
            return f"met ({-over:,} under)"
        return f"missed by {over:,} (+{over / self.goal:.0%})"

    @property
    def met(self) -> bool | None:
        if self.goal is None or self.ringfence is None:
            return None
        return self.ringfence <= self.goal

    @property
    def goal_ratio(self) -> str:
        """Ringfence's figure over its goal."""
        if not self.ringfence or not self.goal:
            return "–"
        return f"{self.ringfence / self.goal:.2f}×"


def rows(ringfence: Recorder, morpho: Recorder | None) -> list[Row]:
    """The table's rows, in display order: an operation either side measured. A Morpho-only row
    (:data:`RINGFENCE_OP`) shows only when Morpho measured it, with Ringfence's figure for the same
    operation and no goal."""
    rf, mb = ringfence.gas(), (morpho.gas() if morpho else {})
    out = []
    for op, name in OPERATIONS:
        if op in RINGFENCE_OP:
            if op in mb:
                out.append(Row(op, name, rf.get(RINGFENCE_OP[op]), mb[op], None))
        elif op in rf or op in mb:
            out.append(Row(op, name, rf.get(op), mb.get(op), GOALS.get(op)))
    return out


def guard_rows(ringfence: Recorder) -> list[Row]:
    """The MarginGuard table's rows, in display order: the guard operations measured (no Morpho side)."""
    rf = ringfence.gas()
    return [Row(op, name, rf[op], None, GUARD_GOALS.get(op)) for op, name in GUARD_OPERATIONS if op in rf]


def gas_json(ringfence: Recorder, morpho: Recorder | None) -> dict[str, dict[str, int]]:
    order = [op for op, _ in OPERATIONS + GUARD_OPERATIONS]

    def ordered(d: dict[str, int]) -> dict[str, int]:
        return {op: d[op] for op in order if op in d} | {k: v for k, v in d.items() if k not in order}

    return {"ringfence": ordered(ringfence.gas()), "morpho_blue": ordered(morpho.gas() if morpho else {})}


def details_json(recorders: Sequence[Recorder], meta: dict[str, Any]) -> dict[str, Any]:
    return {"meta": meta, **{r.protocol: {op: m.as_dict() for op, m in r.measurements.items()} for r in recorders}}


def _describe(m: Measurement | None, calls: str | None = None) -> str:
    if m is None:
        return "–"
    calls = calls or " + ".join(dict.fromkeys(t.label for t in m.txs))
    return f"`{calls}`" + (f": {m.note}" if m.note else "")


def _fmt(v: int | None) -> str:
    return "–" if v is None else f"{v:,}"


def rich_table(table_rows: list[Row], title: str = "Gas per operation (gasUsed)") -> Any:
    from rich.table import Table

    t = Table(title=title)
    columns: list[tuple[str, Literal["left", "right"]]] = [("operation", "left"), ("Ringfence", "right"), ("Morpho Blue 1.0.0", "right"),
                         ("RF / Morpho", "right"), ("goal", "right"), ("status", "left")]
    for col, justify in columns:
        t.add_column(col, justify=justify)
    for r in table_rows:
        style = "" if r.met is None else ("green" if r.met else "red")
        t.add_row(r.name, _fmt(r.ringfence), _fmt(r.morpho), r.ratio, _fmt(r.goal),
                  f"[{style}]{r.status}[/]" if style else r.status)
    return t


def guard_rich_table(table_rows: list[Row], title: str = "MarginGuard (Ringfence only)") -> Any:
    from rich.table import Table

    t = Table(title=title)
    columns: list[tuple[str, Literal["left", "right"]]] = [("operation", "left"), ("Ringfence", "right"),
                                                           ("goal", "right"), ("gas / goal", "right"),
                                                           ("status", "left")]
    for col, justify in columns:
        t.add_column(col, justify=justify)
    for r in table_rows:
        style = "" if r.met is None else ("green" if r.met else "red")
        t.add_row(r.name, _fmt(r.ringfence), _fmt(r.goal), r.goal_ratio,
                  f"[{style}]{r.status}[/]" if style else r.status)
    return t


def _guard_lines(guard: list[Row], ringfence: Recorder) -> list[str]:
    """The MarginGuard's own table: Ringfence only, each figure against its goal."""
    if not guard:
        return []
    lines = ["", "## MarginGuard (Ringfence only)", "",
             ("Automated margin top-ups (`contracts/MarginGuard.sol`, docs/guard.md), measured in the same run on "
              "the same market; Morpho Blue has no equivalent. The ratio is the figure over its goal."), "",
             "| operation | Ringfence | goal | gas / goal | goal status | measures |",
             "| --- | ---: | ---: | ---: | --- | --- |"]
    for r in guard:
        lines.append(f"| {r.name} | {_fmt(r.ringfence)} | {_fmt(r.goal)} | {r.goal_ratio} | {r.status} | "
                     f"{_describe(ringfence.measurements.get(r.op))} |")
    met = [r for r in guard if r.met is True]
    lines += ["", f"Guard goals: {len(met)} met, {len([r for r in guard if r.met is False])} missed."]
    return lines


def bench_markdown(table_rows: list[Row], ringfence: Recorder, morpho: Recorder | None, meta: dict[str, Any],
                   offchain: list[OffchainFigure], traces: list[TxTrace], skipped: list[str]) -> str:
    guard = guard_rows(ringfence)
    lines = _table_lines(table_rows, meta, skipped)
    lines += _guard_lines(guard, ringfence)
    lines += _measures_lines(table_rows, ringfence, morpho)
    lines += _setup_lines(meta)
    lines += _includes_lines()
    lines += ["", "## Off-chain figures (reported, not asserted)", ""]
    if offchain:
        lines += ["| figure | value | how |", "| --- | ---: | --- |"]
        lines += [f"| {f.name} | {f.cell()} | {f.detail} |" for f in offchain]
    else:
        lines.append("None in this run.")
    derived = {op: list(m.facts["derived_from"]) for op, m in ringfence.measurements.items()
               if "derived_from" in m.facts}
    lines += missed_goals_markdown([r for r in table_rows + guard if r.met is False], traces, derived)
    if traces:
        lines += ["", trace_markdown(traces)]
    return "\n".join(lines) + "\n"


def _table_lines(table_rows: list[Row], meta: dict[str, Any], skipped: list[str]) -> list[str]:
    """The title, how the figures were measured, the gas table and the goals' tally."""
    lines = [
        "# Ringfence vs Morpho Blue 1.0.0: gas per user story",
        "",
        (f"Generated by `make bench` on {meta['date']} ({meta['duration_s']:.0f} s). Both protocols measured "
        f"in the same run on one Anvil ({meta['anvil']}, hardfork {meta['hardfork']}, "
        f"`--prune-history {meta['prune_history']}`); every figure is a transaction's `gasUsed`, "
        "summed where an operation takes several and divided by the number of vaults for batches. "
        "Morpho Blue has no one-transaction open, close or batch liquidation of its own: those rows' Morpho "
        "figures go through a bundler (below), and the rows \"Morpho in two/four transactions\" and "
        "\"mean of single transactions\" show the same operations as direct Morpho calls, next to "
        "Ringfence's figure for the operation (repeated, without its goal)."),
        "",
        "| operation | Ringfence | Morpho Blue | Ringfence / Morpho | Ringfence goal | goal |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in table_rows:
        lines.append(f"| {r.name} | {_fmt(r.ringfence)} | {_fmt(r.morpho)} | {r.ratio} | {_fmt(r.goal)} | {r.status} |")
    met = [r for r in table_rows if r.met is True]
    missed = [r for r in table_rows if r.met is False]
    lines += ["", f"Goals: {len(met)} met, {len(missed)} missed"
              + (f", {len([r for r in table_rows if r.goal and r.ringfence is None])} not measured" if any(
                  r.goal and r.ringfence is None for r in table_rows) else "") + "."]
    if skipped:
        lines += ["", "Not measured in this run: " + "; ".join(skipped) + "."]
    return lines


def _measures_lines(table_rows: list[Row], ringfence: Recorder, morpho: Recorder | None) -> list[str]:
    """Per row, the transactions each protocol's figure sums."""
    lines = ["", "## What each row measures", "",
             "| operation | Ringfence | Morpho Blue |", "| --- | --- | --- |"]
    for r in table_rows:
        rm: Measurement | None = ringfence.measurements.get(RINGFENCE_OP.get(r.op, r.op))
        mm: Measurement | None = morpho.measurements.get(r.op) if morpho else None
        rf_desc = (f"the figure of \"{_NAMES[RINGFENCE_OP[r.op]]}\"" if r.op in RINGFENCE_OP and rm is not None
                   else _describe(rm))
        mb_desc = _describe(mm, MORPHO_EQUIVALENT.get(r.op))
        lines.append(f"| {r.name} | {rf_desc} | {mb_desc} |")
    return lines


def _setup_lines(meta: dict[str, Any]) -> list[str]:
    """The set-up both protocols share: tokens, feed, compilers, markets, state, LPs, clock."""
    return [
        "",
        "## Set-up (the same for both protocols)",
        "",
        ("- Tokens: `MockERC20` (OpenZeppelin 5 ERC20): USDC (6 decimals) is Ringfence's settlement token and "
        "Morpho's loan token; WETH (18 decimals) is Morpho's collateral."),
        ("- Price: Chainlink `MockV3Aggregator` behind Chainlink's aggregator proxy "
        "(`DataFeedsLegacyAggregatorProxy`): each read is proxy → aggregator, two calls, as on mainnet. "
        "Ringfence's `ChainlinkOracle` and Morpho's `MorphoChainlinkOracle` (contracts/test/bench) both read "
        "that proxy."),
        (f"- Compilers: Ringfence with Ape ({meta['ringfence_compiler']}); Morpho Blue from "
        f"`node_modules/@morpho-org/morpho-blue/src/Morpho.sol` with {meta['morpho_compiler']}; the feed "
        f"contracts, the Morpho oracle adapter and the bundler with {meta['feed_compiler']}."),
        ("- Morpho market: USDC/WETH, LLTV 86 %, the package's `IrmMock` (utilization-linear) as rate model, "
        "no fee. Ringfence market: `MarketParams.default(6)` (IM 10 %, MM 5 %, fees 0.1 %)."),
        ("- Morpho bundler: `MorphoBundler` (contracts/test/bench), a bench stand-in for Morpho's bundlers and "
         "their multicall, compiled like the oracle adapter; two instances, the traders' and the keeper's "
         "own. Set-up, not counted (like the approvals on both sides): each bundler user calls "
         "`morpho.setAuthorization(bundler, true)` once and approves the bundler for both tokens; each "
         "bundler approved Morpho for both tokens once; the keeper's bundler holds the keeper's USDC and "
         "already some seized collateral (as the keeper does for single liquidations)."),
        ("- State before each measured transaction: liquidity already supplied and another position open; "
        "the trader already holds the tokens and approved the protocol; the keeper / liquidator already "
        "holds USDC; one liquidation already happened (the insurance fund holds tokens). Each liquidated "
        "position and each batch vault belongs to its own fresh owner."),
        ("- LPs: the first deposit of the new pool is the sync ERC-4626 `deposit` (the pool has no shares "
         "yet); after it a new LP enters with `requestDeposit` and the keeper's `settleDeposit` on the next "
         "oracle round (same answer, published one second after the request), and leaves with "
         "`requestRedeem` + `settleRedeem` the same way, while another position is open. The LP deposit "
         "and withdraw rows sum the two transactions, next to Morpho's single `supply` / `withdraw`."),
        ("- Clock: blocks 1 s apart (`anvil_setBlockTimestampInterval`), and every measured transaction "
         "mined 12 s after the block before it, so each one pays its protocol's accrual (Ringfence's fee "
         "index, Morpho's interest) as on a live chain, and every run gives the same figures to the gas "
         "unit."),
    ]


def _includes_lines() -> list[str]:
    """What each side's figures include beyond the protocol's own logic, and what they leave out."""
    return [
        "",
        "## What each side's figures include",
        "",
        ("- Fresh storage: Ringfence's open from nothing deploys the position's vault (an EIP-1167 clone), "
         "books the position in pool storage never written before and pulls the margin into the vault, "
         "a fresh USDC balance slot; a re-open reuses the vault, but its USDC balance, emptied by the close, "
         "is written from zero again. Morpho's open from nothing writes the borrower's never-written "
         "position slot (borrow shares and collateral share one slot), and a re-open writes it from zero "
         "again. The traders, the keeper, the keeper's bundler and both protocols' own token balances "
         "are not fresh: they already hold both tokens. The traders' bundler holds nothing between "
         "transactions (below)."),
        ("- Oracle path: both read the same Chainlink aggregator proxy → `MockV3Aggregator` (two calls per "
         "read), Ringfence through its `ChainlinkOracle` (with its staleness check), Morpho through "
         "`MorphoChainlinkOracle` (none, as Morpho's own Chainlink oracle). Morpho reads the price only "
         "in `borrow`, `withdrawCollateral` and `liquidate`, where it checks health."),
        ("- Rate model: Morpho's market uses `IrmMock` from the npm package `@morpho-org/morpho-blue` "
         "1.0.0, a pure function of utilization that stores nothing. The production rate model, "
         "`AdaptiveCurveIrm`, is not part of that package (it lives in Morpho's separate morpho-blue-irm "
         "repository, which this project does not install), so it is not measured here: it writes its "
         "rate at target on every accrual and computes an exponential, so Morpho's figures for operations "
         "that accrue interest are lower than on a production market by that cost. Ringfence's figures "
         "include its own borrow-fee accrual."),
        ("- Bundler rows: the bundler's whole transaction is counted: its own token pull from the user "
         "(the collateral in `open`; the repaid USDC in `close`, through Morpho's `onMorphoRepay` callback), "
         "its calls to Morpho on the user's behalf (Morpho's authorisation check), the position read in "
         "`close` and per borrower in `liquidateBatch`, and the traders' bundler's balance of the pulled "
         "token going 0 → x → 0 in the same transaction (charged as a fresh slot, mostly refunded). One "
         "intrinsic 21,000 per transaction, as Ringfence's."),
    ]


# Call frames that every priced operation pays whatever the protocol does: the mainnet-shaped feed read.
ORACLE_FRAMES = ("ChainlinkOracle", "AggregatorProxy", "MockV3Aggregator")


def missed_goals_markdown(missed: list[Row], traces: list[TxTrace],
                          derived: dict[str, list[str]] | None = None) -> list[str]:
    """For each missed goal with a trace: what the transaction spends outside the protocol's own code
    (intrinsic cost, the oracle read, the token) and the biggest kinds of cost, from the trace, then the
    design change that would close it (`levers.CLOSING_CHANGES`). A derived row (`derived`: op -> the
    ops it sums) points at its parts."""
    by_op = {t.op: t for t in traces if t.protocol == "ringfence"}
    lines = ["", "## Missed goals: what dominates (from the traces below)", ""]
    if not missed:
        return lines + ["Every goal is met."]
    for r in missed:
        lines.append(_missed_line(r, by_op.get(r.op), derived or {})
                     + (f" Would close it: {CLOSING_CHANGES[r.op]}" if r.op in CLOSING_CHANGES else ""))
    return lines


def _missed_line(r: Row, t: TxTrace | None, derived: dict[str, list[str]]) -> str:
    if r.op in derived:
        parts = " + ".join(f"\"{_NAMES.get(p, p)}\"" for p in derived[r.op])
        return f"- **{r.name}**: {r.status}; the sum of {parts} (see those rows)."
    if t is None or r.goal is None or r.ringfence is None:
        return f"- **{r.name}**: {r.status}; not traced in this run."
    oracle = sum(v for k, v in t.by_contract.items() if k in ORACLE_FRAMES)
    token = sum(v for k, v in t.by_contract.items() if "ERC20" in k)
    kinds = sorted(((k, v) for k, v in t.by_kind.items() if v > 0 and not k.startswith("intrinsic")),
                   key=lambda kv: -kv[1])[:3]
    top = ", ".join(f"{k}: {v:,}" + (f" ({t.counts[k]}×)" if t.counts.get(k) else "") for k, v in kinds)
    return (f"- **{r.name}** ({r.status}): intrinsic {t.intrinsic:,} + oracle read {oracle:,} + "
            f"token transfers {token:,} = {t.intrinsic + oracle + token:,} before any Ringfence code; "
            f"largest kinds: {top}.")


def write_reports(ringfence: Recorder, morpho: Recorder | None, meta: dict[str, Any],
                  offchain: list[OffchainFigure], traces: list[TxTrace], skipped: list[str],
                  out_dir: Path = REPORTS) -> tuple[list[Row], dict[str, Path]]:
    out_dir.mkdir(parents=True, exist_ok=True)
    table_rows = rows(ringfence, morpho)
    paths = {
        "gas": out_dir / "gas.json",
        "details": out_dir / "gas-details.json",
        "bench": out_dir / "BENCH.md",
    }
    paths["gas"].write_text(json.dumps(gas_json(ringfence, morpho), indent=2) + "\n")
    recs = [ringfence] + ([morpho] if morpho else [])
    details = details_json(recs, meta)
    details["offchain"] = [f.__dict__ for f in offchain]
    paths["details"].write_text(json.dumps(details, indent=2) + "\n")
    paths["bench"].write_text(bench_markdown(table_rows, ringfence, morpho, meta, offchain, traces, skipped))
    return table_rows, paths
