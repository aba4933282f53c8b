"""Attacks on the MarginGuard (docs/guard.md; docs/security-checklist.md G1-G8): an executor cannot top up
a healthy vault (G1), take more than the fee (G2) or send the margin anywhere but the vault (G3); reserves
pay only their owner's earmarked vaults (G3); a revoked allowance or an emptied reserve fails closed (G4);
a changed or cancelled policy acts at once (G5); top-up and liquidation race in one transaction in both
orders (G6); re-entry through a token hook (G7) and fee-on-transfer tokens (G8) are refused; unlimited
capital cannot profit from top-ups (G2)."""

from __future__ import annotations

import pytest

from ringfence.sdk import Guard, GuardPolicy, MarketParams, deploy_oracle
from tests.conftest import ETH, USDC, deploy_factory, feed_answer, reverts

WAD = 10**18


@pytest.fixture(scope="module")
def guard(owner, protocol) -> Guard:
    return Guard.deploy(owner, protocol.factory)


def policy(**kw) -> GuardPolicy:
    values = {"trigger_health_wad": 13 * WAD // 10, "target_health_wad": 15 * WAD // 10,
              "max_per_top_up": 500 * USDC, "budget": 2_000 * USDC, "fee": 2 * USDC}
    values.update(kw)
    return GuardPolicy(**values)


@pytest.fixture
def attacker(owner, project, guard, protocol, usdc):
    contract = owner.deploy(project.GuardAttacker, guard.address, protocol.liquidator)
    usdc.mint(contract, 10_000_000 * USDC, sender=owner)  # unlimited capital, as with a flash loan
    return contract


def test_executor_gets_the_fee_only_and_margin_goes_to_the_vault(guard, market, open_vault, alice, bob,
                                                                 keeper, set_price, usdc):
    """G2, G3: the executor is paid the policy's fee and nothing more; the margin goes into the named vault
    only, through the pool (payer: the guard); no other vault moves and the guard keeps nothing."""
    vault = open_vault()
    other = open_vault(bob, margin=500 * USDC)
    guard.set_policy(alice, vault, policy())
    guard.approve_wallet(alice, usdc, 10_000 * USDC)
    set_price(2780)
    other_margin = market.position(other).margin
    before = int(usdc.balanceOf(keeper))
    receipt = guard.contract.topUp(vault, sender=keeper)
    added = receipt.decode_logs(market.pool.MarginAdded)
    assert [(e.vault, e.payer) for e in added] == [(vault, guard.address)]
    assert int(usdc.balanceOf(keeper)) - before == 2 * USDC
    assert market.position(other).margin == other_margin  # no other vault moved
    assert int(usdc.balanceOf(guard.address)) == 0  # nothing stuck in the guard


def test_healthy_vault_and_direct_internal_entry_refused(guard, open_vault, alice, keeper, attacker, usdc):
    """G1: a vault at or above its trigger is refused (VaultHealthy), and the batch's internal entry cannot
    be called from outside (OnlySelf)."""
    vault = open_vault()
    guard.set_policy(alice, vault, policy())
    guard.approve_wallet(alice, usdc, 10_000 * USDC)
    with reverts("VaultHealthy", vault=vault):
        guard.top_up(keeper, vault)
    with reverts("OnlySelf"):
        attacker.callTopUpFor(vault, sender=keeper)


def test_a_policy_set_by_someone_else_never_acts(guard, open_vault, mallory, keeper, set_price, usdc, alice):
    """G3: a policy is read under the vault's owner as the pool records it; mallory's policy for alice's
    vault never acts (NoPolicy)."""
    vault = open_vault()
    guard.set_policy(mallory, vault, policy(fee=50 * USDC))
    guard.approve_wallet(mallory, usdc, 10_000 * USDC)
    set_price(2780)
    with reverts("NoPolicy", owner=alice.address, vault=vault):
        guard.top_up(keeper, vault)


def test_only_the_guards_factory_pools(owner, guard, open_vault, alice, keeper, set_price, usdc):
    """G3: a guard serves its own factory's pools only (UnknownPool)."""
    other_guard = Guard.deploy(owner, deploy_factory(owner))
    vault = open_vault()
    other_guard.set_policy(alice, vault, policy())
    guard.approve_wallet(alice, usdc, 10_000 * USDC)
    set_price(2780)
    from ringfence.abi import at
    from ringfence.chain.contracts import container

    pool = str(at(container("PositionVault"), vault).pool())
    with reverts("UnknownPool", pool=pool):
        other_guard.top_up(keeper, vault)


def test_a_contract_posing_as_a_vault_of_a_real_pool_is_refused(owner, project, guard, market, mallory, keeper,
                                                                usdc, set_price, open_vault):
    """G3: a contract that answers ``pool()`` with one of the factory's pools but holds no position there
    is refused (PositionNotOpen) whatever policy its deployer set for it; nothing moves."""
    fake = owner.deploy(project.Attacker, market.pool)
    assert str(fake.pool()) == str(market.pool.address)
    open_vault()
    guard.set_policy(mallory, fake.address, policy())
    guard.approve_wallet(mallory, usdc, 10_000 * USDC)
    set_price(2780)
    before = {a: int(usdc.balanceOf(a)) for a in (mallory.address, keeper.address, guard.address, fake.address)}
    with reverts("PositionNotOpen", vault=fake.address):
        guard.top_up(keeper, fake.address)
    done, _ = guard.top_up_batch(keeper, [fake.address])
    assert done == 0
    assert {a: int(usdc.balanceOf(a)) for a in before} == before


# ---------------------------------------------------------------- reserves


def test_reserve_pays_its_earmarked_vaults_only(guard, market, open_vault, alice, keeper, set_price, usdc):
    """G3: a reserve pays only the vaults earmarked to it, and stops at once when one is taken off."""
    a, b, c = (open_vault(nonce=n) for n in range(3))
    rid = guard.open_reserve(alice, usdc, [a, b])
    guard.deposit_reserve(alice, rid, 1_000 * USDC)
    for v in (a, b, c):
        guard.set_policy(alice, v, policy(reserve_id=rid))
    set_price(2780)
    wallet = int(usdc.balanceOf(alice))
    paid = [guard.top_up(keeper, v) for v in (a, b)]
    assert guard.reserve(rid).balance == 1_000 * USDC - sum(t.amount + t.fee for t in paid)
    assert int(usdc.balanceOf(alice)) == wallet  # the wallet was not touched
    with reverts("ReserveNotEarmarked", reserveId=rid, vault=c):
        guard.top_up(keeper, c)
    guard.earmark(alice, rid, [a], False)
    set_price(2700)
    with reverts("ReserveNotEarmarked", reserveId=rid, vault=a):
        guard.top_up(keeper, a)


def test_one_owners_reserve_never_pays_another_owners_vault(guard, market, open_vault, alice, bob, keeper,
                                                            set_price, usdc):
    """G3: alice's reserve, even earmarked to bob's vault, never pays it; bob cannot withdraw or earmark it."""
    bobs = open_vault(bob)
    rid = guard.open_reserve(alice, usdc, [bobs])  # alice earmarks bob's vault to her reserve
    guard.deposit_reserve(alice, rid, 1_000 * USDC)
    guard.set_policy(bob, bobs, policy(reserve_id=rid))
    set_price(2780)
    with reverts("NotReserveOwner", reserveId=rid, caller=bob.address):
        guard.top_up(keeper, bobs)
    with reverts("NotReserveOwner", reserveId=rid, caller=bob.address):
        guard.withdraw_reserve(bob, rid, 1)
    with reverts("NotReserveOwner", reserveId=rid, caller=bob.address):
        guard.earmark(bob, rid, [bobs])
    assert guard.reserve(rid).balance == 1_000 * USDC


def test_emptied_reserve_fails_closed_and_withdrawal_is_any_time(guard, open_vault, alice, keeper, set_price,
                                                                 usdc):
    """G4: the owner may empty a reserve at any time; a top-up from it then fails closed (ReserveTooLow)."""
    vault = open_vault()
    rid = guard.open_reserve(alice, usdc, [vault])
    guard.deposit_reserve(alice, rid, 100 * USDC)
    guard.set_policy(alice, vault, policy(reserve_id=rid))
    wallet = int(usdc.balanceOf(alice))
    guard.withdraw_reserve(alice, rid, 100 * USDC)
    assert int(usdc.balanceOf(alice)) == wallet + 100 * USDC and guard.reserve(rid).balance == 0
    set_price(2780)
    with reverts("ReserveTooLow", reserveId=rid, balance=0):
        guard.top_up(keeper, vault)
    with reverts("ReserveTooLow", reserveId=rid, balance=0, needed=1):
        guard.withdraw_reserve(alice, rid, 1)


def test_revoked_allowance_fails_closed_without_falling_back_to_a_reserve(guard, market, open_vault, alice,
                                                                          keeper, set_price, usdc):
    """G4: a wallet policy whose allowance was revoked fails closed (AllowanceTooLow) even though the owner
    has a funded reserve earmarked to the same vault: no other source pays, nothing moves; the owner's
    switch to the reserve is what makes it pay."""
    vault = open_vault()
    rid = guard.open_reserve(alice, usdc, [vault])
    guard.deposit_reserve(alice, rid, 1_000 * USDC)
    guard.set_policy(alice, vault, policy())
    guard.approve_wallet(alice, usdc, 10_000 * USDC)
    guard.approve_wallet(alice, usdc, 0)  # revoked
    set_price(2780)
    margin, wallet = market.position(vault).margin, int(usdc.balanceOf(alice))
    with reverts("AllowanceTooLow", owner=alice.address, allowance=0):
        guard.top_up(keeper, vault)
    done, _ = guard.top_up_batch(keeper, [vault])
    assert done == 0
    assert market.position(vault).margin == margin and int(usdc.balanceOf(alice)) == wallet
    assert guard.reserve(rid).balance == 1_000 * USDC
    guard.set_policy(alice, vault, policy(reserve_id=rid))
    paid = guard.top_up(keeper, vault)
    assert guard.reserve(rid).balance == 1_000 * USDC - paid.amount - paid.fee
    assert int(usdc.balanceOf(alice)) == wallet


def test_reserve_in_another_token_refused(project, owner, guard, open_vault, alice, keeper, set_price):
    """G3: a reserve in another token than the pool's never pays (ReserveTokenMismatch)."""
    other = owner.deploy(project.MockERC20, "Other", "OTH", 6)
    vault = open_vault()
    rid = guard.open_reserve(alice, other, [vault])
    other.mint(alice, 1_000 * USDC, sender=owner)
    guard.deposit_reserve(alice, rid, 1_000 * USDC)
    guard.set_policy(alice, vault, policy(reserve_id=rid))
    set_price(2780)
    with reverts("ReserveTokenMismatch", reserveId=rid, token=other.address):
        guard.top_up(keeper, vault)


# ---------------------------------------------------------------- policy changes


def test_changed_or_cancelled_policy_takes_effect_at_once(guard, market, open_vault, alice, keeper, set_price,
                                                          usdc):
    """G5: each change acts from the very next transaction. A trigger lowered below the vault's health makes
    the next top-up refused with the new trigger; a raised fee is the next top-up's fee; a cancelled
    policy is refused by name at once, alone or in a batch."""
    a, b = open_vault(nonce=0), open_vault(nonce=1)
    for v in (a, b):
        guard.set_policy(alice, v, policy())
    guard.approve_wallet(alice, usdc, 10_000 * USDC)
    set_price(2780)
    health = int(market.vault(a).health())
    assert health < policy().trigger_health_wad
    lower = health * 99 // 100  # 1 % under: a few seconds of borrow fee move health far less
    guard.set_policy(alice, a, policy(trigger_health_wad=lower))
    with reverts("VaultHealthy", vault=a, trigger=lower):
        guard.top_up(keeper, a)
    guard.set_policy(alice, a, policy(fee=5 * USDC))
    before = int(usdc.balanceOf(keeper))
    assert guard.top_up(keeper, a).fee == 5 * USDC
    assert int(usdc.balanceOf(keeper)) - before == 5 * USDC
    guard.cancel_policy(alice, b)
    with reverts("NoPolicy", owner=alice.address, vault=b):
        guard.top_up(keeper, b)
    margin = market.position(b).margin
    assert guard.top_up_batch(keeper, [b])[0] == 0 and market.position(b).margin == margin


# ---------------------------------------------------------------- races and capital


@pytest.mark.parametrize("top_up_first", [True, False])
def test_top_up_and_liquidation_race_in_one_transaction(guard, market, open_vault, alice, keeper, set_price,
                                                        usdc, attacker, top_up_first):
    """G6: a top-up and a liquidation of the same vault in one transaction (so one block), in both orders.
    Top-up first: the vault is saved and the liquidation refused. Liquidation first: the liquidation
    leaves the vault healthy (or closed) and the top-up is refused; nothing is paid twice, the guard holds
    nothing."""
    vault = open_vault()
    guard.set_policy(alice, vault, policy())
    guard.approve_wallet(alice, usdc, 10_000 * USDC)
    set_price(2735)  # liquidatable
    assert market.vault(vault).isLiquidatable()
    attacker.race(vault, top_up_first, sender=keeper)
    if top_up_first:
        assert attacker.toppedUp() and not attacker.liquidated()
        assert not market.vault(vault).isLiquidatable()
    else:  # a partial liquidation restores health T/MM = 1.5, above the trigger: the top-up is refused
        assert attacker.liquidated() and not attacker.toppedUp()
        assert not market.position(vault).is_open or int(market.vault(vault).health()) >= WAD * 13 // 10
    assert int(usdc.balanceOf(guard.address)) == 0


def test_unlimited_capital_earns_exactly_one_fee(guard, market, open_vault, alice, set_price, usdc, attacker,
                                                 keeper):
    """G2: five top-ups of one vault in one transaction, with unlimited capital at hand, pay one fee: the
    first restores health above the trigger and the others are refused."""
    vault = open_vault()
    guard.set_policy(alice, vault, policy())
    guard.approve_wallet(alice, usdc, 10_000 * USDC)
    set_price(2780)
    before = int(usdc.balanceOf(attacker))
    attacker.repeatTopUps(vault, 5, usdc, sender=keeper)
    assert attacker.topUps() == 1
    assert int(usdc.balanceOf(attacker)) - before == 2 * USDC


# ---------------------------------------------------------------- hostile tokens


@pytest.fixture
def hostile_oracle(owner, project):
    feed = owner.deploy(project.MockAggregator, 8, feed_answer(3000))
    return feed, deploy_oracle(owner, feed, max_age=3600)


def hook_armed_vault(project, owner, protocol, guard, lp, alice, hostile_oracle, attacker):
    """A market in a hook token with LP liquidity; alice's long under a wallet policy, below its trigger at
    2,780, and the attacker hooked to re-enter the guard for that vault on the token's next transfer.
    Returns (token, market, vault)."""
    token = owner.deploy(project.HookToken)
    feed, oracle = hostile_oracle
    market = protocol.create_market(owner, asset=token, oracle=oracle, params=MarketParams.default(6),
                                    name="h", symbol="h")
    token.mint(lp, 1_000_000 * USDC, sender=owner)
    token.approve(market.pool, 2**256 - 1, sender=lp)
    market.pool.deposit(1_000_000 * USDC, lp, sender=lp)
    token.mint(alice, 100_000 * USDC, sender=owner)
    vault = market.open(alice, is_long=True, size=ETH, margin=400 * USDC)
    guard.set_policy(alice, vault, policy())
    guard.approve_wallet(alice, token, 10_000 * USDC)
    feed.setAnswer(feed_answer(2780), sender=owner)
    token.setHook(attacker, sender=owner)
    attacker.armReentry(vault, sender=owner)
    return token, market, vault


def test_reentry_through_a_token_hook_refused(project, owner, protocol, guard, lp, alice, hostile_oracle,
                                              attacker, keeper):
    """G7: re-entering topUp from a token hook during a top-up fails (ReentrancyGuardReentrantCall) and
    nothing moves."""
    _, market, vault = hook_armed_vault(project, owner, protocol, guard, lp, alice, hostile_oracle, attacker)
    margin = market.position(vault).margin
    with reverts("ReentrancyGuardReentrantCall"):
        attacker.topUp(vault, sender=keeper)
    assert market.position(vault).margin == margin


def test_reentry_through_a_token_hook_in_a_batch_skips_the_vault(project, owner, protocol, guard, lp, alice,
                                                                 hostile_oracle, attacker, keeper):
    """G7: the same re-entry inside topUpBatch fails in that vault's top-up, which the batch skips: the
    vault, the owner and the guard are untouched and the executor is paid nothing."""
    token, market, vault = hook_armed_vault(project, owner, protocol, guard, lp, alice, hostile_oracle, attacker)
    before = {a: int(token.balanceOf(a)) for a in (alice.address, keeper.address, guard.address, vault)}
    margin = market.position(vault).margin
    done, tops = guard.top_up_batch(keeper, [vault])
    assert done == 0 and tops == []
    assert market.position(vault).margin == margin
    assert {a: int(token.balanceOf(a)) for a in before} == before


def test_fee_on_transfer_token_refused_by_name(project, owner, guard, alice, open_vault):
    """G8: a fee-on-transfer token cannot fund a reserve (TransferAmountMismatch, by balance delta): nothing
    is credited and the guard holds nothing. (A market in such a token cannot exist: the pool refuses it,
    security-checklist T1.)"""
    token = owner.deploy(project.FeeOnTransferToken)
    rid = guard.open_reserve(alice, token, [open_vault()])
    token.mint(alice, 1_000 * USDC, sender=owner)
    with reverts("TransferAmountMismatch", expected=1_000 * USDC, received=990 * USDC):
        guard.deposit_reserve(alice, rid, 1_000 * USDC)
    assert guard.reserve(rid).balance == 0 and int(token.balanceOf(guard.address)) == 0
    assert int(token.balanceOf(alice)) == 1_000 * USDC


def test_reserve_amounts_zero_and_beyond_uint96_refused_by_name(guard, open_vault, alice, owner, usdc):
    """A4 (guard): a reserve's deposit and withdrawal of 0 are refused (ZeroAmount); its balance is a uint96: a
    deposit that would take it past 2**96 - 1 is refused (AmountTooLarge), up to it is accepted."""
    rid = guard.open_reserve(alice, usdc, [open_vault()])
    with reverts("ZeroAmount"):
        guard.deposit_reserve(alice, rid, 0)
    with reverts("ZeroAmount"):
        guard.withdraw_reserve(alice, rid, 0)
    top = 2**96 - 1
    usdc.mint(alice, top + 1, sender=owner)
    usdc.approve(guard.address, top + 1, sender=alice)
    guard.deposit_reserve(alice, rid, top - 5, approve=False)
    with reverts("AmountTooLarge", amount=top + 1):
        guard.deposit_reserve(alice, rid, 6, approve=False)
    guard.deposit_reserve(alice, rid, 5, approve=False)  # exactly 2**96 - 1: accepted
    assert guard.reserve(rid).balance == top
    guard.withdraw_reserve(alice, rid, top)
    assert guard.reserve(rid).balance == 0
    usdc.approve(guard.address, 0, sender=alice)
