"""Stateful fuzzing of the five invariants of DESIGN.md (plus A2 sums), and a canary for each check.

The CI profile runs `RINGFENCE_FUZZ_EXAMPLES` x `RINGFENCE_FUZZ_STEPS` actions (100 x 120 by default,
at least 10,000, asserted) on Anvil only; `RINGFENCE_FUZZ_SEED` fixes the seed (else a random one,
printed). `make fuzz` / `ape run fuzz` runs deep ones. A failure is saved as a pytest file under
tests/stateful/regressions/ (replayed by every later run); hypothesis' example database lives in
tests/stateful/examples (local, git-ignored)."""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import random
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, seed, settings
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.stateful import run_state_machine_as_test

from ringfence.fuzz.invariants import (
    Ghost,
    InvariantViolation,
    check_conservation,
    check_isolation,
    check_liveness,
    check_losses,
    check_profit_caps,
    check_refusals,
    check_safety,
    check_solvency,
    check_sums,
)
from ringfence.fuzz.machine import Stats

WAD = 10**18
from ringfence.fuzz.replay import failures, replay, steps_from_exception, write_regression

CI_ACTIONS = 10_000  # the issue: "a CI profile running at least 10,000 actions in total"
# 100 x 120: hypothesis ends some examples early (~5 % of the steps), so 12,000 nominal keeps the
# count above 10,000 with a wide margin (~2 minutes on Anvil).
CI_PROFILE = not {"RINGFENCE_FUZZ_EXAMPLES", "RINGFENCE_FUZZ_STEPS"} & set(os.environ)
EXAMPLES = int(os.environ.get("RINGFENCE_FUZZ_EXAMPLES", "100"))
STEPS = int(os.environ.get("RINGFENCE_FUZZ_STEPS", "120"))
SEED = os.environ.get("RINGFENCE_FUZZ_SEED")
DATABASE = DirectoryBasedExampleDatabase(str(Path(__file__).parent / "examples"))


def test_invariants_hold_under_random_actions(machine, anvil_only):
    run_seed = int(SEED) if SEED else random.SystemRandom().randrange(2**32)
    print(f"\nfuzz: seed {run_seed}, {EXAMPLES} examples x {STEPS} steps "
          f"(replay: RINGFENCE_FUZZ_SEED={run_seed}, or ape run fuzz --seed {run_seed} "
          f"--examples {EXAMPLES} --steps {STEPS})")
    Stats.reset()
    node = machine.world.node
    sent = node.transactions
    start = time.perf_counter()
    try:
        run_state_machine_as_test(seed(run_seed)(machine), settings=settings(
            max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, database=DATABASE,
            suppress_health_check=list(HealthCheck),
        ))
    except Exception as exc:
        for failure in failures(exc):
            steps = steps_from_exception(failure)
            if steps:
                path = write_regression(steps, failure, seed=run_seed,
                                        command=f"RINGFENCE_FUZZ_SEED={run_seed} ape test tests/stateful")
                print(f"fuzz: failing example saved as {path}")
        raise
    finally:
        elapsed = time.perf_counter() - start
        print(f"fuzz: {Stats.steps} actions in {Stats.examples} examples, {node.transactions - sent} "
              f"transactions, {elapsed:.1f} s ({Stats.steps / max(elapsed, 1e-9):.0f} actions/s)")
        print(f"fuzz: actions {dict(sorted(Stats.actions.items()))}")
        print(f"fuzz: expected errors met {dict(sorted(Stats.errors.items()))}")
    if CI_PROFILE:
        assert Stats.steps >= CI_ACTIONS, f"only {Stats.steps} actions (the CI profile needs {CI_ACTIONS})"
    assert Stats.steps >= EXAMPLES  # the machine really acted
    assert Stats.actions.get("open", 0) > 0 and Stats.actions.get("liquidate_batch", 0) > 0


# ---------------------------------------------------------------- canaries: each check can fail


@pytest.fixture(scope="module")
def clean(machine):
    """A real snapshot of a state after a few actions, and its ghost, that pass every check (the chain
    is restored at once: other tests' machines start from the fuzz world's initial state)."""
    m = machine()
    try:
        m.open(trader=0, market=0, nonce=0, is_long=True, size_centi=100, lev_tenths=50)
        m.open(trader=1, market=1, nonce=0, is_long=False, size_centi=200, lev_tenths=30)
        m.invariants_hold()
        snap = m.read()
    finally:
        m.teardown()
    assert len(snap.vaults) == 2
    return snap, m.ghost, m


def test_canary_conservation_catches_a_missing_unit(clean):
    snap, ghost, _ = clean
    check_conservation(snap, ghost)
    with pytest.raises(InvariantViolation, match="conservation"):
        check_conservation(snap, dataclasses.replace(ghost, minted=ghost.minted + 1))
    vault, row = next(iter(snap.vaults.items()))
    leaked = dataclasses.replace(snap, vaults={**snap.vaults, vault: dataclasses.replace(row, balance=row.balance - 1)})
    with pytest.raises(InvariantViolation, match="conservation"):
        check_conservation(leaked, ghost)
    pool = dataclasses.replace(snap.markets[0], balance=snap.markets[0].balance - 1)
    with pytest.raises(InvariantViolation, match="conservation"):
        check_conservation(dataclasses.replace(snap, markets=[pool, *snap.markets[1:]]), ghost)


def test_canary_sums_catch_a_drifted_aggregate(clean):
    snap, _, _ = clean
    check_sums(snap)
    m0 = snap.markets[0]
    long_size, long_notional = m0.open_interest[0]
    drifted = dataclasses.replace(m0, open_interest=((long_size + 1, long_notional), m0.open_interest[1]))
    with pytest.raises(InvariantViolation, match="sums"):
        check_sums(dataclasses.replace(snap, markets=[drifted, *snap.markets[1:]]))
    with pytest.raises(InvariantViolation, match="sums"):
        check_sums(dataclasses.replace(snap, markets=[dataclasses.replace(m0, reserved=m0.reserved - 1),
                                                      *snap.markets[1:]]))
    with pytest.raises(InvariantViolation, match="totalClaimable"):
        check_sums(dataclasses.replace(snap, markets=[dataclasses.replace(m0, total_claimable=m0.total_claimable + 1),
                                                      *snap.markets[1:]]))


def test_canary_profit_caps_catch_a_reserve_above_the_cap_rule(clean):
    snap, _, m = clean
    ks = [p.max_profit_wad for p in m.params]
    check_profit_caps(snap, ks)
    vault, row = next((v, r) for v, r in snap.vaults.items() if r.status == 1)
    k = ks[row.market]
    allowed = min(row.margin * k // WAD, row.entry_notional * k // WAD)
    inflated = dataclasses.replace(row, max_profit=allowed + 1)
    with pytest.raises(InvariantViolation, match="caps"):
        check_profit_caps(dataclasses.replace(snap, vaults={**snap.vaults, vault: inflated}), ks)


def test_canary_solvency_catches_a_dug_reserve(clean):
    snap, _, _ = clean
    check_solvency(snap)
    m0 = snap.markets[0]
    broken = dataclasses.replace(m0, max_withdraw_lp=m0.total_assets - m0.reserved + 1)
    with pytest.raises(InvariantViolation, match="solvency"):
        check_solvency(dataclasses.replace(snap, markets=[broken, *snap.markets[1:]]))
    under = dataclasses.replace(m0, reserved=m0.total_assets + 1)
    with pytest.raises(InvariantViolation, match="solvency"):
        check_solvency(dataclasses.replace(snap, markets=[under, *snap.markets[1:]]))


def test_canary_isolation_catches_a_touched_neighbour(clean):
    snap, ghost, _ = clean
    rows = {v: (r.status, r.margin, r.balance) for v, r in snap.vaults.items()}
    check_isolation(rows, rows, set())
    victim = next(iter(rows))
    changed = {**rows, victim: (1, rows[victim][1] - 1, rows[victim][2])}
    with pytest.raises(InvariantViolation, match="isolation"):
        check_isolation(rows, changed, set())
    check_isolation(rows, changed, {victim})  # the vault the action named may change
    trader = next(iter(ghost.start_balance))
    poorer = {**snap.holder_balances, trader: 0}
    with pytest.raises(InvariantViolation, match="isolation"):
        check_losses(poorer, ghost, [trader])


def test_canary_liveness_and_safety_catch_a_wrong_outcome():
    check_liveness(["0xv"], 1)
    with pytest.raises(InvariantViolation, match="liveness"):
        check_liveness(["0xv", "0xw"], 1)
    check_safety([])
    with pytest.raises(InvariantViolation, match="safety"):
        check_safety(["0xhealthy"])
    check_refusals({})
    with pytest.raises(InvariantViolation, match="safety"):
        check_refusals({"0xhealthy": "Unknown"})


def test_canary_liquidation_probes_see_both_outcomes(machine):
    """The FuzzReader's dry runs are not vacuous: a crashed long is reported liquidatable (alone and in
    the batch), a healthy short is not, and the checks fed the opposite verdicts fail."""
    m = machine()
    try:
        m.open(trader=0, market=0, nonce=0, is_long=True, size_centi=100, lev_tenths=80)
        m.open(trader=1, market=0, nonce=0, is_long=False, size_centi=100, lev_tenths=20)
        m.invariants_hold()
        long_vault, short_vault = list(m.vaults)
        snap, probes = m.read_all()
        assert not snap.vaults[long_vault].liquidatable and probes.single == {long_vault: False, short_vault: False}
        assert not probes.batches[0].probed
        m.price_jump(market=0, bp=-1000)  # -10 % on an 8x long: underwater; the short gains
        snap, probes = m.read_all()
        assert snap.vaults[long_vault].liquidatable and not snap.vaults[short_vault].liquidatable
        assert probes.single == {long_vault: True, short_vault: False}
        batch = probes.batches[0]
        assert batch.probed and not batch.reverted and batch.liquidated == 1
        check_liveness([long_vault], batch.liquidated)
        check_safety([v for v in [short_vault] if probes.single[v]])
        with pytest.raises(InvariantViolation, match="safety"):  # had the long been healthy
            check_safety([v for v in [long_vault] if probes.single[v]])
        m.invariants_hold()  # the dry runs changed nothing: the whole check still passes
        m.liquidate_all(market=0)
        m.invariants_hold()
        after = m.read().vaults[long_vault]
        assert after.status == 2 or (after.size < snap.vaults[long_vault].size and not after.liquidatable)
    finally:
        m.teardown()


def test_reverts_are_named_and_nothing_is_sent(machine):
    """A dry run that reverts raises the contract's named error (decoded from the raw revert data) and
    sends nothing; the action counts as met with that error."""
    m = machine()
    try:
        Stats.reset()
        sent = machine.world.node.transactions
        m.open(trader=0, market=0, nonce=0, is_long=True, size_centi=100, lev_tenths=120)  # 12x > 10x
        m.claim(trader=0, market=1)
        assert Stats.errors == {"LeverageTooHigh": 1, "NothingToClaim": 1} and Stats.steps == 2
        assert machine.world.node.transactions == sent and not m.vaults
        m.invariants_hold()
    finally:
        m.teardown()


def test_a_full_liquidation_credit_is_claimed_by_its_owner_only(machine, anvil_only):
    """The machine's credit path, directed: a small position liquidated right past its liquidation price
    closes fully with equity left; the claim rule (asked by a stranger) dry-runs the stranger's claim,
    which must fail, then claims as the owner; the A2 sums hold at every step."""
    m = machine()
    try:
        Stats.reset()
        m.open(trader=0, market=0, nonce=0, is_long=True, size_centi=2, lev_tenths=30)
        m.invariants_hold()
        [vault] = m.vaults
        m.price_to_liquidation(pick=0, beyond_bp=0)
        m.invariants_hold()
        assert m.last_rows[vault].liquidatable
        m.liquidate_all(market=0)
        m.invariants_hold()
        credit = m.last_rows[vault]
        assert credit.status == 2 and credit.margin > 0
        m.claim(trader=1, market=0, nonce=0)  # trader 1 is a stranger to the credited vault
        m.invariants_hold()
        assert m.last_rows[vault].margin == 0 and Stats.errors == {}
    finally:
        m.teardown()


def test_canary_ghost_defaults_are_independent():
    a, b = Ghost(), Ghost()
    a.pool_donations[0] += 1
    assert b.pool_donations == [0, 0]


# ---------------------------------------------------------------- the failure -> regression pipeline

STEPS_FOR_DETERMINISM = [
    ("open", {"trader": 0, "market": 0, "nonce": 0, "is_long": True, "size_centi": 300, "lev_tenths": 90}),
    ("open", {"trader": 1, "market": 1, "nonce": 1, "is_long": False, "size_centi": 150, "lev_tenths": 40}),
    ("time_passes", {"seconds": 2_500}),
    ("price_step", {"market": 0, "bp": -250}),
    ("add_margin", {"pick": 1, "payer": 2, "amount": 17}),
    ("donate", {"pick": 0, "market": 1, "amount": 33, "to_pool": False}),
    ("price_jump", {"market": 0, "bp": -1000}),
    ("liquidate_all", {"market": 0}),
    ("claim", {"trader": 0, "market": 0}),
    ("time_passes", {"seconds": 1_234}),
    ("close", {"pick": 1}),
    ("lp", {"market": 1, "amount": 5_000, "deposit": False}),
]


def test_replays_are_exact(machine, anvil_only):
    """The same steps give the same chain, to the unit (fees accrue per second: a fixed block interval)."""
    first = replay(machine, STEPS_FOR_DETERMINISM)
    second = replay(machine, STEPS_FOR_DETERMINISM)
    assert first == second
    assert any(r.status == 2 for r in first.vaults.values())  # the steps did something


def test_canary_a_failure_is_saved_and_replays(machine, anvil_only, tmp_path):
    """A machine with a planted bug (its ghost forgets the margin traders pay in) fails; the falsifying
    steps hypothesis prints are saved as a pytest file that fails on the buggy machine and passes on the
    real one."""

    class Amnesic(dict):
        def __setitem__(self, key, value):  # the ghost "forgets" every payment
            pass

    class Forgetful(machine):
        def __init__(self) -> None:
            super().__init__()
            self.ghost.paid_in = Amnesic()

    Forgetful.__name__ = Forgetful.__qualname__ = "Forgetful"
    with pytest.raises(InvariantViolation, match="isolation") as caught:
        run_state_machine_as_test(seed(1)(Forgetful), settings=settings(
            max_examples=100, stateful_step_count=10, deadline=None, database=None,
            phases=[Phase.generate], suppress_health_check=list(HealthCheck),
        ))
    steps = steps_from_exception(caught.value)
    assert steps and steps[-1][0] in {"open", "add_margin", "donate"}, steps
    path = write_regression(steps, caught.value, seed=1, directory=tmp_path / "regressions")
    spec = importlib.util.spec_from_file_location("saved_regression", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.STEPS == steps
    with pytest.raises(InvariantViolation, match="isolation"):
        module.test_replay(Forgetful, None)
    module.test_replay(machine, None)
