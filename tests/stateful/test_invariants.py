"""Stateful fuzzing of the five invariants of DESIGN.md (plus A2 sums), and a canary for each check.

The CI profile runs `RINGFENCE_FUZZ_EXAMPLES` x `RINGFENCE_FUZZ_STEPS` actions (defaults below) on
Anvil; `make fuzz` / `ape run fuzz` runs deep ones. Failing examples are saved in
tests/stateful/examples (hypothesis' example database) and replayed by this test on every run."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.stateful import run_state_machine_as_test

from ringfence.fuzz.env import FuzzEnv
from ringfence.fuzz.invariants import (
    Ghost,
    InvariantViolation,
    check_conservation,
    check_isolation,
    check_liveness,
    check_losses,
    check_safety,
    check_solvency,
    check_sums,
)
from ringfence.fuzz.machine import Stats, build_machine

EXAMPLES = int(os.environ.get("RINGFENCE_FUZZ_EXAMPLES", "6"))
STEPS = int(os.environ.get("RINGFENCE_FUZZ_STEPS", "50"))
DATABASE = DirectoryBasedExampleDatabase(str(Path(__file__).parent / "examples"))


@pytest.fixture(scope="module")
def fuzz_env(accounts, project):
    return FuzzEnv.deploy(accounts, project)


@pytest.fixture(scope="module")
def machine(fuzz_env, chain, project):
    return build_machine(fuzz_env, chain, project)


def test_invariants_hold_under_random_actions(machine, chain):
    if chain.provider.name != "foundry":
        pytest.skip("fuzzed once, on Anvil (8x faster reads than the embedded chain)")
    Stats.steps = 0
    run_state_machine_as_test(machine, settings=settings(
        max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, database=DATABASE,
        suppress_health_check=list(HealthCheck),
    ))
    print(f"\nfuzz: {Stats.steps} actions {dict(sorted(Stats.actions.items()))}")
    print(f"fuzz: expected errors met {dict(sorted(Stats.errors.items()))}")
    assert Stats.steps >= EXAMPLES  # the machine really acted
    assert Stats.actions.get("open", 0) > 0 and Stats.actions.get("liquidate_batch", 0) > 0


# ---------------------------------------------------------------- canaries: each check can fail


@pytest.fixture(scope="module")
def clean(machine):
    """A real snapshot of a state after a few actions, and its ghost, that pass every check."""
    m = machine()
    try:
        m.open(trader=0, market=0, nonce=0, is_long=True, size_centi=100, lev_tenths=50)
        m.open(trader=1, market=1, nonce=0, is_long=False, size_centi=200, lev_tenths=30)
        m.invariants_hold()
        snap = m.read()
        yield snap, m.ghost, m
    finally:
        m.teardown()


def test_canary_conservation_catches_a_missing_unit(clean):
    snap, ghost, _ = clean
    check_conservation(snap, ghost)
    with pytest.raises(InvariantViolation, match="conservation"):
        check_conservation(snap, dataclasses.replace(ghost, minted=ghost.minted + 1))
    vault, row = next(iter(snap.vaults.items()))
    leaked = dataclasses.replace(snap, vaults={**snap.vaults, vault: dataclasses.replace(row, balance=row.balance - 1)})
    with pytest.raises(InvariantViolation, match="conservation"):
        check_conservation(leaked, ghost)


def test_canary_sums_catch_a_drifted_aggregate(clean):
    snap, _, _ = clean
    check_sums(snap)
    m0 = snap.markets[0]
    long_size, long_notional = m0.open_interest[0]
    drifted = dataclasses.replace(m0, open_interest=((long_size + 1, long_notional), m0.open_interest[1]))
    with pytest.raises(InvariantViolation, match="sums"):
        check_sums(dataclasses.replace(snap, markets=[drifted, *snap.markets[1:]]))


def test_canary_solvency_catches_a_dug_reserve(clean):
    snap, _, _ = clean
    check_solvency(snap)
    m0 = snap.markets[0]
    broken = dataclasses.replace(m0, max_withdraw_lp=m0.total_assets - m0.reserved + 1)
    with pytest.raises(InvariantViolation, match="solvency"):
        check_solvency(dataclasses.replace(snap, markets=[broken, *snap.markets[1:]]))


def test_canary_isolation_catches_a_touched_neighbour(clean):
    snap, ghost, machine_instance = clean
    rows = {v: (r.status, r.margin, r.balance) for v, r in snap.vaults.items()}
    check_isolation(rows, rows, set())
    victim = next(iter(rows))
    changed = {**rows, victim: (1, rows[victim][1] - 1, rows[victim][2])}
    with pytest.raises(InvariantViolation, match="isolation"):
        check_isolation(rows, changed, set())
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


def test_canary_ghost_defaults_are_independent():
    a, b = Ghost(), Ghost()
    a.pool_donations[0] += 1
    assert b.pool_donations == [0, 0]
