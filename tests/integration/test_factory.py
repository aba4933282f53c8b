"""PoolFactory: hard bounds on parameters (C4), roles, the registry; LP pool basics (D2, A1)."""

from __future__ import annotations

import ape
import pytest

from ringfence.abi import at
from ringfence.sdk import DEFAULT_DELAY, MarketParams, deploy_oracle
from tests.conftest import (
    ETH, USDC, advance_to, apply_params, deploy_factory, lp_enter, lp_exit, next_round, refresh_feeds, reverts,
)

WAD = 10**18
ZERO = "0x" + "00" * 20


MAX_FLOOR = 100 * USDC  # PoolFactory.MAX_KEEPER_BONUS_MIN_TOKENS whole USDC
# The default market: MM 5 %, penalty 1 %, min notional 50 USDC -> the floor may reach 4 % x 50 = 2 USDC.
FLOOR_ROOM = 2 * USDC


@pytest.mark.parametrize(
    ("changes", "accepted"),
    [
        ({"initial_margin_wad": WAD + 1}, False),  # IM above 100 %
        ({"initial_margin_wad": WAD // 1000}, False),  # leverage above 100x
        ({"maintenance_margin_wad": 0}, False),
        ({"maintenance_margin_wad": WAD // 10}, False),  # MM == IM
        ({"liquidation_target_wad": WAD // 20}, False),  # T == MM
        ({"liquidation_target_wad": WAD // 10 + 1}, False),  # T above IM
        ({"keeper_bonus_wad": WAD // 20 + 1}, False),  # bonus above MM
        ({"liquidation_penalty_wad": WAD // 20}, False),  # bonus + penalty above MM
        # bonus + penalty exactly MM is allowed, one unit more is not (no floor, so only this bound decides)
        ({"liquidation_penalty_wad": WAD // 25, "keeper_bonus_min": 0}, True),
        ({"liquidation_penalty_wad": WAD // 25 + 1, "keeper_bonus_min": 0}, False),
        ({"open_fee_wad": WAD // 100 + 1}, False),
        ({"close_fee_wad": WAD // 100 + 1}, False),
        ({"borrow_rate_wad": WAD // (365 * 24 * 3600) + 1}, False),
        ({"max_profit_wad": WAD - 1}, False),
        ({"max_profit_wad": 10 * WAD + 1}, False),
        ({"min_margin": 0}, False),
        ({"min_notional": 0}, False),
        ({"max_position_notional": 49 * USDC}, False),  # below min notional
        ({"max_open_interest": 999_999 * USDC}, False),  # below max position
        ({"keeper_bonus_max": 0}, False),  # below the floor
        # The floor against (MM - penalty) x min notional, at the bound and one unit above.
        ({"keeper_bonus_min": FLOOR_ROOM}, True),
        ({"keeper_bonus_min": FLOOR_ROOM + 1}, False),
        # ... rounded down: 4 % of 49.999999 USDC is 1.99999996 USDC.
        ({"min_notional": 50 * USDC - 1, "keeper_bonus_min": 1_999_999}, True),
        ({"min_notional": 50 * USDC - 1, "keeper_bonus_min": 2_000_000}, False),
        # ... with a higher penalty the room shrinks: (5 % - 3 %) x 50 = 1 USDC.
        ({"keeper_bonus_wad": WAD // 100, "liquidation_penalty_wad": 3 * WAD // 100,
          "keeper_bonus_min": 1 * USDC}, True),
        ({"keeper_bonus_wad": WAD // 100, "liquidation_penalty_wad": 3 * WAD // 100,
          "keeper_bonus_min": 1 * USDC + 1}, False),
        # The old rule (half the min margin) no longer decides: 5 USDC floor, 10 USDC min margin.
        ({"keeper_bonus_min": 5 * USDC}, False),
    ],
)
def test_create_pool_params_out_of_bounds_reverts_with_ParameterOutOfBounds(
    protocol, owner, usdc, oracle, params, changes, accepted
):
    """C4 / P2: every parameter is held to the factory's hard bounds, by name; at a bound a value is
    accepted, one unit beyond it is refused."""
    candidate = params.with_(**changes)
    if accepted:
        protocol.factory.checkParams(candidate.as_tuple())
        protocol.factory.createPool(usdc, oracle, candidate.as_tuple(), MAX_FLOOR, "x", "x", sender=owner)
        return
    with reverts("ParameterOutOfBounds"):
        protocol.factory.createPool(usdc, oracle, candidate.as_tuple(), MAX_FLOOR, "x", "x", sender=owner)
    with reverts("ParameterOutOfBounds"):
        protocol.factory.checkParams(candidate.as_tuple())


def _name(text: str) -> bytes:
    return text.encode().ljust(32, b"\0")


# The other ratios of a 100x market, so that only IM's own bound can decide.
LOW_IM = {"maintenance_margin_wad": WAD // 200, "liquidation_target_wad": 8 * WAD // 1000,
          "keeper_bonus_wad": 2 * WAD // 1000, "liquidation_penalty_wad": 2 * WAD // 1000, "keeper_bonus_min": 0}


@pytest.mark.parametrize(
    ("changes", "name", "accepted"),
    [
        # The dust bounds fit the pool's storage (a position's margin is 88 bits, the minimum notional 96):
        # the largest is accepted, one more refused by name.
        ({"min_margin": 2**88 - 1}, "minMargin", True),
        ({"min_margin": 2**88}, "minMargin", False),
        ({"min_notional": 2**96 - 1, "max_position_notional": 2**100, "max_open_interest": 2**100}, "minNotional", True),
        ({"min_notional": 2**96, "max_position_notional": 2**100, "max_open_interest": 2**100}, "minNotional", False),
        ({"initial_margin_wad": WAD // 100, **LOW_IM}, "initialMarginWad", True),  # 100x, the lowest IM
        ({"initial_margin_wad": WAD // 100 - 1, **LOW_IM}, "initialMarginWad", False),
    ],
)
def test_params_at_a_storage_width_or_leverage_bound_are_refused_by_that_name(
    protocol, params, changes, name, accepted
):
    """Each bound decides alone: the candidate breaks only the named one (so a loosened bound is seen)."""
    candidate = params.with_(**changes)
    if accepted:
        protocol.factory.checkParams(candidate.as_tuple())
        return
    with reverts("ParameterOutOfBounds", name=_name(name)):
        protocol.factory.checkParams(candidate.as_tuple())


@pytest.mark.parametrize(("decimals", "accepted"), [(18, True), (19, False)])
def test_create_pool_bounds_the_asset_decimals_at_18_by_name(protocol, owner, oracle, project, decimals, accepted):
    """The factory refuses a settlement token finer than 18 decimals with its own bound
    (``ParameterOutOfBounds("assetDecimals", …)``) before any deployment (a position's margin field holds
    2**88 - 1 units: 309 million tokens at 18 decimals); 18 is accepted."""
    token = owner.deploy(project.MockERC20, "Fine", "FN", decimals)
    params = MarketParams.default(18)  # the parameters' amounts fit their uint128 fields; only the asset differs
    if accepted:
        receipt = protocol.factory.createPool(token, oracle, params.as_tuple(), params.keeper_bonus_min, "x", "x",
                                              sender=owner)
        (created,) = receipt.decode_logs(protocol.factory.PoolCreated)
        assert created.asset == token.address and protocol.factory.isPool(created.pool)
        return
    with reverts("ParameterOutOfBounds", name=_name("assetDecimals"), value=19, min=0, max=18):
        protocol.factory.createPool(token, oracle, params.as_tuple(), 0, "x", "x", sender=owner)


def test_keeper_bonus_floor_cap_is_fixed_per_market(protocol, owner, usdc, oracle, params, project):
    """P2: the cap on a market's bonus floor is chosen at creation, at most 100 whole tokens of the
    settlement token, and every later change is held to it."""
    with reverts("ParameterOutOfBounds", name=_name("maxKeeperBonusMin"), value=MAX_FLOOR + 1, max=MAX_FLOOR):
        protocol.factory.createPool(usdc, oracle, params.as_tuple(), MAX_FLOOR + 1, "x", "x", sender=owner)
    with reverts("ParameterOutOfBounds", name=_name("keeperBonusMin"), value=params.keeper_bonus_min,
                 max=params.keeper_bonus_min - 1):
        protocol.factory.createPool(usdc, oracle, params.as_tuple(), params.keeper_bonus_min - 1, "x", "x",
                                    sender=owner)
    # A cap of exactly the floor: accepted.
    tight = protocol.create_market(owner, asset=usdc, oracle=oracle, params=params,
                                   max_keeper_bonus_min=params.keeper_bonus_min)
    assert protocol.factory.maxKeeperBonusMin(tight.pool) == params.keeper_bonus_min
    # Room for a larger floor under the relative rule (min notional 500 USDC: 20 USDC), not under the cap.
    roomy = params.with_(min_notional=500 * USDC)
    higher = roomy.with_(keeper_bonus_min=params.keeper_bonus_min + 1)
    protocol.factory.checkParams(higher.as_tuple())
    with reverts("ParameterOutOfBounds", name=_name("keeperBonusMin"), max=params.keeper_bonus_min):
        protocol.factory.checkPoolParams(tight.pool, higher.as_tuple())
    with reverts("ParameterOutOfBounds", name=_name("keeperBonusMin"), max=params.keeper_bonus_min):
        protocol.factory.queueParams(tight.pool, higher.as_tuple(), sender=owner)
    protocol.factory.checkPoolParams(tight.pool, roomy.as_tuple())
    protocol.factory.queueParams(tight.pool, roomy.as_tuple(), sender=owner)
    # The cap is in the settlement token's units: 100 whole tokens of an 18-decimal token.
    wad_token = owner.deploy(project.MockERC20, "Wrapped", "W", 18)
    wad_params = MarketParams.default(18)
    with reverts("ParameterOutOfBounds", name=_name("maxKeeperBonusMin"), max=100 * WAD):
        protocol.factory.createPool(wad_token, oracle, wad_params.as_tuple(), 100 * WAD + 1, "x", "x",
                                    sender=owner)
    market = protocol.create_market(owner, asset=wad_token, oracle=oracle, params=wad_params)
    assert protocol.factory.maxKeeperBonusMin(market.pool) == 100 * WAD
    with reverts("UnknownPool", pool=owner):
        protocol.factory.checkPoolParams(owner, params.as_tuple())


def test_check_params_names_the_parameter(protocol, params):
    bad = params.with_(maintenance_margin_wad=0)
    with reverts("ParameterOutOfBounds", name=b"maintenanceMarginWad".ljust(32, b"\0"),
                     value=0, min=1, max=params.initial_margin_wad - 1):
        protocol.factory.checkParams(bad.as_tuple())


def test_create_pool_oracle_max_age_above_bound_reverts(protocol, owner, usdc, feed, params):
    slow = deploy_oracle(owner, feed, max_age=3 * 24 * 3600)
    with reverts("ParameterOutOfBounds"):
        protocol.factory.createPool(usdc, slow, params.as_tuple(), MAX_FLOOR, "x", "x", sender=owner)


def test_create_pool_by_non_owner_reverts(protocol, mallory, usdc, oracle, params):
    with reverts("OwnableUnauthorizedAccount", account=mallory):
        protocol.factory.createPool(usdc, oracle, params.as_tuple(), MAX_FLOOR, "x", "x", sender=mallory)


def test_create_pool_registers_it_with_its_fund(protocol, market, project):
    assert protocol.factory.isPool(market.pool)
    pools = protocol.factory.pools()
    assert market.pool.address in pools and len(pools) == protocol.factory.poolCount()
    fund = at(project.InsuranceFund, market.pool.insuranceFund())
    assert fund.pool() == market.pool.address and fund.asset() == market.asset_address
    assert market.pool.factory() == protocol.factory.address


def test_params_change_waits_for_the_delay(protocol, owner, market, params, chain):
    """P1: queue, too early, execute after the delay; the no-op and the pending view."""
    factory, pool = protocol.factory, market.pool
    delay = int(factory.delay())
    assert delay == DEFAULT_DELAY
    with reverts("ParamsUnchanged"):
        factory.queueParams(pool, params.as_tuple(), sender=owner)
    new = params.with_(open_fee_wad=WAD // 500)
    receipt = factory.queueParams(pool, new.as_tuple(), sender=owner)
    [queued] = receipt.decode_logs(factory.ParamsQueued)
    eta = receipt.timestamp + delay
    assert queued.pool == pool.address and queued.eta == eta
    assert MarketParams.from_chain(queued.params) == new
    assert protocol.pending_params(pool) == (new, eta)
    assert market.params() == params  # nothing changed yet
    with reverts("TooEarly", pool=pool, eta=eta):
        factory.executeParams(pool, sender=owner)
    advance_to(chain, eta - 60)
    with reverts("TooEarly", pool=pool, eta=eta):
        factory.executeParams(pool, sender=owner)
    advance_to(chain, eta)
    refresh_feeds(protocol, owner)
    receipt = factory.executeParams(pool, sender=owner)
    assert receipt.timestamp >= eta
    [applied] = receipt.decode_logs(factory.PoolParamsSet)
    assert applied.pool == pool.address and MarketParams.from_chain(applied.params) == new
    [updated] = receipt.decode_logs(pool.ParamsUpdated)
    assert MarketParams.from_chain(updated.params) == new
    assert market.params() == new
    assert protocol.pending_params(pool) == (None, 0)
    with reverts("NothingPending", pool=pool):
        factory.executeParams(pool, sender=owner)


def test_apply_params_helper_and_a_requeue_restarts_the_delay(protocol, owner, market, params, chain):
    factory, pool = protocol.factory, market.pool
    first = protocol.queue_params(owner, pool, params.with_(open_fee_wad=WAD // 500))
    advance_to(chain, first - 10)
    second = protocol.queue_params(owner, pool, params.with_(close_fee_wad=WAD // 500))
    assert second > first
    advance_to(chain, first + 1)
    with reverts("TooEarly", pool=pool, eta=second):
        factory.executeParams(pool, sender=owner)
    new = params.with_(borrow_rate_wad=0)
    apply_params(protocol, pool, new, owner)
    assert market.params() == new


def test_cancel_params(protocol, owner, market, params, chain):
    factory, pool = protocol.factory, market.pool
    with reverts("NothingPending", pool=pool):
        factory.cancelParams(pool, sender=owner)
    eta = protocol.queue_params(owner, pool, params.with_(open_fee_wad=WAD // 500))
    receipt = factory.cancelParams(pool, sender=owner)
    assert receipt.decode_logs(factory.ParamsCancelled)[0].pool == pool.address
    assert protocol.pending_params(pool) == (None, 0)
    advance_to(chain, eta)
    with reverts("NothingPending", pool=pool):
        factory.executeParams(pool, sender=owner)
    assert market.params() == params


def test_execute_rechecks_the_bounds(protocol, owner, market, params, chain):
    """A queued change is checked again when it is executed (it is never applied out of bounds)."""
    factory, pool = protocol.factory, market.pool
    eta = protocol.queue_params(owner, pool, params.with_(open_fee_wad=WAD // 500))
    advance_to(chain, eta)
    refresh_feeds(protocol, owner)
    factory.executeParams(pool, sender=owner)  # in bounds: applied
    assert int(market.params().open_fee_wad) == WAD // 500


def test_delayed_changes_by_non_owner_or_unknown_pool_revert(protocol, owner, guardian, mallory, market, params,
                                                              oracle):
    """P1: only the owner queues, executes and cancels (not the guardian, not anyone)."""
    factory, pool = protocol.factory, market.pool
    new = params.with_(open_fee_wad=WAD // 500)
    for caller in (mallory, guardian):
        with reverts("OwnableUnauthorizedAccount", account=caller):
            factory.queueParams(pool, new.as_tuple(), sender=caller)
        with reverts("OwnableUnauthorizedAccount", account=caller):
            factory.queueOracle(pool, oracle, sender=caller)
    protocol.queue_params(owner, pool, new)
    for caller in (mallory, guardian):
        for method in (factory.executeParams, factory.cancelParams, factory.executeOracle, factory.cancelOracle):
            with reverts("OwnableUnauthorizedAccount", account=caller):
                method(pool, sender=caller)
    with reverts("UnknownPool", pool=mallory):
        factory.queueParams(mallory, new.as_tuple(), sender=owner)
    with reverts("UnknownPool", pool=mallory):
        factory.queueOracle(mallory, oracle, sender=owner)
    with reverts("NotFactory", caller=mallory):
        pool.setParams(params.as_tuple(), sender=mallory)
    with reverts("NotFactory", caller=mallory):
        pool.setOracle(mallory, sender=mallory)


def test_guardian_pause_is_still_immediate(protocol, owner, guardian, market, params, alice):
    """P1: the pause needs no delay, even with a change queued."""
    protocol.queue_params(owner, market.pool, params.with_(open_fee_wad=WAD // 500))
    receipt = protocol.factory.setPaused(market.pool, True, sender=guardian)
    assert market.pool.paused() and receipt.decode_logs(protocol.factory.PoolPausedSet)
    with reverts("MarketPaused"):
        market.pool.openPosition(0, True, 10**18, 400 * USDC, 0, sender=alice)


def test_delay_is_bounded_at_construction(owner):
    for delay in (3600 - 1, 30 * 24 * 3600 + 1):
        with reverts("ParameterOutOfBounds", name=_name("delay"), value=delay, min=3600, max=30 * 24 * 3600):
            deploy_factory(owner, delay=delay)
    assert deploy_factory(owner, delay=3600).delay() == 3600
    assert deploy_factory(owner, delay=30 * 24 * 3600).delay() == 30 * 24 * 3600


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
        factory.createPool(usdc, oracle, params.as_tuple(), MAX_FLOOR, "x", "x", sender=owner)


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
        owner.deploy(project.PoolFactory, owner, owner, elsewhere, DEFAULT_DELAY)
    # Bound to an address the owner creates later (its nonce + 3): refused too.
    late = owner.deploy(project.MarginPoolDeployer, owner.get_deployment_address(owner.nonce + 3))
    with reverts("DeployerNotBound", deployer=late):
        owner.deploy(project.PoolFactory, owner, owner, late, DEFAULT_DELAY)
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


def test_lp_withdraw_cannot_touch_reserve(market, pool, lp, alice, usdc):
    """Pool solvency: LPs withdraw only free liquidity; the reserve for open positions stays. A redemption
    of every share cannot be settled while a position is open; it stays pending and settles once the
    position has closed and released its reserve."""
    vault = market.open(alice, is_long=True, size=10**18, margin=400 * USDC)
    reserved = int(pool.reserved())
    assert reserved == 2_000 * USDC
    free = int(pool.freeLiquidity())
    assert free == int(pool.liquidity()) - reserved
    shares = int(pool.balanceOf(lp))
    quote = market.request_redeem(lp, shares)
    next_round(market, lp)
    owed = int(pool.previewSettleRedeem(lp))
    assert owed == quote > free
    with reverts("InsufficientLiquidity", free=free, needed=owed):
        pool.settleRedeem(lp, sender=lp)
    assert int(pool.liquidity()) == free + reserved and int(pool.redeemRequest(lp)[0]) == shares

    market.close(alice, vault)
    assert int(pool.reserved()) == 0 and int(pool.freeLiquidity()) >= quote
    liquidity, lp_usdc = int(pool.liquidity()), int(usdc.balanceOf(lp))
    assert market.settle_redeem(lp, lp) == quote
    assert int(usdc.balanceOf(lp)) == lp_usdc + quote
    assert int(pool.liquidity()) == liquidity - quote and int(pool.balanceOf(lp)) == 0


def test_lp_deposit_withdraw_round_trip_never_gains(market, pool, usdc, owner, bob):
    """A1: deposit then redeem returns at most what went in."""
    usdc.mint(bob, 12_345_678, sender=owner)
    start = int(usdc.balanceOf(bob))
    shares = lp_enter(market, bob, 12_345_678)
    assert int(pool.balanceOf(bob)) == shares > 0
    back = lp_exit(market, bob, shares)
    assert 0 < back <= 12_345_678
    assert int(usdc.balanceOf(bob)) == start - 12_345_678 + back
    assert int(pool.balanceOf(bob)) == 0


def test_first_depositor_inflation_attack_unprofitable(protocol, owner, usdc, oracle, params, mallory, bob):
    """D2: a first depositor who donates to the pool cannot steal a later deposit (the donation is not
    counted in the share price, and the second LP enters by request, settled on the next round)."""
    fresh = protocol.create_market(owner, asset=usdc, oracle=oracle, params=params, name="y", symbol="y")
    pool = fresh.pool
    usdc.mint(mallory, 10_001 * USDC, sender=owner)
    usdc.approve(pool, 2**256 - 1, sender=mallory)
    pool.deposit(1, mallory, sender=mallory)
    usdc.transfer(pool, 10_000 * USDC, sender=mallory)  # the "donation" is not counted
    assert int(pool.totalAssets()) == int(pool.liquidity()) == 1
    usdc.mint(bob, 5_000 * USDC, sender=owner)
    usdc.approve(pool, 2**256 - 1, sender=bob)
    shares = lp_enter(fresh, bob, 5_000 * USDC)
    assert int(pool.balanceOf(bob)) == shares
    assert int(pool.previewRedeem(pool.balanceOf(bob))) >= 5_000 * USDC - 1
    assert int(pool.previewRedeem(pool.balanceOf(mallory))) <= 1
    assert lp_exit(fresh, bob, shares) >= 5_000 * USDC - 1  # and bob can take it back out


def test_market_params_round_trip_struct(market, params):
    assert MarketParams.from_chain(market.pool.params()) == params


def test_renouncing_ownership_is_disabled(protocol, owner, mallory):
    """An ownerless factory would freeze every market: renouncing reverts; only a two-step transfer moves it."""
    with reverts("RenounceDisabled"):
        protocol.factory.renounceOwnership(sender=owner)
    with reverts("OwnableUnauthorizedAccount", account=mallory):
        protocol.factory.renounceOwnership(sender=mallory)
    assert protocol.factory.owner() == owner.address


# ---------------------------------------------------------------- moving a market to a new adapter (P1)


def _new_adapter(owner, project, price_usd: int, max_age: int = 3600):
    feed = owner.deploy(project.MockAggregator, 8, price_usd * 10**8)
    return feed, deploy_oracle(owner, feed, max_age=max_age)


def test_moving_a_market_to_a_new_adapter_keeps_positions_closable_and_liquidatable(
    protocol, owner, market, project, chain, open_vault, alice, bob, keeper, usdc
):
    factory, pool = protocol.factory, market.pool
    closing = open_vault(alice, size=ETH, margin=400 * USDC)
    risky = open_vault(bob, size=ETH, margin=400 * USDC)
    feed, adapter = _new_adapter(owner, project, 3000)
    receipt = factory.queueOracle(pool, adapter, sender=owner)
    [queued] = receipt.decode_logs(factory.OracleQueued)
    eta = receipt.timestamp + int(factory.delay())
    assert (queued.pool, queued.oracle, queued.eta) == (pool.address, adapter.address, eta)
    assert tuple(factory.pendingOracle(pool)) == (adapter.address, eta)
    with reverts("TooEarly", pool=pool, eta=eta):
        factory.executeOracle(pool, sender=owner)
    assert pool.oracle() == market.oracle_address  # still the old adapter
    advance_to(chain, eta)
    feed.setAnswer(2_900 * 10**8, sender=owner)  # the new adapter's price, not the old feed's
    receipt = factory.executeOracle(pool, sender=owner)
    [moved] = receipt.decode_logs(factory.PoolOracleSet)
    assert (moved.pool, moved.oracle) == (pool.address, adapter.address)
    assert receipt.decode_logs(pool.OracleUpdated)[0].oracle == adapter.address
    assert pool.oracle() == adapter.address and tuple(factory.pendingOracle(pool)) == (ZERO, 0)
    # Closable at the new adapter's price (the old feed is a day old by now and not read).
    assert market.price() == 2_900 * WAD
    before = int(usdc.balanceOf(alice))
    receipt = pool.closePosition(closing, alice, 0, sender=alice)
    [closed] = receipt.decode_logs(pool.PositionClosed)
    assert int(closed.priceWad) == 2_900 * WAD and int(closed.pnl) == -100 * USDC
    assert int(usdc.balanceOf(alice)) == before + int(closed.payout) > before
    # Liquidatable at the new adapter's price.
    vault = market.vault(risky)
    answer = int(vault.liquidationPrice()) // 10**10 - 1
    feed.setAnswer(answer, sender=owner)
    assert vault.isLiquidatable()
    [event] = protocol.liquidator.liquidate(risky, sender=keeper).decode_logs(pool.Liquidated)
    assert event.vault == risky and int(event.priceWad) == answer * 10**10


def test_an_adapter_that_does_not_answer_is_refused_at_queue_and_at_execute(
    protocol, owner, market, project, chain, feed
):
    factory, pool = protocol.factory, market.pool
    silent_feed, silent = _new_adapter(owner, project, 3000)
    silent_feed.setReverts(True, sender=owner)
    with reverts("OracleNotAnswering", oracle=silent):
        factory.queueOracle(pool, silent, sender=owner)
    with reverts("ZeroAddress"):
        factory.queueOracle(pool, ZERO, sender=owner)
    with reverts("OracleUnchanged", oracle=market.oracle_address):
        factory.queueOracle(pool, market.oracle_address, sender=owner)
    _, slow = _new_adapter(owner, project, 3000, max_age=3 * 24 * 3600)
    with reverts("ParameterOutOfBounds", name=_name("maxPriceAge")):
        factory.queueOracle(pool, slow, sender=owner)
    # Answers when queued, stale when executed (its feed was not updated during the delay): refused.
    stale_feed, stale = _new_adapter(owner, project, 3000)
    eta = protocol.queue_oracle(owner, pool, stale)
    advance_to(chain, eta)
    with reverts("OracleNotAnswering", oracle=stale):
        factory.executeOracle(pool, sender=owner)
    assert pool.oracle() == market.oracle_address
    # Answering again: executed.
    stale_feed.setAnswer(3000 * 10**8, sender=owner)
    protocol.execute_oracle(owner, pool)
    assert pool.oracle() == stale.address


def test_an_adapter_that_answers_a_zero_price_is_refused(protocol, owner, market, project):
    """IPriceOracle promises a non-zero price; an adapter that answers zero is refused like a silent one."""
    zero = owner.deploy(project.ZeroPriceOracle)
    with reverts("OracleNotAnswering", oracle=zero, reason=b""):
        protocol.factory.queueOracle(market.pool, zero, sender=owner)


def test_cancel_oracle(protocol, owner, market, project, chain):
    factory, pool = protocol.factory, market.pool
    with reverts("NothingPending", pool=pool):
        factory.cancelOracle(pool, sender=owner)
    _, adapter = _new_adapter(owner, project, 3000)
    eta = protocol.queue_oracle(owner, pool, adapter)
    receipt = factory.cancelOracle(pool, sender=owner)
    [cancelled] = receipt.decode_logs(factory.OracleCancelled)
    assert (cancelled.pool, cancelled.oracle) == (pool.address, adapter.address)
    assert tuple(factory.pendingOracle(pool)) == (ZERO, 0)
    advance_to(chain, eta)
    with reverts("NothingPending", pool=pool):
        factory.executeOracle(pool, sender=owner)
    assert pool.oracle() == market.oracle_address


def test_pausing_an_address_that_is_not_a_pool_reverts_with_UnknownPool(protocol, guardian, owner, mallory):
    """The pause acts on the factory's pools only, for the guardian and the owner alike."""
    for caller in (guardian, owner):
        with reverts("UnknownPool", pool=mallory):
            protocol.factory.setPaused(mallory, True, sender=caller)


def test_set_liquidator_by_the_owner_only(owner, mallory):
    factory = deploy_factory(owner)
    with reverts("OwnableUnauthorizedAccount", account=mallory):
        factory.setLiquidator(mallory, sender=mallory)
    assert factory.liquidator() == ape.utils.ZERO_ADDRESS


def test_a_queued_change_executes_at_its_eta_exactly(protocol, owner, market, params, chain):
    """The delay is `block.timestamp >= eta`: the second of the eta is already allowed."""
    pool, factory = market.pool, protocol.factory
    receipt = factory.queueParams(pool, params.with_(open_fee_wad=WAD // 500).as_tuple(), sender=owner)
    eta = receipt.timestamp + int(factory.delay())
    advance_to(chain, eta - 5)
    refresh_feeds(protocol, owner)
    chain.pending_timestamp = eta
    receipt = factory.executeParams(pool, sender=owner)
    assert receipt.timestamp == eta and market.params().open_fee_wad == WAD // 500
