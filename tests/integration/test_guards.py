"""Guards and small paths no other test reaches: roles, zero addresses, constructor checks,
the pool's share decimals."""

from __future__ import annotations

from ape.utils import ZERO_ADDRESS

from ringfence.abi import at
from ringfence.sdk import deploy_oracle
from tests.conftest import reverts


def test_set_guardian_by_owner_only_and_never_a_no_op(protocol, owner, guardian, mallory):
    with reverts("OwnableUnauthorizedAccount", account=mallory):
        protocol.factory.setGuardian(mallory, sender=mallory)
    with reverts("GuardianUnchanged", guardian=guardian):
        protocol.factory.setGuardian(guardian, sender=owner)
    receipt = protocol.factory.setGuardian(mallory, sender=owner)
    assert [e.guardian for e in receipt.decode_logs(protocol.factory.GuardianSet)] == [mallory.address]
    assert protocol.factory.guardian() == mallory.address
    protocol.factory.setGuardian(guardian, sender=owner)


def test_factory_refuses_zero_addresses(protocol, owner, usdc, oracle, params):
    with reverts("ZeroAddress"):
        protocol.factory.setLiquidator(ZERO_ADDRESS, sender=owner)
    with reverts("ZeroAddress"):
        protocol.factory.createPool(ZERO_ADDRESS, oracle, params.as_tuple(), 10**8, "x", "x", sender=owner)
    with reverts("ZeroAddress"):
        protocol.factory.createPool(usdc, ZERO_ADDRESS, params.as_tuple(), 10**8, "x", "x", sender=owner)
    from ape import project

    with reverts("ZeroAddress"):
        owner.deploy(project.PoolFactory, owner, owner, ZERO_ADDRESS, 24 * 3600)


def test_insurance_fund_pays_only_on_its_pools_order(market, project, mallory):
    fund = at(project.InsuranceFund, market.pool.insuranceFund())
    with reverts("NotPool", caller=mallory):
        fund.cover(1, sender=mallory)
    with reverts("NotPool", caller=mallory):
        fund.coverKeeperBonus(mallory, 1, sender=mallory)


def test_pool_shares_carry_six_more_decimals_than_the_asset(market, usdc):
    assert market.pool.decimals() == usdc.decimals() + 6


def test_oracle_constructor_checks(owner, feed):
    with reverts("ZeroAddress"):
        deploy_oracle(owner, ZERO_ADDRESS)
    with reverts("InvalidMaxAge", maxAge=0):
        deploy_oracle(owner, feed, max_age=0)
    with reverts("InvalidBounds", minAnswer=-1, maxAnswer=0):
        deploy_oracle(owner, feed, min_answer=-1)
    with reverts("InvalidBounds", minAnswer=5, maxAnswer=5):
        deploy_oracle(owner, feed, min_answer=5, max_answer=5)


def test_vault_views_of_a_closed_position_revert_with_PositionNotOpen(market, open_vault, alice):
    vault = open_vault(alice)
    market.close(alice, vault)
    view = market.vault(vault)
    with reverts("PositionNotOpen", vault=vault):
        view.equity()
    assert view.owner() == alice.address  # the record keeps its owner


def test_every_action_on_a_closed_position_reverts_with_PositionNotOpen(market, open_vault, alice, keeper, usdc,
                                                                         owner):
    """A closed vault's record keeps its owner and status: adding or removing margin, closing it again
    and a strict liquidation are refused by name (not UnknownVault, and nothing moves)."""
    vault = open_vault(alice)
    market.close(alice, vault)
    pool = market.pool
    usdc.mint(alice, 100 * 10**6, sender=owner)
    usdc.approve(pool, 100 * 10**6, sender=alice)
    balance, held = usdc.balanceOf(alice), usdc.balanceOf(vault)
    with reverts("PositionNotOpen", vault=vault):
        pool.addMargin(vault, 10 * 10**6, sender=alice)
    with reverts("PositionNotOpen", vault=vault):
        pool.removeMargin(vault, 1, alice, sender=alice)
    with reverts("PositionNotOpen", vault=vault):
        pool.closePosition(vault, alice, 0, sender=alice)
    with reverts("PositionNotOpen", vault=vault):
        pool.liquidate([vault], keeper, True, sender=keeper)
    assert (usdc.balanceOf(alice), usdc.balanceOf(vault)) == (balance, held)
    usdc.approve(pool, 0, sender=alice)
