"""Unit tests of the bench's own bookkeeping (no chain): snapshot comparison, goal status, and the
trace arithmetic that splits a call's cost from its callee's."""

from __future__ import annotations

from ringfence.bench import snapshot
from ringfence.bench.measure import Recorder, Tx
from ringfence.bench.report import GOALS, Row, gas_json
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
