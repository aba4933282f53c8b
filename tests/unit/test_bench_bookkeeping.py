"""Unit tests of the bench's own bookkeeping (no chain): snapshot comparison, goal status, derived and
per-vault rows, the table's rows and the trace arithmetic that splits a call's cost from its callee's."""

from __future__ import annotations

import pytest

from ringfence.bench import snapshot
from ringfence.bench.measure import Recorder, Tx
from ringfence.bench.report import (
    GOALS,
    GUARD_GOALS,
    GUARD_OPERATIONS,
    OPERATIONS,
    RINGFENCE_OP,
    Row,
    bench_markdown,
    gas_json,
    missed_goals_markdown,
    guard_rows,
    rows,
)
from ringfence.bench.levers import CLOSING_CHANGES
from ringfence.bench.trace import analyse


def test_compare_flags_only_increases_beyond_tolerance():
    snap = {"a": 100_000, "b": 50_000, "c": 10_000, "gone": 1}
    measured = {"a": 100_000 + snapshot.TOLERANCE_GAS, "b": 50_000 + snapshot.TOLERANCE_GAS + 1,
                "c": 9_000, "new": 5}
    regressions, notes = snapshot.compare(measured, snap)
    assert [r.op for r in regressions] == ["b"]
    assert any(n.startswith("c:") and "make gas-snapshot" in n for n in notes)
    assert any(n.startswith("gone:") for n in notes)
    assert any(n.startswith("new:") for n in notes)


def test_goal_status_and_ratio():
    goal = GOALS["open_from_nothing"]
    met = Row("open_from_nothing", "open", goal - 1, 2 * goal, goal)
    missed = Row("open_from_nothing", "open", goal + 1_500, goal, goal)
    assert met.met is True and met.status == "met (1 under)" and met.ratio == "0.50×"
    assert missed.met is False and missed.status.startswith("missed by 1,500")
    assert Row("x", "x", None, 1, goal).status == "not measured"


def test_recorder_divides_batches_and_orders_gas_json():
    rf, mb = Recorder("ringfence"), Recorder("morpho_blue")
    rf.add("batch_10_per_vault", [Tx("liquidateBatch", "0x1", 745_001)], per=10)
    rf.add("open_from_nothing", [Tx("openPosition", "0x2", 250_000)])
    mb.add("open_from_nothing", [Tx("supplyCollateral", "0x3", 70_000), Tx("borrow", "0x4", 97_000)])
    assert rf.gas() == {"batch_10_per_vault": 74_500, "open_from_nothing": 250_000}
    out = gas_json(rf, mb)
    assert list(out["ringfence"]) == ["open_from_nothing", "batch_10_per_vault"]
    assert out["morpho_blue"] == {"open_from_nothing": 167_000}


def test_analyse_splits_call_overhead_from_callee():
    # depth-1 frame: SLOAD (cold), CALL (2600 access + callee's 2,103), SSTORE; callee: PUSH1, SLOAD, STOP
    logs = [
        {"op": "SLOAD", "gas": 100_000, "gasCost": 2_100, "depth": 1},
        {"op": "CALL", "gas": 97_900, "gasCost": 50_000, "depth": 1},
        {"op": "PUSH1", "gas": 47_000, "gasCost": 3, "depth": 2},
        {"op": "SLOAD", "gas": 46_997, "gasCost": 2_100, "depth": 2},
        {"op": "STOP", "gas": 44_897, "gasCost": 0, "depth": 2},
        {"op": "SSTORE", "gas": 93_197, "gasCost": 20_000, "depth": 1},
        {"op": "STOP", "gas": 73_197, "gasCost": 0, "depth": 1},
    ]
    by_kind, counts = analyse(logs)
    assert by_kind["SLOAD cold (2100)"] == 4_200 and counts["SLOAD cold (2100)"] == 2
    assert by_kind["CALL overhead (cold 2600 / warm 100 account, memory)"] == 97_900 - 93_197 - 2_103
    assert by_kind["SSTORE new slot (0→x), warm"] == 20_000
    assert sum(by_kind.values()) == 100_000 - 73_197  # every unit once, nothing twice


def test_derived_row_sums_the_transactions_of_its_parts():
    rf = Recorder("ringfence")
    rf.add("open_from_nothing", [Tx("openPosition", "0x1", 232_600)])
    rf.add("add_margin", [Tx("addMargin", "0x2", 52_797)])
    rf.add("close_profit", [Tx("closePosition", "0x3", 121_632)])
    m = rf.derive("open_close_from_nothing", ["open_from_nothing", "close_profit"], note="derived")
    assert [t.hash for t in m.txs] == ["0x1", "0x3"]  # the named parts only, in order
    assert m.gas == 354_232 == rf.gas()["open_close_from_nothing"]
    assert m.facts == {"derived_from": ["open_from_nothing", "close_profit"]}
    mb = Recorder("morpho_blue")
    mb.add("open_from_nothing_2tx", [Tx("supplyCollateral", "0x4", 70_000), Tx("borrow", "0x5", 97_952)])
    mb.add("close_profit_2tx", [Tx("repay", "0x6", 80_000), Tx("withdrawCollateral", "0x7", 61_879)])
    both = mb.derive("open_close_from_nothing_2tx", ["open_from_nothing_2tx", "close_profit_2tx"])
    assert len(both.txs) == 4 and both.gas == 309_831


def test_derive_refuses_missing_or_per_vault_parts():
    rec = Recorder("ringfence")
    rec.add("open_from_nothing", [Tx("openPosition", "0x1", 1)])
    rec.add("batch_10_per_vault", [Tx("liquidateBatch", "0x2", 100)], per=10)
    with pytest.raises(KeyError, match="close_profit"):
        rec.derive("open_close_from_nothing", ["open_from_nothing", "close_profit"])
    with pytest.raises(ValueError, match="per-vault"):
        rec.derive("x", ["open_from_nothing", "batch_10_per_vault"])
    with pytest.raises(ValueError, match="measured twice"):
        rec.derive("open_from_nothing", ["open_from_nothing"])
    assert set(rec.measurements) == {"open_from_nothing", "batch_10_per_vault"}


def test_batch_row_is_one_transaction_divided_by_its_vaults():
    mb = Recorder("morpho_blue")
    m = mb.add("batch_50_per_vault", [Tx("MorphoBundler.liquidateBatch", "0x1", 1_827_301)], per=50)
    assert m.total == 1_827_301 and m.gas == 36_546  # rounded, not floored: 36,546.02
    assert mb.add("batch_10_per_vault", [Tx("liquidateBatch", "0x2", 440_496)], per=10).gas == 44_050
    assert m.as_dict()["gas"] == 36_546 and m.as_dict()["total"] == 1_827_301 and m.as_dict()["per"] == 50


def test_every_goal_missed_in_the_snapshot_says_what_would_close_it():
    """Issue 12: a missed goal's report line names the design change that would close it."""
    figures = snapshot.load()
    missed = [op for op, goal in (GOALS | GUARD_GOALS).items() if figures.get(op, 0) > goal]
    assert missed, "every goal met: this test then only guards the report's wording"
    assert [op for op in missed if not CLOSING_CHANGES.get(op)] == []
    row = Row("remove_margin", "remove margin", GOALS["remove_margin"] + 1, None, GOALS["remove_margin"])
    (line,) = [x for x in missed_goals_markdown([row], []) if x.startswith("- ")]
    assert line.endswith(f"Would close it: {CLOSING_CHANGES['remove_margin']}")
    met = Row("remove_margin", "remove margin", GOALS["remove_margin"], None, GOALS["remove_margin"])
    assert missed_goals_markdown([], [])[-1] == "Every goal is met." and met.met


def test_goals_are_the_ringfence_targets():
    assert GOALS == {
        "open_from_nothing": 190_000, "reopen": 110_000, "add_margin": 50_000, "remove_margin": 80_000,
        "close_profit": 95_000, "close_loss": 95_000, "liquidate_full": 110_000, "liquidate_partial": 110_000,
        "liquidate_bad_debt": 110_000, "batch_50_per_vault": 26_000, "open_close_from_nothing": 285_000,
        "market_creation": 4_500_000,
    }
    shown = {op for op, _ in OPERATIONS}
    assert set(GOALS) <= shown and set(RINGFENCE_OP) <= shown
    # a Morpho-only row stands next to a Ringfence operation that has its own row and no alias
    assert all(target in shown and target not in RINGFENCE_OP for target in RINGFENCE_OP.values())
    assert not set(GOALS) & set(RINGFENCE_OP)


def _recorders() -> tuple[Recorder, Recorder]:
    rf, mb = Recorder("ringfence"), Recorder("morpho_blue")
    rf.add("open_from_nothing", [Tx("openPosition", "0x1", 232_600)])
    rf.add("close_profit", [Tx("closePosition", "0x2", 121_632)])
    rf.derive("open_close_from_nothing", ["open_from_nothing", "close_profit"])
    rf.add("market_creation", [Tx("createPool", "0x3", 6_312_747)])
    mb.add("open_from_nothing", [Tx("MorphoBundler.open", "0x4", 150_952)])
    mb.add("open_from_nothing_2tx", [Tx("supplyCollateral", "0x5", 70_000), Tx("borrow", "0x6", 97_952)])
    return rf, mb


def test_rows_compare_like_with_like_and_show_the_other_view_without_a_goal():
    rf, mb = _recorders()
    by_op = {r.op: r for r in rows(rf, mb)}
    one_tx, two_tx = by_op["open_from_nothing"], by_op["open_from_nothing_2tx"]
    assert (one_tx.ringfence, one_tx.morpho, one_tx.goal) == (232_600, 150_952, 190_000)
    assert one_tx.ratio == "1.54×" and one_tx.status == "missed by 42,600 (+22%)"
    assert (two_tx.ringfence, two_tx.morpho, two_tx.goal) == (232_600, 167_952, None)
    assert two_tx.ratio == "1.38×" and two_tx.status == ""
    both = by_op["open_close_from_nothing"]
    assert both.ringfence == 354_232 and both.morpho is None and both.status == "missed by 69,232 (+24%)"
    assert by_op["market_creation"].status == "missed by 1,812,747 (+40%)"
    assert list(by_op) == [op for op, _ in OPERATIONS if op in by_op]  # display order
    # Without Morpho, its two-transaction rows do not show (they would repeat Ringfence's figure)
    assert "open_from_nothing_2tx" not in {r.op for r in rows(rf, None)}
    assert {r.op for r in rows(rf, None)} == {"open_from_nothing", "close_profit", "open_close_from_nothing",
                                              "market_creation"}


def test_bench_markdown_says_what_each_side_includes():
    rf, mb = _recorders()
    meta = {"date": "d", "duration_s": 1.0, "anvil": "anvil", "hardfork": "prague", "prune_history": 64,
            "ringfence_compiler": "rc", "morpho_compiler": "mc", "feed_compiler": "fc"}
    text = bench_markdown(rows(rf, mb), rf, mb, meta, [], [], [])
    includes = text.split("## What each side's figures include", 1)[1].split("\n## ", 1)[0]
    for needle in ("IrmMock", "AdaptiveCurveIrm", "morpho-blue-irm", "proxy", "onMorphoRepay", "0 → x → 0"):
        assert needle in includes, needle
    missed = text.split("## Missed goals", 1)[1]
    assert ('**open + close from nothing, one transaction each (Morpho: bundler)**: missed by 69,232 (+24%); '
            'the sum of "open from nothing, one transaction (Morpho: bundler)" + "close at a profit') in missed
    measures = text.split("## What each row measures", 1)[1]
    two_tx_line = next(line for line in measures.splitlines() if line.startswith("| open from nothing, Morpho in two"))
    assert "`supplyCollateral + borrow`" in two_tx_line and 'the figure of "open from nothing' in two_tx_line


def test_guard_table_is_ringfence_only_with_its_goals_and_ratios():
    """The MarginGuard's rows stand in their own table (not the Morpho comparison), each against its goal."""
    assert GUARD_GOALS == {"guard_set_policy_first": 60_000, "guard_set_policy_change": 60_000,
                           "guard_top_up_wallet": 80_000, "guard_top_up_reserve": 80_000,
                           "guard_batch_50_per_vault": 40_000}
    assert set(GUARD_GOALS) == {op for op, _ in GUARD_OPERATIONS}
    rf, mb = _recorders()
    rf.add("guard_top_up_wallet", [Tx("MarginGuard.topUp", "0x7", 120_000)])
    rf.add("guard_batch_50_per_vault", [Tx("MarginGuard.topUpBatch", "0x8", 1_900_000)], per=50)
    guard = guard_rows(rf)
    assert [(r.op, r.ringfence, r.morpho) for r in guard] == [("guard_top_up_wallet", 120_000, None),
                                                              ("guard_batch_50_per_vault", 38_000, None)]
    assert guard[0].goal_ratio == "1.50×" and guard[0].status == "missed by 40,000 (+50%)"
    assert guard[1].goal_ratio == "0.95×" and guard[1].met is True
    assert not {r.op for r in rows(rf, mb)} & set(GUARD_GOALS)  # not in the Morpho table
    meta = {"date": "d", "duration_s": 1.0, "anvil": "anvil", "hardfork": "prague", "prune_history": 64,
            "ringfence_compiler": "rc", "morpho_compiler": "mc", "feed_compiler": "fc"}
    text = bench_markdown(rows(rf, mb), rf, mb, meta, [], [], [])
    table = text.split("## MarginGuard (Ringfence only)", 1)[1].split("\n## ", 1)[0]
    assert "| top-up from the owner's wallet | 120,000 | 80,000 | 1.50× | missed by 40,000 (+50%) |" in table
    assert "Guard goals: 1 met, 1 missed." in table
    missed = text.split("## Missed goals", 1)[1]
    assert "**top-up from the owner's wallet**: missed by 40,000 (+50%); not traced in this run." in missed
    assert list(gas_json(rf, mb)["ringfence"])[-2:] == ["guard_top_up_wallet", "guard_batch_50_per_vault"]
