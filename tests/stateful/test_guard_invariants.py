"""Stateful fuzzing of the MarginGuard inside the protocol's state machine (U1 reserves, U2 top-up owners,
U3 top-up quotes of docs/design.md, with every invariant of test_invariants.py checked at each step too),
directed runs of its paths, and a canary for each check.

The machine is the protocol's with the guard's rules drawn too (:mod:`ringfence.fuzz.rules_guard`):
traders set, change and cancel policies (wallet with an exact or capped allowance, or reserve), open,
earmark, fund and drain reserves; the keeper and the attacker top up any vault, alone or in batches.
The run has `RINGFENCE_GUARD_FUZZ_EXAMPLES` x `RINGFENCE_FUZZ_STEPS` steps (50 x 130 by default, at
least 5,000 actions asserted; a composite step such as `guard_open_armed` counts its open, policy and
top-up), Anvil only, about a minute (1.5-2 on a loaded 2-CPU machine); `RINGFENCE_FUZZ_SEED` fixes the
seed. Hypothesis' swarm testing turns rules off per example, so only the guard's common paths are
asserted to be met; both sources and every refusal are met by name in the directed run. A failure is saved under
tests/stateful/regressions/ like test_invariants.py's."""

from __future__ import annotations

import copy
import dataclasses
import os
import random

import pytest

from ringfence.fuzz.guard_invariants import (
    TopUpOutcome,
    check_reserves,
    check_top_up_owners,
    check_top_up_quotes,
)
from ringfence.fuzz.invariants import InvariantViolation
from ringfence.fuzz.machine import Stats
from tests.stateful.fuzzing import run_machine

GUARD_ACTIONS = 5_000  # the default profile must run at least this many actions in total
DEFAULT_PROFILE = not {"RINGFENCE_GUARD_FUZZ_EXAMPLES", "RINGFENCE_FUZZ_STEPS"} & set(os.environ)
EXAMPLES = int(os.environ.get("RINGFENCE_GUARD_FUZZ_EXAMPLES", "50"))
STEPS = int(os.environ.get("RINGFENCE_FUZZ_STEPS", "130"))
SEED = os.environ.get("RINGFENCE_FUZZ_SEED")
USDC = 10**6


@pytest.fixture(scope="module")
def guard_machine(machine):
    """The module's machine class with the guard's rules drawn by hypothesis too."""
    return machine.bind(machine.world, guard=True)


def test_guard_invariants_hold_under_random_actions(guard_machine, anvil_only):
    run_seed = int(SEED) if SEED else random.SystemRandom().randrange(2**32)
    print(f"\nguard fuzz: seed {run_seed}, {EXAMPLES} examples x {STEPS} steps (replay: RINGFENCE_FUZZ_SEED="
          f"{run_seed} RINGFENCE_GUARD_FUZZ_EXAMPLES={EXAMPLES} RINGFENCE_FUZZ_STEPS={STEPS})")
    run_machine(guard_machine, run_seed, EXAMPLES, STEPS, label="guard fuzz",
                command=f"RINGFENCE_FUZZ_SEED={run_seed} ape test tests/stateful/test_guard_invariants.py")
    assert Stats.steps >= EXAMPLES
    if DEFAULT_PROFILE:  # the guard's common paths were met: top-ups, skips, the common refusals (each
        # source alone is not asserted: swarm testing left a seed with one reserve top-up in 50 examples)
        assert Stats.steps >= GUARD_ACTIONS, f"only {Stats.steps} actions (the profile needs {GUARD_ACTIONS})"
        for note in ("predicted top-up", "top-ups skipped in batches"):
            assert Stats.notes.get(note, 0) > 0, (note, Stats.notes)
        for error in ("VaultHealthy", "NoPolicy", "NotAVault"):  # predicted and met: U3 checks each prediction
            assert Stats.notes.get(f"predicted {error}", 0) > 0, (error, Stats.notes)


# ---------------------------------------------------------------- directed: every path, by name


def _target(m, vault):
    """A ``pick`` with which the top-up rules choose ``vault``."""
    return next(p for p in range(256) if m._top_up_target(p) == vault)


def _wallet(trader, pct, budget=500, expiry=0, stranger=False):
    """A wallet policy (``guard_set_policy``'s arguments): trigger ``pct`` % of the vault's health, target
    0.5 above, max 100, fee 10, ``budget``, exactly the budget allowed."""
    return {"trader": trader, "stranger": stranger, "pick": 0, "trigger_pct": pct, "gap_tenths": 5,
            "max_per": 100, "fee_bp": 1_000, "budget": budget, "expiry": expiry, "source": 0, "approval": 1}


def _directed(m, capture):
    """Drives the guard's paths on a fresh machine (the invariants after each step, U1-U3 included) and
    returns the ghost's outcome of each top-up action, by step. Vaults (market 0, nonce 0): A trader 0's
    8x long, wallet policy; B trader 1's 8x long, its reserve 1; C trader 2's 2x short, a policy that
    expires; D trader 3's 8x long, a policy with no budget, then on other reserves. ``capture(name, m)``
    is called before and after the steps named ``*`` (the canaries' real states)."""
    world = m.world
    a, b, c, d = (world.vault_of[(0, t, 0)] for t in range(4))
    steps = [
        ("open", {"trader": 0, "market": 0, "nonce": 0, "is_long": True, "size_centi": 100, "lev_tenths": 80}),
        ("open", {"trader": 1, "market": 0, "nonce": 0, "is_long": True, "size_centi": 100, "lev_tenths": 80}),
        ("open", {"trader": 2, "market": 0, "nonce": 0, "is_long": False, "size_centi": 100, "lev_tenths": 20}),
        ("open", {"trader": 3, "market": 0, "nonce": 0, "is_long": True, "size_centi": 100, "lev_tenths": 80}),
        ("guard_set_policy", _wallet(0, 80)),  # A: trigger 0.8 x its health, max 100, fee 10, budget 500
        ("guard_open_reserve", {"opener": 1, "mask": 1, "foreign": False, "deposit": 300}),  # reserve 1: B, 300
        ("guard_set_policy", dict(_wallet(1, 80), max_per=5_000, fee_bp=10, budget=10_000, source=1)),
        ("guard_set_policy", _wallet(2, 80, budget=1_000, expiry=600)),  # C
        ("guard_set_policy", _wallet(0, 150, stranger=True)),  # the attacker's policy on A: never acts
        ("guard_set_policy", _wallet(3, 150, budget=0)),  # D: no budget
        ("top_up", a, {"attacker": False}),  # A healthy (its trigger is below its health)
        ("price_step", {"market": 0, "bp": -300}),  # A, B below their triggers
        ("top_up", d, {"attacker": False}),  # D: BudgetExhausted
        ("top_up*", a, {"attacker": True}),  # A from trader 0's wallet
        ("top_up_batch*", [a, b, c, b, world.vault_of[(1, 3, 2)]], {"attacker": False}),  # B from reserve 1
        ("guard_set_policy", dict(_wallet(3, 150, budget=2_000), source=2)),  # D on reserve 1 (trader 1's)
        ("top_up", d, {"attacker": False}),  # NotReserveOwner
        ("guard_open_reserve", {"opener": 3, "mask": 2, "foreign": False, "deposit": 500}),  # reserve 2
        ("guard_set_policy", dict(_wallet(3, 150, budget=2_000), source=1)),  # D on reserve 2
        ("top_up", d, {"attacker": False}),  # ReserveNotEarmarked
        ("guard_earmark", {"pick": 1, "vault_pick": 0, "on": True, "stranger": False}),  # reserve 2 -> D
        ("top_up", d, {"attacker": False}),  # D from reserve 2
        ("guard_withdraw", {"pick": 0, "bp": 10_000, "stranger": False}),  # reserve 1 emptied
        ("price_step", {"market": 0, "bp": -300}),
        ("top_up", b, {"attacker": False}),  # B: ReserveTooLow
        ("guard_approve", {"trader": 0, "amount": 0}),  # A's allowance revoked
        ("top_up", a, {"attacker": False}),  # A: AllowanceTooLow
        ("time_passes", {"seconds": 700}),
        ("price_step", {"market": 0, "bp": 1_500}),  # C (short) below its trigger, its policy expired
        ("top_up", c, {"attacker": False}),  # PolicyExpired
        ("guard_cancel_policy", {"trader": 1, "stranger": False, "pick": 0}),
        ("top_up", b, {"attacker": False}),  # NoPolicy: cancelled
        ("close", {"pick": 3}),
        ("top_up", d, {"attacker": False}),  # PositionNotOpen
        ("top_up", world.vault_of[(1, 0, 2)], {"attacker": False}),  # NotAVault: never opened
    ]
    outcomes = []
    m.invariants_hold()
    for name, *args in steps:
        star = name.endswith("*")
        name = name.rstrip("*")
        if star:
            capture(f"before {name}", m)
        if name == "top_up":
            vault, kwargs = args
            m.guard_top_up(pick=_target(m, vault), **kwargs)
        elif name == "top_up_batch":
            vaults, kwargs = args
            m.guard_top_up_batch(picks=[_target(m, v) for v in vaults], **kwargs)
        else:
            getattr(m, name)(**args[0])
        if name.startswith("top_up"):
            outcomes.append([o.error or ("reserve" if o.reserve_id else "wallet") for o in m.last_top_ups])
        if star:
            capture(f"after {name}", m)
        m.invariants_hold()
    return outcomes


EXPECTED_OUTCOMES = [
    ["VaultHealthy"], ["BudgetExhausted"], ["wallet"], ["VaultHealthy", "reserve", "VaultHealthy", "VaultHealthy",
                                                         "NotAVault"],
    ["NotReserveOwner"], ["ReserveNotEarmarked"], ["reserve"], ["ReserveTooLow"], ["AllowanceTooLow"],
    ["PolicyExpired"], ["NoPolicy"], ["PositionNotOpen"], ["NotAVault"],
]


def test_guard_paths_are_the_models_directed(machine, anvil_only):
    """Every top-up path the fuzz predicts, directed, each outcome the ghost's and the chain's (U3 is
    checked at every top-up, U1 and U2 after it): a wallet top-up, reserve top-ups, a batch that skips
    the healthy, repeated and unopened vaults, and each refusal by name."""
    m = machine()
    try:
        Stats.reset()
        outcomes = _directed(m, lambda name, m: None)
        assert outcomes == EXPECTED_OUTCOMES
        assert Stats.notes["top-ups from a wallet"] == 1 and Stats.notes["top-ups from a reserve"] == 2
        assert m.guard_ghost.reserves[1].spent > 0 and m.guard_ghost.reserves[1].balance == 0
        assert m.guard_ghost.reserves[2].spent > 0
    finally:
        m.teardown()


# ---------------------------------------------------------------- canaries: each check can fail


@pytest.fixture(scope="module")
def guard_clean(machine, chain):
    """Real states of the directed run: around the wallet top-up and the batch (with its reserve
    top-up), the ghost at each, and the reserves at the end; all pass U1-U3. Anvil only (the top-ups'
    block times are predicted from its fixed block interval)."""
    if chain.provider.name != "foundry":
        pytest.skip("the directed run predicts Anvil's block times: --network ethereum:local:foundry")
    states = {}

    def capture(name, m):
        states[name] = (m.read(), list(m.last_top_ups), copy.deepcopy(m.guard_ghost),
                        {v: m.world.traders[t] for v, (_, t) in m.vaults.items()})

    m = machine()
    try:
        _directed(m, capture)
        snap = m.read()
        states["end"] = (snap, m._reserves_on_chain(), copy.deepcopy(m.guard_ghost))
    finally:
        m.teardown()
    return states, m


def _done(states, name):
    """The top-ups of step ``name`` and what U2 takes for them."""
    pre, _, ghost, owner_of = states[f"before {name}"]
    post, outcomes, _, _ = states[f"after {name}"]
    done = [o for o in outcomes if o.error is None]
    assert done
    return done, owner_of, set(ghost.policies), ghost.reserves, pre, post


def test_canary_reserves_catch_a_unit_off_the_ledger(guard_clean):
    """U1: the real reserves pass; a ledger that forgets a unit of a top-up's spending, a reserve holding
    one unit more than its ledger, a unit left in the guard, a reserve of another owner, or a reserve
    the ghost never opened fail."""
    states, m = guard_clean
    snap, on_chain, ghost = states["end"]
    guard_balance = snap.holder_balances[m.world.guard]
    check_reserves(on_chain, ghost.reserves, guard_balance)
    assert guard_balance > 0 and all(r.spent for r in ghost.reserves.values())
    forgetful = {rid: dataclasses.replace(r, spent=r.spent - (rid == 2)) for rid, r in ghost.reserves.items()}
    with pytest.raises(InvariantViolation, match="reserves"):
        check_reserves(on_chain, forgetful, guard_balance)
    owner, balance = on_chain[2]
    with pytest.raises(InvariantViolation, match="reserves"):
        check_reserves({**on_chain, 2: (owner, balance + 1)}, ghost.reserves, guard_balance + 1)
    with pytest.raises(InvariantViolation, match="reserves"):  # the guard kept a unit of a top-up
        check_reserves(on_chain, ghost.reserves, guard_balance + 1)
    with pytest.raises(InvariantViolation, match="reserves"):
        check_reserves({**on_chain, 2: (m.world.traders[0], balance)}, ghost.reserves, guard_balance)
    with pytest.raises(InvariantViolation, match="reserves"):
        check_reserves({**on_chain, 3: (owner, 0)}, ghost.reserves, guard_balance)


def test_canary_top_up_owners_catch_money_moved_between_owners(guard_clean):
    """U2 on the real wallet top-up (A, trader 0) and reserve top-up (B, trader 1's reserve 1): both
    pass; the same top-up credited to another owner's vault, paid from another owner's reserve or from a
    reserve not earmarked to the vault, under a stranger's policy, pulled from a wallet that did not
    pay, or landing in the vault short of its amount fail."""
    states, m = guard_clean
    traders = m.world.traders
    wallet = _done(states, "top_up")
    check_top_up_owners(*wallet, traders)
    reserve = _done(states, "top_up_batch")
    check_top_up_owners(*reserve, traders)
    (t,), owner_of, policies, reserves, pre, post = wallet
    assert t.reserve_id == 0 and t.owner == traders[0]
    (r,), _, _, rreserves, rpre, rpost = reserve
    assert r.reserve_id == 1 and r.owner == traders[1]
    broken = {
        "owner": ([dataclasses.replace(t, owner=traders[1])], owner_of, policies | {(traders[1], t.vault)},
                  reserves, pre, post),
        "foreign reserve": ([dataclasses.replace(r, vault=t.vault, owner=traders[0])], owner_of,
                            policies, rreserves, rpre, rpost),
        "not earmarked": ([r], owner_of, policies | {(r.owner, r.vault)},
                          {**rreserves, 1: dataclasses.replace(rreserves[1], earmarked=set())}, rpre, rpost),
        "stranger's policy": ([t], owner_of, policies - {(t.owner, t.vault)}, reserves, pre, post),
        "wallet": ([dataclasses.replace(t, reserve_id=r.reserve_id)], owner_of, policies,
                   {1: dataclasses.replace(rreserves[1], owner=t.owner, earmarked={t.vault})}, pre, post),
        "margin": ([dataclasses.replace(t, amount=t.amount + 1, fee=t.fee - 1)], owner_of, policies, reserves,
                   pre, post),
    }
    for what, args in broken.items():
        with pytest.raises(InvariantViolation, match="top-up-owners"):
            check_top_up_owners(*args, traders)
            pytest.fail(f"U2 missed: {what}")


def test_canary_top_up_quotes_catch_an_amount_off_the_model(guard_clean):
    """U3 on the real outcomes: the batch's (a reserve top-up among skips) pass against themselves and
    the stored budget; one unit more margin or fee, a budget that fell by one unit more, a stored budget
    that did not fall, a vault topped up that the model says is healthy, another refusal than the
    model's, or a skipped vault missing fail."""
    states, _ = guard_clean
    _post, outcomes, _, _ = states["after top_up_batch"]
    [done] = [o for o in outcomes if o.error is None]
    expected = [o if o.error is None else dataclasses.replace(o, error="skipped") for o in outcomes]
    stored = {(done.owner, done.vault): done.budget_after}
    check_top_up_quotes(expected, expected, stored)
    i = expected.index(done)
    for wrong in (dataclasses.replace(done, amount=done.amount + 1), dataclasses.replace(done, fee=done.fee + 1),
                  dataclasses.replace(done, budget_after=done.budget_after - 1)):
        with pytest.raises(InvariantViolation, match="top-up-quote"):
            check_top_up_quotes(expected, [*expected[:i], wrong, *expected[i + 1:]], stored)
    with pytest.raises(InvariantViolation, match="top-up-quote"):
        check_top_up_quotes(expected, expected, {(done.owner, done.vault): done.budget_after + done.amount})
    healthy = TopUpOutcome(expected[0].vault, "VaultHealthy")
    with pytest.raises(InvariantViolation, match="top-up-quote"):
        check_top_up_quotes([healthy], [dataclasses.replace(done, vault=healthy.vault)])
    with pytest.raises(InvariantViolation, match="top-up-quote"):
        check_top_up_quotes([healthy], [TopUpOutcome(healthy.vault, "NoPolicy")])
    with pytest.raises(InvariantViolation, match="top-up-quote"):
        check_top_up_quotes(expected, expected[:-1], stored)


def test_canary_machine_runs_the_guard_checks(machine, anvil_only, monkeypatch):
    """The checks are wired into the machine: U2 runs after each action that topped up (three in the
    directed run); a ghost whose model quotes one unit more than the chain adds fails U3 at the first
    top-up; a ghost that forgets what a reserve paid fails U1 at the next step."""
    from ringfence.fuzz import guard_model, rules_guard

    seen = []
    monkeypatch.setattr(rules_guard, "check_top_up_owners", lambda done, *args: seen.append(done))
    m = machine()
    try:
        _directed(m, lambda name, m: None)
    finally:
        m.teardown()
    assert [[t.reserve_id for t in done] for done in seen] == [[0], [1], [2]]
    real = guard_model.predict_top_ups

    def generous(*args):
        return [dataclasses.replace(o, amount=o.amount + 1) if o.error is None else o for o in real(*args)]

    monkeypatch.setattr(rules_guard, "predict_top_ups", generous)
    m = machine()
    try:
        with pytest.raises(InvariantViolation, match="top-up-quote"):
            _directed(m, lambda name, m: None)
    finally:
        m.teardown()
    monkeypatch.setattr(rules_guard, "predict_top_ups", real)
    m = machine()
    try:
        def forget(name, m):
            if name == "after top_up_batch":
                m.guard_ghost.reserves[1].spent = 0
        with pytest.raises(InvariantViolation, match="reserves"):
            _directed(m, forget)
    finally:
        m.teardown()
