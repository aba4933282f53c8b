"""Liquidation through the Liquidator: who may, when, and what it leaves alone (L1, L5, L7, isolation).
Exact token accounting of every path is in test_liquidation_accounting.py."""

from __future__ import annotations

import pytest

from ringfence.sdk import MarketParams, deploy_oracle
from tests.conftest import ETH, USDC, apply_params, feed_answer, reverts

WAD = 10**18


def _liquidation_price_usd(market, vault) -> float:
    return market.state(vault).liquidation_price_wad / WAD


def test_liquidate_healthy_vault_reverts_with_HealthyPosition(protocol, market, open_vault, keeper):
    """L1: a healthy vault cannot be liquidated."""
    vault = open_vault()
    with reverts("HealthyPosition", vault=vault):
        protocol.liquidator.liquidate(vault, sender=keeper)


def test_liquidate_underwater_vault_pays_keeper_and_closes_it(protocol, market, open_vault, keeper, usdc,
                                                              set_price):
    vault = open_vault(margin=400 * USDC)
    set_price(_liquidation_price_usd(market, vault) - 20)
    before = int(usdc.balanceOf(keeper))
    receipt = protocol.liquidator.liquidate(vault, sender=keeper)
    event = receipt.decode_logs(market.pool.Liquidated)[0]
    assert event.keeper == keeper.address
    assert int(usdc.balanceOf(keeper)) - before == event.keeperBonus > 0
    assert not market.state(vault).liquidatable if market.position(vault).is_open else True


def test_partial_liquidation_leaves_vault_healthier(protocol, market, open_vault, keeper, set_price):
    """L2: a partial liquidation leaves the position healthier than before, and above the target."""
    vault = open_vault(size=10 * ETH, margin=4_000 * USDC)
    set_price(_liquidation_price_usd(market, vault) - 1)
    health_before = market.state(vault).health_wad
    receipt = protocol.liquidator.liquidate(vault, sender=keeper)
    event = receipt.decode_logs(market.pool.Liquidated)[0]
    assert not event.full and 0 < event.closedSize < 10 * ETH
    after = market.state(vault)
    assert after.health_wad > health_before and not after.liquidatable
    params = market.params()
    target = params.liquidation_target_wad * WAD // params.maintenance_margin_wad
    assert after.health_wad >= target - WAD // 1000  # at the target T (health in MM units), to rounding


def test_batch_skips_healthy_closed_and_unknown_vaults(protocol, market, open_vault, alice, bob, keeper,
                                                       mallory, set_price):
    """L1/L5: the batch form skips what it cannot liquidate and does the rest."""
    risky = open_vault(alice, nonce=0, margin=400 * USDC)
    safe = open_vault(alice, nonce=1, margin=2_000 * USDC)
    closed = open_vault(bob, nonce=0, margin=400 * USDC)
    market.close(bob, closed)
    set_price(_liquidation_price_usd(market, risky) - 5)
    receipt = protocol.liquidator.liquidateBatch([(market.pool, [safe, closed, risky, mallory.address])],
                                                 sender=keeper)
    done = receipt.decode_logs(market.pool.Liquidated)
    assert [e.vault for e in done] == [risky]
    assert market.position(safe).is_open


def test_second_keeper_in_a_race_loses_nothing(protocol, market, open_vault, keeper, bob, set_price, usdc):
    """L5: the keeper who comes second gets a skipped batch, not a failed one."""
    vault = open_vault(margin=400 * USDC)
    set_price(_liquidation_price_usd(market, vault) - 50)
    protocol.liquidator.liquidateBatch([(market.pool, [vault])], sender=keeper)
    before = int(usdc.balanceOf(bob))
    receipt = protocol.liquidator.liquidateBatch([(market.pool, [vault])], sender=bob)
    assert receipt.decode_logs(market.pool.Liquidated) == []
    assert int(usdc.balanceOf(bob)) == before


def test_liquidate_in_any_state_paused_empty_fund(protocol, market, guardian, open_vault, keeper, set_price):
    """L7: paused opening and an empty insurance fund do not stop a liquidation."""
    vault = open_vault(margin=400 * USDC)
    protocol.factory.setPaused(market.pool, True, sender=guardian)
    set_price(2000)  # far below bankruptcy: bad debt, empty fund
    receipt = protocol.liquidator.liquidate(vault, sender=keeper)
    event = receipt.decode_logs(market.pool.Liquidated)[0]
    assert event.full and event.badDebt > 0
    assert not market.position(vault).is_open


def test_liquidate_with_stale_price_reverts_with_StalePrice(protocol, market, open_vault, keeper, set_price,
                                                            chain):
    """O1: no liquidation on a stale price, in single or batch form."""
    vault = open_vault(margin=400 * USDC)
    set_price(2000)
    chain.mine(timestamp=chain.blocks.head.timestamp + 3700)
    with reverts("StalePrice"):
        protocol.liquidator.liquidate(vault, sender=keeper)
    with reverts("StalePrice"):
        protocol.liquidator.liquidateBatch([(market.pool, [vault])], sender=keeper)


def test_pool_liquidate_names_another_keeper_only_through_the_liquidator(market, pool, open_vault, mallory, keeper):
    vault = open_vault()
    with reverts("NotLiquidator", caller=mallory):
        pool.liquidate([vault], keeper, True, sender=mallory)
    # For oneself, the pool is callable directly, with the same checks as through the Liquidator.
    with reverts("HealthyPosition", vault=vault):
        pool.liquidate([vault], mallory, True, sender=mallory)


def test_direct_pool_liquidation_pays_the_caller(market, pool, open_vault, keeper, usdc, set_price):
    vault = open_vault(margin=400 * USDC)
    set_price(2700)
    before = usdc.balanceOf(keeper)
    receipt = pool.liquidate([vault], keeper, True, sender=keeper)
    [event] = [e for e in receipt.events if e.event_name == "Liquidated"]
    assert event.keeper == keeper.address and event.vault == vault
    [paid] = [e for e in receipt.events if e.event_name == "KeeperPaid"]
    assert usdc.balanceOf(keeper) - before == paid.fromEquity + paid.fromFund + paid.fromPool > 0
    assert pool.position(vault).size < ETH or pool.position(vault).status == 2  # partly or fully closed


def test_liquidator_rejects_unknown_pool(protocol, keeper, mallory):
    with reverts("UnknownPool", pool=mallory):
        protocol.liquidator.liquidateBatch([(mallory, [])], sender=keeper)
    with reverts("EmptyBatch"):
        protocol.liquidator.liquidateBatch([], sender=keeper)


def test_owner_claims_leftover_after_full_liquidation(protocol, market, pool, open_vault, alice, keeper, usdc,
                                                     set_price, owner, params):
    """T4: what is left of a liquidated position is credited to its owner and only they can pull it."""
    # A minimum position of 250: what a partial liquidation would leave of 300 is below it.
    apply_params(protocol, pool, params.with_(min_notional=250 * USDC), owner)
    vault = open_vault(size=ETH // 10, margin=40 * USDC)
    set_price(_liquidation_price_usd(market, vault) - 1)
    receipt = protocol.liquidator.liquidate(vault, sender=keeper)
    event = receipt.decode_logs(pool.Liquidated)[0]
    assert event.full and event.ownerCredit > 0
    assert pool.claimable(vault) == event.ownerCredit
    before = int(usdc.balanceOf(alice))
    pool.claim(vault, alice, sender=alice)
    assert int(usdc.balanceOf(alice)) == before + event.ownerCredit
    with reverts("NothingToClaim", vault=vault):
        pool.claim(vault, alice, sender=alice)


def test_reopening_a_liquidated_vault_pays_its_credit_to_the_owner_first(protocol, market, pool, open_vault, alice,
                                                                        keeper, usdc, set_price, owner, params):
    apply_params(protocol, pool, params.with_(min_notional=250 * USDC), owner)
    vault = open_vault(size=ETH // 10, margin=40 * USDC)
    set_price(_liquidation_price_usd(market, vault) - 1)
    credit = protocol.liquidator.liquidate(vault, sender=keeper).decode_logs(pool.Liquidated)[0].ownerCredit
    assert credit > 0 and pool.claimable(vault) == credit
    usdc.approve(pool, 40 * USDC, sender=alice)
    total, before = int(pool.totalClaimable()), int(usdc.balanceOf(alice))
    receipt = pool.openPosition(0, True, ETH // 10, 40 * USDC, 0, sender=alice)
    [claimed] = receipt.decode_logs(pool.Claimed)
    assert (claimed.vault, claimed.owner, claimed.receiver, claimed.amount) == (vault, alice.address, alice.address,
                                                                                credit)
    assert int(usdc.balanceOf(alice)) == before + credit - 40 * USDC
    assert pool.claimable(vault) == 0 and pool.totalClaimable() == total - credit
    assert pool.position(vault).status == 1 and pool.position(vault).margin == 40 * USDC


def test_liquidation_touches_no_other_vault_or_pool(protocol, owner, market, usdc, alice, bob, keeper,
                                                    open_vault, set_price, project, lp):
    """Isolation: liquidating one vault changes no other vault of the same owner, of the same pool,
    or of another pool."""
    other_feed = owner.deploy(project.MockAggregator, 8, feed_answer(3000))
    other = protocol.create_market(owner, asset=usdc, oracle=deploy_oracle(owner, other_feed, max_age=3600),
                                   params=MarketParams.default(6), name="o", symbol="o")
    usdc.mint(owner, 1_000_000 * USDC, sender=owner)
    other.deposit(owner, 1_000_000 * USDC)
    victim = open_vault(alice, nonce=0, margin=400 * USDC)
    mine_too = open_vault(alice, nonce=1, margin=3_000 * USDC)
    theirs = open_vault(bob, nonce=0, margin=3_000 * USDC)
    elsewhere = other.open(alice, is_long=True, size=ETH, margin=400 * USDC)

    def snapshot():
        return (
            {v: (market.position(v), int(usdc.balanceOf(v))) for v in (mine_too, theirs)},
            (other.position(elsewhere), int(usdc.balanceOf(elsewhere)), int(other.pool.liquidity()),
             int(usdc.balanceOf(other.pool)), int(other.pool.reserved())),
        )

    set_price(_liquidation_price_usd(market, victim) - 100)
    before = snapshot()
    protocol.liquidator.liquidate(victim, sender=keeper)
    assert snapshot() == before
