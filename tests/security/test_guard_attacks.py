"""Attacks on the MarginGuard (docs/guard.md): an executor cannot top up a healthy vault, take more than
the fee or send the margin anywhere but the vault; reserves pay only their owner's earmarked vaults;
top-up and liquidation race in one transaction in both orders; re-entry through a token hook and
fee-on-transfer tokens are refused; unlimited capital cannot profit from top-ups."""

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
    vault = open_vault()
    guard.set_policy(alice, vault, policy())
    guard.approve_wallet(alice, usdc, 10_000 * USDC)
    with reverts("VaultHealthy", vault=vault):
        guard.top_up(keeper, vault)
    with reverts("OnlySelf"):
        attacker.callTopUpFor(vault, sender=keeper)


def test_a_policy_set_by_someone_else_never_acts(guard, open_vault, mallory, keeper, set_price, usdc, alice):
    vault = open_vault()
    guard.set_policy(mallory, vault, policy(fee=50 * USDC))
    guard.approve_wallet(mallory, usdc, 10_000 * USDC)
    set_price(2780)
    with reverts("NoPolicy", owner=alice.address, vault=vault):
        guard.top_up(keeper, vault)


def test_only_the_guards_factory_pools(owner, guard, open_vault, alice, keeper, set_price, usdc):
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


# ---------------------------------------------------------------- reserves


def test_reserve_pays_its_earmarked_vaults_only(guard, market, open_vault, alice, keeper, set_price, usdc):
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


def test_reserve_in_another_token_refused(project, owner, guard, open_vault, alice, keeper, set_price):
    other = owner.deploy(project.MockERC20, "Other", "OTH", 6)
    vault = open_vault()
    rid = guard.open_reserve(alice, other, [vault])
    other.mint(alice, 1_000 * USDC, sender=owner)
    guard.deposit_reserve(alice, rid, 1_000 * USDC)
    guard.set_policy(alice, vault, policy(reserve_id=rid))
    set_price(2780)
    with reverts("ReserveTokenMismatch", reserveId=rid, token=other.address):
        guard.top_up(keeper, vault)


# ---------------------------------------------------------------- races and capital


@pytest.mark.parametrize("top_up_first", [True, False])
def test_top_up_and_liquidation_race_in_one_transaction(guard, market, open_vault, alice, keeper, set_price,
                                                        usdc, attacker, top_up_first):
    """Top-up first: the vault is saved and the liquidation refused. Liquidation first: the liquidation
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


def test_reentry_through_a_token_hook_refused(project, owner, protocol, guard, lp, alice, hostile_oracle,
                                              attacker, keeper):
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
    margin = market.position(vault).margin
    with reverts("ReentrancyGuardReentrantCall"):
        attacker.topUp(vault, sender=keeper)
    assert market.position(vault).margin == margin


def test_fee_on_transfer_token_refused_by_name(project, owner, guard, alice, open_vault):
    token = owner.deploy(project.FeeOnTransferToken)
    rid = guard.open_reserve(alice, token, [open_vault()])
    token.mint(alice, 1_000 * USDC, sender=owner)
    with reverts("TransferAmountMismatch", expected=1_000 * USDC, received=990 * USDC):
        guard.deposit_reserve(alice, rid, 1_000 * USDC)


def test_reserve_amounts_zero_and_beyond_uint96_refused_by_name(guard, open_vault, alice, owner, usdc):
    """A reserve's deposit and withdrawal of 0 are refused (ZeroAmount); its balance is a uint96: a
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
