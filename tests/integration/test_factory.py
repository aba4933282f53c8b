"""PoolFactory: hard bounds on parameters (C4), roles, the registry; LP pool basics (D2, A1)."""

from __future__ import annotations

import ape
import pytest

from ringfence.abi import at
from ringfence.sdk import MarketParams, deploy_oracle
from tests.conftest import USDC, deploy_factory, reverts

WAD = 10**18


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("initial_margin_wad", WAD + 1),  # IM above 100 %
        ("initial_margin_wad", WAD // 1000),  # leverage above 100x
        ("maintenance_margin_wad", 0),
        ("maintenance_margin_wad", WAD // 10),  # MM == IM
        ("liquidation_target_wad", WAD // 20),  # T == MM
        ("liquidation_target_wad", WAD // 10 + 1),  # T above IM
        ("keeper_bonus_wad", WAD // 20 + 1),  # bonus above MM
        ("liquidation_penalty_wad", WAD // 20),  # bonus + penalty above MM
        ("open_fee_wad", WAD // 100 + 1),
        ("close_fee_wad", WAD // 100 + 1),
        ("borrow_rate_wad", WAD // (365 * 24 * 3600) + 1),
        ("max_profit_wad", WAD - 1),
        ("max_profit_wad", 10 * WAD + 1),
        ("min_margin", 0),
        ("min_notional", 0),
        ("max_position_notional", 49 * USDC),  # below min notional
        ("max_open_interest", 999_999 * USDC),  # below max position
        ("keeper_bonus_max", 0),  # below the floor
    ],
)
def test_create_pool_params_out_of_bounds_reverts_with_ParameterOutOfBounds(
    protocol, owner, usdc, oracle, params, field, value
):
    """C4: every parameter is held to the factory's hard bounds, by name."""
    bad = params.with_(**{field: value})
    with reverts("ParameterOutOfBounds"):
        protocol.factory.createPool(usdc, oracle, bad.as_tuple(), "x", "x", sender=owner)
    with reverts("ParameterOutOfBounds"):
        protocol.factory.checkParams(bad.as_tuple())


def test_check_params_names_the_parameter(protocol, params):
    bad = params.with_(maintenance_margin_wad=0)
    with reverts("ParameterOutOfBounds", name=b"maintenanceMarginWad".ljust(32, b"\0"),
                     value=0, min=1, max=params.initial_margin_wad - 1):
        protocol.factory.checkParams(bad.as_tuple())


def test_create_pool_oracle_max_age_above_bound_reverts(protocol, owner, usdc, feed, params):
    slow = deploy_oracle(owner, feed, max_age=3 * 24 * 3600)
    with reverts("ParameterOutOfBounds"):
        protocol.factory.createPool(usdc, slow, params.as_tuple(), "x", "x", sender=owner)


def test_create_pool_by_non_owner_reverts(protocol, mallory, usdc, oracle, params):
    with reverts("OwnableUnauthorizedAccount", account=mallory):
        protocol.factory.createPool(usdc, oracle, params.as_tuple(), "x", "x", sender=mallory)


def test_create_pool_registers_it_with_its_fund(protocol, market, project):
    assert protocol.factory.isPool(market.pool)
    pools = protocol.factory.pools()
    assert market.pool.address in pools and len(pools) == protocol.factory.poolCount()
    fund = at(project.InsuranceFund, market.pool.insuranceFund())
    assert fund.pool() == market.pool.address and fund.asset() == market.asset_address
    assert market.pool.factory() == protocol.factory.address


def test_set_params_within_bounds_applies_and_noop_reverts(protocol, owner, market, params):
    """C4: a no-op setter reverts; a valid change is applied."""
    with reverts("ParamsUnchanged"):
        protocol.factory.setParams(market.pool, params.as_tuple(), sender=owner)
    new = params.with_(open_fee_wad=WAD // 500)
    protocol.factory.setParams(market.pool, new.as_tuple(), sender=owner)
    assert market.params() == new


def test_set_params_by_non_owner_or_unknown_pool_reverts(protocol, owner, mallory, market, params):
    with reverts("OwnableUnauthorizedAccount"):
        protocol.factory.setParams(market.pool, params.as_tuple(), sender=mallory)
    with reverts("UnknownPool", pool=mallory):
        protocol.factory.setParams(mallory, params.as_tuple(), sender=owner)
    with reverts("NotFactory", caller=mallory):
        market.pool.setParams(params.as_tuple(), sender=mallory)


def test_pause_by_guardian_or_owner_only(protocol, owner, guardian, mallory, market):
    """C5: the guardian (or owner) pauses opening; nobody else; no-op reverts."""
    with reverts("NotGuardian", caller=mallory):
        protocol.factory.setPaused(market.pool, True, sender=mallory)
    protocol.factory.setPaused(market.pool, True, sender=guardian)
    assert market.pool.paused()
    with reverts("PausedUnchanged"):
        protocol.factory.setPaused(market.pool, True, sender=owner)
    protocol.factory.setPaused(market.pool, False, sender=owner)
    assert not market.pool.paused()
    with reverts("NotFactory"):
        market.pool.setPaused(True, sender=mallory)


def test_liquidator_set_once(protocol, owner):
    with reverts("LiquidatorAlreadySet", liquidator=protocol.liquidator):
        protocol.factory.setLiquidator(owner, sender=owner)


def test_create_pool_before_liquidator_set_reverts_with_LiquidatorNotSet(project, owner, usdc, oracle, params):
    factory = deploy_factory(owner)
    with reverts("LiquidatorNotSet"):
        factory.createPool(usdc, oracle, params.as_tuple(), "x", "x", sender=owner)


def test_pool_deployer_serves_only_its_factory(protocol, owner, mallory, usdc, oracle, params, project):
    """P3: the deployer is bound to its factory at creation; nobody else (not even the factory's
    owner) can create pools through it."""
    d = at(project.MarginPoolDeployer, protocol.factory.deployer())
    assert d.factory() == protocol.factory.address
    assert not any(item.name == "bind" for item in d.contract_type.abi if item.type == "function")
    for caller in (mallory, owner):
        with reverts("NotFactory", caller=caller):
            d.deploy(caller, caller, caller, usdc, oracle, params.as_tuple(), "x", "x", sender=caller)


def test_factory_refuses_a_deployer_bound_to_another_factory(project, owner, mallory):
    """P3: a deployer bound to any other address (another factory, a front-runner) is refused by name."""
    elsewhere = owner.deploy(project.MarginPoolDeployer, mallory)
    with reverts("DeployerNotBound", deployer=elsewhere, factory=mallory):
        owner.deploy(project.PoolFactory, owner, owner, elsewhere)
    # Bound to an address the owner creates later (its nonce + 3): refused too.
    late = owner.deploy(project.MarginPoolDeployer, owner.get_deployment_address(owner.nonce + 3))
    with reverts("DeployerNotBound", deployer=late):
        owner.deploy(project.PoolFactory, owner, owner, late)
    with reverts("ZeroFactory"):
        owner.deploy(project.MarginPoolDeployer, "0x" + "00" * 20)


def test_pool_deployer_keeps_the_pool_code_out_of_its_runtime(protocol, project, chain):
    """The pool's creation code lives in data contracts (each within EIP-170), not in the deployer."""
    d = at(project.MarginPoolDeployer, protocol.factory.deployer())
    creation = bytes.fromhex(project.MarginPool.contract_type.deployment_bytecode.bytecode[2:])
    assert int(d.codeLength()) == len(creation)
    stored = b""
    for i in range(int(d.chunks())):
        code = bytes(chain.provider.get_code(d.chunk(i)))
        assert code[:1] == b"\x00" and len(code) <= 24_576
        stored += code[1:]
    assert stored == creation
    assert len(bytes(chain.provider.get_code(d.address))) < 4_096
    assert int(d.createNonce()) == 1 + int(d.chunks()) + int(protocol.factory.poolCount())


def test_pool_parts_point_at_their_pool(market, project):
    """The vault implementation and the fund, created before the pool, name the pool that was created."""
    implementation = at(project.PositionVault, market.pool.vaultImplementation())
    assert implementation.pool() == market.pool.address
    assert at(project.InsuranceFund, market.pool.insuranceFund()).pool() == market.pool.address


def test_lp_withdraw_cannot_touch_reserve(market, pool, lp, alice):
    """Pool solvency: LPs withdraw only free liquidity; the reserve for open positions stays."""
    market.open(alice, is_long=True, size=10**18, margin=400 * USDC)
    reserved = int(pool.reserved())
    assert reserved == 2_000 * USDC
    assert int(pool.maxWithdraw(lp)) == int(pool.totalAssets()) - reserved
    with reverts("ERC4626ExceededMaxWithdraw"):
        pool.withdraw(int(pool.totalAssets()) - reserved + 1, lp, lp, sender=lp)
    pool.withdraw(int(pool.maxWithdraw(lp)), lp, lp, sender=lp)
    assert int(pool.totalAssets()) == reserved


def test_lp_deposit_withdraw_round_trip_never_gains(market, pool, usdc, owner, bob):
    """A1: deposit then redeem returns at most what went in."""
    usdc.mint(bob, 12_345_678, sender=owner)
    usdc.approve(pool, 2**256 - 1, sender=bob)
    shares = market.deposit(bob, 12_345_678, approve=False)
    pool.redeem(shares, bob, bob, sender=bob)
    assert int(usdc.balanceOf(bob)) <= 1_000_000 * USDC + 12_345_678


def test_first_depositor_inflation_attack_unprofitable(protocol, owner, usdc, oracle, params, mallory, bob):
    """D2: a first depositor who donates to the pool cannot steal a later deposit."""
    fresh = protocol.create_market(owner, asset=usdc, oracle=oracle, params=params, name="y", symbol="y")
    pool = fresh.pool
    usdc.mint(mallory, 10_001 * USDC, sender=owner)
    usdc.approve(pool, 2**256 - 1, sender=mallory)
    pool.deposit(1, mallory, sender=mallory)
    usdc.transfer(pool, 10_000 * USDC, sender=mallory)  # the "donation" is not counted
    usdc.mint(bob, 5_000 * USDC, sender=owner)
    usdc.approve(pool, 2**256 - 1, sender=bob)
    pool.deposit(5_000 * USDC, bob, sender=bob)
    assert int(pool.previewRedeem(pool.balanceOf(bob))) >= 5_000 * USDC - 1
    assert int(pool.previewRedeem(pool.balanceOf(mallory))) <= 1


def test_market_params_round_trip_struct(market, params):
    assert MarketParams.from_chain(market.pool.params()) == params


def test_renouncing_ownership_is_disabled(protocol, owner, mallory):
    """An ownerless factory would freeze every market: renouncing reverts; only a two-step transfer moves it."""
    with reverts("RenounceDisabled"):
        protocol.factory.renounceOwnership(sender=owner)
    with reverts("OwnableUnauthorizedAccount", account=mallory):
        protocol.factory.renounceOwnership(sender=mallory)
    assert protocol.factory.owner() == owner.address
