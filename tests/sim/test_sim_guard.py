"""The simulator with MarginGuard policies (``traders.guard``): the same small scenario and seed run
without and with the guard (tests/sim/guard.yaml) on the same chain state. With it, the keepers top up
the policy holders' vaults from their reserves before liquidating, so those traders are liquidated less
(or as often), the keepers earn the fees, conservation still holds to the unit, and the comparison report
says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from ringfence.sim.scenario import load_scenario

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def guard_runs(chain):
    from ringfence.sim.runner import run_scenario

    scenario = load_scenario(HERE / "guard.yaml")
    runs = []
    for enabled in (False, True):
        snapshot = chain.snapshot()
        try:
            runs.append(run_scenario(scenario.with_guard(enabled=enabled), progress=False))
        finally:
            chain.restore(snapshot)
    return runs


def test_policy_holders_are_liquidated_less_and_keepers_earn_the_fees(guard_runs, tmp_path):
    without, with_guard = guard_runs
    a, b = without.figures["guard"], with_guard.figures["guard"]
    # the same traders, plans and prices: the same positions open, the same traders hold the policies
    assert [t.guarded for t in without.traders] == [t.guarded for t in with_guard.traders]
    assert 0 < b["with_policy"]["traders"] < b["all"]["traders"]
    assert a["with_policy"]["positions"] == b["with_policy"]["positions"] > 0
    assert without.guard is None and with_guard.guard is not None and a["top_ups"] == 0
    # the crash liquidates policy holders without the guard (so the comparison is not vacuous)...
    assert a["with_policy"]["liquidated"] > 0
    # ...and the guard's top-ups happened, paid from the reserves, and cut their liquidations
    assert b["top_ups"] > 0 and b["top_up_amount"] > 0
    assert b["with_policy"]["reserve_used"] == b["top_up_amount"] + b["keeper_top_up_fees"]
    assert b["with_policy"]["liquidated"] <= a["with_policy"]["liquidated"]
    assert b["with_policy"]["liquidated"] + b["without_policy"]["liquidated"] == b["all"]["liquidated"]
    # the keepers' fees are the policies' fee per top-up; their income counts them with the bonuses
    fee = int(with_guard.scenario.traders.guard_fee * 10**6)
    assert b["keeper_top_up_fees"] == fee * b["top_ups"]
    assert b["keeper_income"] == b["keeper_bonus"] + b["keeper_top_up_fees"]
    # the reserves are extra collateral committed; the traders without a policy are not affected by it
    assert b["with_policy"]["committed"] == (a["with_policy"]["committed"] + b["with_policy"]["reserve_deposits"])
    iso = with_guard.figures["isolated"]
    assert iso["trader_excess_loss"] == 0 and iso["liquidated_solvent_alone"] == 0
    assert all(c["gap"] == 0 for c in iso["conservation"].values())  # the reserves' remainders withdrawn
    from ringfence.sim.report import write_guard_comparison

    text = write_guard_comparison([(without, with_guard)], tmp_path).read_text()
    row = f"| positions liquidated: traders with a policy | {a['with_policy']['liquidated']} of "
    assert row in text and "keeper income: top-up fees" in text
