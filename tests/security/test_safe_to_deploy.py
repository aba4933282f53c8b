"""Replays of known attacks, each shown not to pay any more (docs/security-checklist.md and
tests/PROPERTIES.md R1 LP freeze, R3 keeper-bonus farming, R8 stuck tokens): the same transactions
with the same numbers."""

from __future__ import annotations

import pytest

from ringfence import model
from ringfence.sdk import MarketParams
from tests.conftest import ETH, USDC, lp_exit, reverts

WAD = 10**18


def _cap_rule(market, vault) -> int:
    """What the cap rule allows for the position as it stands (k * min(margin, size * entry))."""
    p = market.position(vault)
    params = market.params()
    scale = int(market.pool.priceScale())
    return model.profit_cap_down(p.margin, p.size, p.entry_price_wad, scale, params.max_profit_wad)


@pytest.fixture
def attacker(owner, project, market, usdc):
    contract = owner.deploy(project.Attacker, market.pool)
    usdc.mint(contract, 200_000 * USDC, sender=owner)
    return contract


# ---------------------------------------------------------------- R1: the LP freeze


def test_flash_margin_open_then_remove_reserves_only_the_cap_of_what_stays(market, attacker, owner, lp, alice):
    """R1: a minimum position (0.02 ETH, 60 USDC notional) opened with 200,000 USDC of margin and cut back
    to 10 USDC in the same transaction reserved 1,000,000 and froze every LP. Now the reserve follows
    the margin: what stays reserved is k * min(10, 60) = 50 USDC, every LP can redeem and others open."""
    pool = market.pool
    reserved0, free0 = int(pool.reserved()), int(pool.freeLiquidity())
    attacker.openAndRemove(0, True, ETH // 50, 200_000 * USDC, 10 * USDC, sender=owner)
    vault = market.vault_address(attacker, 0)
    position = market.position(vault)
    assert position.margin == 10 * USDC
    assert position.max_profit == _cap_rule(market, vault) == 50 * USDC
    assert int(pool.reserved()) - reserved0 == 50 * USDC
    # The pool gained the open fee owed and nothing is frozen: others open, and the LP's whole free share
    # is redeemable: a request for all of it but 1 USDC (room for the borrow fee the open positions add
    # to the share price between this read and the request) settles, leaving only the reserve and that.
    assert int(pool.freeLiquidity()) == free0 - 50 * USDC
    market.open(alice, is_long=False, size=ETH, margin=400 * USDC, nonce=7)
    free = int(pool.freeLiquidity())
    assert free == free0 - 50 * USDC - 2_000 * USDC
    out = lp_exit(market, lp, int(pool.convertToShares(free - USDC)))
    assert free - USDC - 1 <= out <= free
    assert int(pool.freeLiquidity()) == free - out and int(pool.liquidity()) == int(pool.reserved()) + free - out


def test_large_margin_held_on_a_small_position_reserves_k_times_its_notional(market, attacker, owner):
    """R1 with real capital instead of a flash loan: holding 200,000 USDC on a 60 USDC position reserves
    at most k * notional (300 USDC), not k * margin (1,000,000)."""
    pool = market.pool
    reserved0 = int(pool.reserved())
    attacker.open(0, True, ETH // 50, 200_000 * USDC, sender=owner)
    vault = market.vault_address(attacker, 0)
    notional = model.notional_down(ETH // 50, market.position(vault).entry_price_wad, int(pool.priceScale()))
    assert int(pool.reserved()) - reserved0 == 5 * notional == 300 * USDC


def test_reserve_never_exceeds_the_cap_rule_through_add_remove_and_partial_liquidation(
    protocol, market, alice, keeper, set_price
):
    """R1 as a rule: after every action the position's reserved cap is at most what the cap rule allows for
    it as it stands, and the pool's reserve is the sum of the caps."""
    pool = market.pool
    vault = market.open(alice, is_long=True, size=ETH, margin=2_000 * USDC, nonce=3)
    assert market.position(vault).max_profit == _cap_rule(market, vault)
    market.add_margin(alice, vault, 1_000 * USDC)  # adding never raises the cap
    assert market.position(vault).max_profit == 5 * 2_000 * USDC
    market.remove_margin(alice, vault, 2_600 * USDC)
    assert market.position(vault).max_profit == _cap_rule(market, vault) == 5 * 400 * USDC
    set_price(market.state(vault).liquidation_price_wad / WAD - 1)
    before = int(pool.reserved())
    receipt = protocol.liquidator.liquidate(vault, sender=keeper)
    event = receipt.decode_logs(pool.Liquidated)[0]
    assert not event.full
    after = market.position(vault)
    assert after.max_profit <= _cap_rule(market, vault)
    assert before - int(pool.reserved()) == 5 * 400 * USDC - after.max_profit


# ---------------------------------------------------------------- R3: keeper-bonus farming


def _balance(market, who) -> int:
    return int(market.token().balanceOf(who))


def _fund(market, owner, usdc, amount):
    fund = market.pool.insuranceFund()
    usdc.mint(owner, amount, sender=owner)
    usdc.transfer(fund, amount, sender=owner)


@pytest.mark.parametrize("jump", [1.10, 1.12])
def test_hedged_pairs_self_liquidated_never_beat_closing(protocol, market, mallory, owner, usdc, set_price,
                                                          chain, jump):
    """R3: ten long/short pairs of 0.033 ETH with 10 USDC of margin each; one round moves the price up by
    10 % (or 12 %, a gap through the shorts' bankruptcy). Self-liquidating the shorts used to pay +7.81
    (+27.79) out of the insurance fund. Now the fund and the LPs top a keeper up to at most the floor and
    the fees the position was charged: self-liquidation nets no more than closing the same shorts plus
    that, and at +10 % the whole sequence loses money."""
    _fund(market, owner, usdc, 10_000 * USDC)
    price = 3_000
    set_price(price)
    size = 33 * ETH // 1000
    longs, shorts = [], []
    start = _balance(market, mallory)
    for i in range(10):
        longs.append(market.open(mallory, is_long=True, size=size, margin=10 * USDC, nonce=100 + i))
        shorts.append(market.open(mallory, is_long=False, size=size, margin=10 * USDC, nonce=200 + i))
    set_price(price * jump)
    snapshot = chain.snapshot()
    for vault in shorts:  # the honest alternative
        if market.position(vault).status == 1:
            market.close(mallory, vault)
    for vault in longs:
        market.close(mallory, vault)
    by_closing = _balance(market, mallory) - start
    chain.restore(snapshot)

    fees = sum(market.state(v).fees for v in shorts)
    receipt = protocol.liquidator.liquidateBatch([(market.pool.address, shorts)], sender=mallory)
    assert len(receipt.decode_logs(market.pool.Liquidated)) == 10
    for vault in shorts:
        if market.claimable(vault):
            market.claim(mallory, vault)
        if market.position(vault).status == 1:
            market.close(mallory, vault)
    for vault in longs:
        market.close(mallory, vault)
    by_liquidating = _balance(market, mallory) - start
    floor = market.params().keeper_bonus_min
    # The fees were read a few blocks before the liquidation: up to 10 units each of borrow fee since.
    assert by_liquidating - by_closing <= min(10 * floor, fees + 10 * 10)
    if jump == 1.10:
        assert by_liquidating < 0


def test_self_liquidating_a_bankrupt_vault_pays_at_most_the_floor(protocol, market, mallory, set_price, chain):
    """R3: a single bankrupt 10 ETH vault: closing pays 0; self-liquidating paid +255.30 out of the fund
    (b * N). Now the keeper's pay beyond the vault's equity is at most the floor."""
    set_price(3_000)
    vault = market.open(mallory, is_long=True, size=10 * ETH, margin=3_100 * USDC, nonce=300)
    set_price(2_600)
    assert market.state(vault).equity < 0
    start = _balance(market, mallory)
    snapshot = chain.snapshot()
    assert market.close(mallory, vault) == 0
    assert _balance(market, mallory) == start
    chain.restore(snapshot)
    receipt = protocol.liquidator.liquidate(vault, sender=mallory)
    paid = receipt.decode_logs(market.pool.KeeperPaid)
    gained = _balance(market, mallory) - start
    assert 0 <= gained <= market.params().keeper_bonus_min
    assert sum(int(e.fromFund) + int(e.fromPool) for e in paid) == gained


# ---------------------------------------------------------------- R8: tokens sent straight to a pool


def test_sweep_sends_only_the_uncounted_surplus_to_the_insurance_fund(market, usdc, owner, mallory, lp):
    """R8: tokens sent straight to a pool were stuck; anyone can now sweep exactly the surplus (the balance
    beyond LP liquidity and unclaimed credits) to the pool's insurance fund, and nothing else moves."""
    pool = market.pool
    fund = pool.insuranceFund()
    usdc.mint(owner, 1_234 * USDC, sender=owner)
    usdc.transfer(pool, 1_234 * USDC, sender=owner)
    assets, claimable, fund0 = int(pool.liquidity()), int(pool.totalClaimable()), _balance(market, fund)
    marked, share_price = int(pool.totalAssets()), int(pool.convertToAssets(10**12))
    receipt = pool.sweep(sender=mallory)
    assert receipt.decode_logs(pool.Swept)[0].amount == 1_234 * USDC
    assert _balance(market, fund) - fund0 == 1_234 * USDC
    assert (int(pool.liquidity()), int(pool.totalClaimable())) == (assets, claimable)
    assert (int(pool.totalAssets()), int(pool.convertToAssets(10**12))) == (marked, share_price)
    assert _balance(market, pool) == assets + claimable + int(pool.pendingDeposits())
    with reverts("ZeroAmount"):
        pool.sweep(sender=mallory)


def test_sweep_with_nothing_donated_reverts_and_moves_nothing(market, mallory):
    pool = market.pool
    with reverts("ZeroAmount"):
        pool.sweep(sender=mallory)


def test_market_params_default_satisfies_the_floor_rule():
    """The floor a minimum position's equity at the maintenance line can pay: (MM - q) * minNotional."""
    p = MarketParams.default(6)
    assert p.keeper_bonus_min <= (p.maintenance_margin_wad - p.liquidation_penalty_wad) * p.min_notional // WAD
