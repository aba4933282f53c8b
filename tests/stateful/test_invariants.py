"""Stateful fuzzing of the five invariants of docs/design.md (plus A2 sums) and of the LP accounting (L1
marking, L2 quotes, L3 worse-of settlements, L4 realization neutrality, L5 LP net, settlement liveness),
and a canary for each check.

The CI profile runs `RINGFENCE_FUZZ_EXAMPLES` x `RINGFENCE_FUZZ_STEPS` actions (100 x 130 by default,
at least 10,000, asserted) on Anvil only; `RINGFENCE_FUZZ_SEED` fixes the seed (else a random one,
printed). `make fuzz` / `ape run fuzz` runs deep ones. A failure is saved as a pytest file under
tests/stateful/regressions/ (replayed by every later run); hypothesis' example database lives in
tests/stateful/examples (local, git-ignored)."""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import random

import pytest
from hypothesis import HealthCheck, Phase, seed, settings
from hypothesis.stateful import run_state_machine_as_test

from ringfence import model
from ringfence.fuzz.invariants import (
    Ghost,
    InvariantViolation,
    LpLedger,
    LpRow,
    MarketRow,
    Quote,
    Settlement,
    Snapshot,
    check_conservation,
    check_isolation,
    check_liveness,
    check_losses,
    check_lp_net,
    check_marking,
    check_neutrality,
    check_profit_caps,
    check_quote,
    check_refusals,
    check_safety,
    check_solvency,
    check_sums,
    check_worse_of,
    mark_change,
)
from ringfence.fuzz.machine import Stats

WAD = 10**18
from ringfence.fuzz.replay import replay, steps_from_exception, write_regression
from tests.stateful.fuzzing import run_machine

CI_ACTIONS = 10_000  # the CI profile must run at least 10,000 actions in total
# 100 x 130: hypothesis ends some examples early (its generator shortens roughly 8-21 % of the steps with
# the trader and LP rules), so 13,000 nominal keeps the count above 10,000.
CI_PROFILE = not {"RINGFENCE_FUZZ_EXAMPLES", "RINGFENCE_FUZZ_STEPS"} & set(os.environ)
EXAMPLES = int(os.environ.get("RINGFENCE_FUZZ_EXAMPLES", "100"))
STEPS = int(os.environ.get("RINGFENCE_FUZZ_STEPS", "130"))
SEED = os.environ.get("RINGFENCE_FUZZ_SEED")


def test_invariants_hold_under_random_actions(machine, anvil_only):
    run_seed = int(SEED) if SEED else random.SystemRandom().randrange(2**32)
    print(f"\nfuzz: seed {run_seed}, {EXAMPLES} examples x {STEPS} steps "
          f"(replay: RINGFENCE_FUZZ_SEED={run_seed}, or ape run fuzz --seed {run_seed} "
          f"--examples {EXAMPLES} --steps {STEPS})")
    run_machine(machine, run_seed, EXAMPLES, STEPS, label="fuzz",
                command=f"RINGFENCE_FUZZ_SEED={run_seed} ape test tests/stateful")
    if CI_PROFILE:
        assert Stats.steps >= CI_ACTIONS, f"only {Stats.steps} actions (the CI profile needs {CI_ACTIONS})"
    assert Stats.steps >= EXAMPLES  # the machine really acted
    assert Stats.actions.get("open", 0) > 0 and Stats.actions.get("liquidate_batch", 0) > 0
    if CI_PROFILE:  # the LP paths were exercised: requests settled both ways, the attacker paid as keeper
        for action in ("lp_request_deposit", "lp_request_redeem", "lp_settle_deposit", "lp_settle_redeem",
                       "attacker_liquidate"):
            assert Stats.succeeded.get(action, 0) > 0, (action, Stats.succeeded)


# ---------------------------------------------------------------- canaries: each check can fail


@pytest.fixture(scope="module")
def clean(machine):
    """A real snapshot of a state after a few actions, and its ghost, that pass every check (the chain
    is restored at once: other tests' machines start from the fuzz world's initial state)."""
    m = machine()
    try:
        m.open(trader=0, market=0, nonce=0, is_long=True, size_centi=100, lev_tenths=50)
        m.invariants_hold()
        m.open(trader=1, market=1, nonce=0, is_long=False, size_centi=200, lev_tenths=30)
        m.invariants_hold()
        # the attacker holds settled shares of pool 0 and has a deposit pending in pool 1; the LP a redemption
        m.lp_request_deposit(actor=1, market=0, amount=50_000)
        m.invariants_hold()
        m.price_step(market=0, bp=-50)
        m.invariants_hold()
        m.lp_settle(pick=0, caller=2)
        m.invariants_hold()
        m.lp_request_deposit(actor=1, market=1, amount=20_000)
        m.invariants_hold()
        m.lp_request_redeem(actor=0, market=0, bp=1_000)
        m.invariants_hold()
        snap = m.read()
    finally:
        m.teardown()
    assert len(snap.vaults) == 2
    assert snap.markets[0].lps[1].shares > 0 and snap.markets[1].lps[1].deposit_assets == 20_000 * 10**6
    assert snap.markets[0].lps[0].redeem_shares > 0 and snap.markets[0].escrowed == snap.markets[0].lps[0].redeem_shares
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
    # a pending deposit the pool forgot (or counted into the LPs' liquidity as well)
    m1 = snap.markets[1]
    assert m1.pending_deposits > 0
    for forgot in (dataclasses.replace(m1, pending_deposits=0), dataclasses.replace(m1, liquidity=m1.liquidity + 1)):
        with pytest.raises(InvariantViolation, match="conservation"):
            check_conservation(dataclasses.replace(snap, markets=[snap.markets[0], forgot]), ghost)


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
    with pytest.raises(InvariantViolation, match="pendingDeposits"):
        check_sums(dataclasses.replace(snap, markets=[m0, dataclasses.replace(
            snap.markets[1], pending_deposits=snap.markets[1].pending_deposits + 1)]))
    with pytest.raises(InvariantViolation, match="escrows"):
        check_sums(dataclasses.replace(snap, markets=[dataclasses.replace(m0, escrowed=m0.escrowed - 1),
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
    for broken in (dataclasses.replace(m0, free_liquidity=m0.liquidity - m0.reserved + 1),  # redeemable reserve
                   dataclasses.replace(m0, reserved=m0.liquidity + 1),  # reserve above the liquidity
                   dataclasses.replace(m0, total_assets=m0.liquidity - m0.reserved - 1)):  # mark below it
        with pytest.raises(InvariantViolation, match="solvency"):
            check_solvency(dataclasses.replace(snap, markets=[broken, *snap.markets[1:]]))


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


def test_fast_snapshot_decoder_agrees_with_eth_abi(machine):
    """The reader's hand-written decoder gives what eth_abi gives, on a read with every kind of field:
    LP rows, a pending request, probe errors (a healthy vault's HealthyPosition) and a liquidatable vault."""
    from eth_abi import decode

    from ringfence.fuzz.reader import READ, decode_snapshot

    m = machine()
    try:
        m.open(trader=0, market=0, nonce=0, is_long=True, size_centi=100, lev_tenths=80)
        m.open(trader=1, market=0, nonce=1, is_long=False, size_centi=100, lev_tenths=20)
        m.open(trader=2, market=1, nonce=0, is_long=False, size_centi=50, lev_tenths=20)
        m.lp_request_deposit(actor=1, market=1, amount=1_000)
        m.price_jump(market=0, bp=-1000)
        r = machine.world.reader
        for probe in (True, False):
            data = READ((r.token, r.lens, r.liquidator, r.lps, probe, r.holders, r.pools, m._vault_lists()))
            raw = r.node.call(r.address, data)
            fast = decode_snapshot(raw)
            assert fast == decode(READ.returns, raw)[0]
        assert any(row[-1] for rows in fast[3] for row in rows) is False  # no probe: no errors
        raw = r.node.call(r.address, READ((r.token, r.lens, r.liquidator, r.lps, True, r.holders, r.pools,
                                           m._vault_lists())))
        assert any(row[-1] for rows in decode_snapshot(raw)[3] for row in rows)  # the healthy ones' errors
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


# ---------------------------------------------------------------- canaries: LP accounting (L1-L5)


def _with_market(snap, i, **changes):
    markets = list(snap.markets)
    markets[i] = dataclasses.replace(markets[i], **changes)
    return dataclasses.replace(snap, markets=markets)


def test_canary_marking_catches_a_mark_off_the_model(clean):
    """L1: the real snapshot's marks are the model's; one unit more in a pool's totalAssets, or a fee base
    off by one in a vault (the pool's fee weight then differs from the positions'), fails."""
    snap, _, m = clean
    scales, rates = m.world.scales, [p.borrow_rate_wad for p in m.params]
    check_marking(snap, scales, rates)
    assert all(mk.total_assets is not None for mk in snap.markets)
    with pytest.raises(InvariantViolation, match="marking"):
        check_marking(_with_market(snap, 0, total_assets=snap.markets[0].total_assets + 1), scales, rates)
    vault, row = next((v, r) for v, r in snap.vaults.items() if r.status == 1)
    # a fee base one unit lower is weight entry_notional lower: at least one unit of fees in the mark
    shifted = dataclasses.replace(row, fee_base_wad=row.fee_base_wad - 10**18 // max(row.entry_notional, 1) - 1)
    with pytest.raises(InvariantViolation, match="marking"):
        check_marking(dataclasses.replace(snap, vaults={**snap.vaults, vault: shifted}), scales, rates)
    with pytest.raises(InvariantViolation, match="marking"):  # a price without a mark
        check_marking(_with_market(snap, 1, total_assets=None), scales, rates)


def test_canary_quotes_and_worse_of_catch_a_generous_settlement():
    """L2 and L3 on hand-made numbers: a quote one share above the conversion fails; a deposit settled at
    its quote when the settlement's mark buys fewer shares fails (worse-of), and so does a redemption paid
    its quote when the shares are worth less; a settlement below the worse of the two fails too."""
    supply, assets = 10**18, 1_000_000 * 10**6
    fair = model.convert_to_shares(5_000 * 10**6, assets, supply)
    check_quote(Quote(True, 5_000 * 10**6, fair, assets, supply))
    with pytest.raises(InvariantViolation, match="quote"):
        check_quote(Quote(True, 5_000 * 10**6, fair + 1, assets, supply))
    # the pool's mark rose 1 % between request and settlement (the LPs gained): the quote is the larger
    later = assets * 101 // 100
    deposit = Settlement(True, 5_000 * 10**6, fair, model.convert_to_shares(5_000 * 10**6, later, supply), later, supply)
    check_worse_of(deposit)
    with pytest.raises(InvariantViolation, match="worse-of"):
        check_worse_of(dataclasses.replace(deposit, result=fair))  # the old instant price: the skim
    with pytest.raises(InvariantViolation, match="settlement"):
        check_worse_of(dataclasses.replace(deposit, result=deposit.result - 1))
    # a redemption quoted before a 1 % loss: it bears the loss
    worth = model.convert_to_assets(10**15, assets, supply)
    redeem = Settlement(False, 10**15, worth, model.convert_to_assets(10**15, assets * 99 // 100, supply),
                        assets * 99 // 100, supply)
    check_worse_of(redeem)
    with pytest.raises(InvariantViolation, match="worse-of"):
        check_worse_of(dataclasses.replace(redeem, result=worth))


def test_canary_neutrality_catches_a_realization_that_moves_the_mark(machine):
    """L4 on a real close and a real margin removal: the mark's change computed from the snapshots before
    and after passes; one unit more on the close's side of the bound (a pool that counted a trader's
    profit twice, say) fails, and any change at all after a margin removal fails."""
    m = machine()
    try:
        m.open(trader=0, market=0, nonce=0, is_long=True, size_centi=300, lev_tenths=50)
        m.open(trader=1, market=0, nonce=0, is_long=False, size_centi=100, lev_tenths=50)
        m.invariants_hold()
        m.time_passes(seconds=2_000)
        m.invariants_hold()
        m.price_step(market=0, bp=150)
        m.invariants_hold()
        pre = m.read()
        m.close(pick=0)
        post = m.read()
        m.invariants_hold()
        scale, p = machine.world.scales[0], m.params[0]
        change = mark_change("close", pre, post, 0, scale, p.borrow_rate_wad, close_fee_wad=p.close_fee_wad)
        assert change is not None and change.realized > 0  # the close fee
        check_neutrality(change)
        assert change.low < change.residue < change.high and change.high - change.low < 10
        worse = dataclasses.replace(change, after=change.after + int(change.high - change.residue) + 1)
        with pytest.raises(InvariantViolation, match="neutrality"):
            check_neutrality(worse)
        pre = m.read()
        m.remove_margin(pick=1, amount=1, stranger=1)
        post = m.read()
        change = mark_change("remove margin", pre, post, 0, scale, p.borrow_rate_wad)
        check_neutrality(change)
        assert change.low == change.high == 0
        with pytest.raises(InvariantViolation, match="neutrality"):
            check_neutrality(dataclasses.replace(change, after=change.after + 1))
    finally:
        m.teardown()


def _one_pool(balance: int, total_assets: int, supply: int, shares: int, pending: int = 0) -> Snapshot:
    row = LpRow(shares, pending, 0, 0, 0, 0, 0)
    market = MarketRow(balance=0, liquidity=total_assets, total_claimable=0, reserved=0,
                       open_interest=((0, 0), (0, 0)), free_liquidity=total_assets, total_supply=supply,
                       total_assets=total_assets, price=1, lps=(row,))
    return Snapshot({"0xattacker": balance}, {}, [market])


def test_canary_lp_net_catches_the_lp_skim_of_the_realized_only_design():
    """L5 fed the LP skim (R2) as a realized-only share price would have let it run, the pool's marks
    from the model: a pool of 1,000,000 whose traders owe it 50,000 unrealized (marked 1,050,000); the
    attacker deposits 1,000,000 instantly at the realized price (1,000,000 / 10**18 shares), a close
    realizes the 50,000, the attacker redeems at once. It walks away with ~25,000 of the existing LPs'
    50,000; the ledger flags it as soon as the deposit's shares are worth more than they cost at the
    mark. The same moves at the worse-of settlement price pass."""
    usdc, supply, liquidity, owed = 10**6, 10**18, 1_000_000 * 10**6, 50_000 * 10**6
    a = 1_000_000 * usdc
    ledger = LpLedger("0xattacker", 0)
    ledger.observe(_one_pool(a, liquidity + owed, supply, 0))
    check_lp_net(ledger, _one_pool(a, liquidity + owed, supply, 0))
    # old design: shares at the realized-only price (the liquidity), the mark counts the traders' debt
    s_old = model.convert_to_shares(a, liquidity, supply)
    after_deposit = _one_pool(0, liquidity + owed + a, supply + s_old, s_old)
    ledger_old = dataclasses.replace(ledger, price=dict(ledger.price), shares=dict(ledger.shares))
    ledger_old.observe(after_deposit)
    with pytest.raises(InvariantViolation, match="lp-net"):
        check_lp_net(ledger_old, after_deposit)
    # and the round trip's profit, once redeemed at the realized price after the close
    paid = model.convert_to_assets(s_old, liquidity + owed + a, supply + s_old)
    assert paid - a > 24_000 * usdc
    # new design: the deposit is settled at the worse of its quote and the settlement's mark
    s_new = model.settle_deposit_shares(a, model.convert_to_shares(a, liquidity + owed, supply), liquidity + owed, supply)
    after = _one_pool(0, liquidity + owed + a, supply + s_new, s_new)
    ledger.observe(after)
    check_lp_net(ledger, after)
    # the close realizes the debt: the mark does not move; a redemption at the mark pays at most the cost
    paid = model.convert_to_assets(s_new, liquidity + owed + a, supply + s_new)
    assert paid <= a
    gone = _one_pool(paid, liquidity + owed + a - paid, supply, 0)
    ledger.observe(gone)
    check_lp_net(ledger, gone)
    assert ledger.wealth(gone) <= ledger.bound


def test_canary_lp_net_catches_a_unit_from_nowhere(clean):
    """L5 on the real state: the LP actors' ledgers pass; one token more in the attacker's balance, or one
    share more than it settled, fails."""
    snap, _, m = clean
    ledger = LpLedger(m.world.attacker, 1)
    ledger.observe(snap)
    check_lp_net(ledger, snap)
    richer = dataclasses.replace(snap, holder_balances={**snap.holder_balances,
                                                        m.world.attacker: snap.holder_balances[m.world.attacker] + 1})
    with pytest.raises(InvariantViolation, match="lp-net"):
        check_lp_net(ledger, richer)
    row = snap.markets[0].lps[1]
    more = _with_market(snap, 0, lps=(snap.markets[0].lps[0], dataclasses.replace(row, shares=row.shares + 10**6)))
    ledger.observe(more)  # the extra shares appear without any price change: nothing earned them
    with pytest.raises(InvariantViolation, match="lp-net"):
        check_lp_net(ledger, more)


def test_lp_requests_settle_after_a_round_at_the_worse_of_and_the_attacker_is_bounded(machine):
    """The machine's LP paths, directed: a request cannot be settled before an oracle round (refused by
    name), can after it; the quote, the worse-of and the mark's moves are checked at every step; the
    attacker liquidates for keeper pay (counted in its bound); a machine that misses rounds (its round
    counter does not move) is caught by the settlement-liveness check."""
    m = machine()
    try:
        Stats.reset()
        m.invariants_hold()
        m.open(trader=0, market=0, nonce=0, is_long=True, size_centi=2, lev_tenths=30)
        m.invariants_hold()
        m.lp_request_deposit(actor=1, market=0, amount=100_000)
        m.invariants_hold()
        m.lp_request_redeem(actor=0, market=0, bp=2_500)
        m.invariants_hold()
        m.lp_settle(pick=0, caller=0)  # the LP's redemption (the first pending): no round yet
        m.invariants_hold()
        assert Stats.errors == {"RequestNotReady": 1}
        m.price_to_liquidation(pick=0, beyond_bp=0)  # a round: the LPs gain on the long's loss
        m.invariants_hold()
        m.lp_settle(pick=1, caller=2)  # pending: (0, LP, redeem), (0, attacker, deposit): the attacker's
        m.invariants_hold()
        m.lp_settle(pick=0, caller=1)  # the LP's redemption
        m.invariants_hold()
        m.attacker_liquidates(pick=0, batch=False)
        m.invariants_hold()
        assert m.last_rows[next(iter(m.vaults))].status == 2
        assert m.ledgers[1].keeper_pay > 0 and m.last_snap.markets[0].lps[1].shares > 0
        assert Stats.succeeded["lp_settle_deposit"] == 1 and Stats.succeeded["lp_settle_redeem"] == 1
        assert set(Stats.errors) == {"RequestNotReady"}
        for ledger in m.ledgers:
            assert ledger.wealth(m.last_snap) <= ledger.bound
        # the liveness check's canary: a round the machine does not count
        m.lp_request_deposit(actor=1, market=1, amount=1_000)
        m.invariants_hold()
        m.rounds[1] -= 1
        m.price_step(market=1, bp=10)  # counted back to the request's count: "no round since"
        with pytest.raises(InvariantViolation, match="settle-liveness"):
            m.lp_settle(pick=0, caller=2)
    finally:
        m.teardown()


def test_sync_erc4626_paths_are_refused_by_name(machine):
    m = machine()
    try:
        Stats.reset()
        m.lp_sync_paths(actor=0, market=0, amount=10)
        m.lp_sync_paths(actor=1, market=1, amount=100_000)
        assert Stats.actions == {"lp_sync_paths": 2} and not Stats.errors
        m.invariants_hold()
    finally:
        m.teardown()


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
    ("lp_request_redeem", {"actor": 0, "market": 1, "bp": 500}),
    ("lp_request_deposit", {"actor": 1, "market": 0, "amount": 5_000}),
    ("time_passes", {"seconds": 77}),
    ("lp_settle", {"pick": 0, "caller": 2}),
    ("lp_settle", {"pick": 0, "caller": 1}),
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
    assert steps and steps[-1][0] in {"open", "open_overcollateralised", "add_margin", "donate"}, steps
    path = write_regression(steps, caught.value, seed=1, directory=tmp_path / "regressions")
    spec = importlib.util.spec_from_file_location("saved_regression", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.STEPS == steps
    with pytest.raises(InvariantViolation, match="isolation"):
        module.test_replay(Forgetful, None)
    module.test_replay(machine, None)
