"""Exact boundaries of the pool's checks: each test sits on the boundary a comparison draws (or on a
rounding that a wrong direction would change), so flipping `<` into `<=`, dropping a term or rounding
the other way fails it. The mutation runner (`make mutate`) holds the suite to this."""

from __future__ import annotations

import pytest

from ringfence import model
from ringfence.abi import at
from ringfence.sdk import MarketParams
from tests.conftest import ETH, USDC, apply_params, lp_enter, next_round, reverts

WAD = 10**18
PRICE = 3_000


@pytest.fixture
def new_market(protocol, owner, usdc, oracle, lp, alice, set_price):
    """A fresh market with `changes` to the default parameters, funded by `lp` with `liquidity`."""

    def _make(liquidity: int = 1_000_000 * USDC, **changes: int):
        set_price(PRICE)
        params = MarketParams.default(6).with_(**changes)
        market = protocol.create_market(owner, asset=usdc, oracle=oracle, params=params, name="b", symbol="b")
        usdc.mint(lp, liquidity, sender=owner)
        market.deposit(lp, liquidity)
        usdc.mint(alice, 100_000 * USDC, sender=owner)
        usdc.approve(market.pool, 2**256 - 1, sender=alice)
        return market

    return _make


def _model_params(market) -> model.MarketParams:
    return model.MarketParams.from_chain(market.pool.params(), market.decimals)


def _model_position(market, vault) -> model.Position:
    return model.Position.from_chain(market.pool.position(vault))


# ---------------------------------------------------------------- the profit cap


def test_close_above_the_profit_cap_pays_exactly_the_cap(market, alice, set_price):
    """A long of 1 ETH with 400 USDC of margin has a cap of 5 * 400 = 2,000; at 6,000 its PnL is 3,000:
    the close pays margin + 2,000 - fees, exactly as the model, not margin + 3,000 - fees."""
    set_price(PRICE)
    vault = market.open(alice, is_long=True, size=ETH, margin=400 * USDC, nonce=40)
    position = _model_position(market, vault)
    assert position.max_profit == 2_000 * USDC
    set_price(2 * PRICE)
    assert int(market.vault(vault).equity()) < 400 * USDC + 2_000 * USDC
    fee_index = int(market.pool.currentFeeIndex())
    payout = market.close(alice, vault)
    expected = model.close_position(_model_params(market), position, 2 * PRICE * WAD,
                                    int(market.pool.currentFeeIndex()), 0)
    assert payout == expected.payout
    fees = model.closing_fees_up(position, fee_index, 2 * PRICE * WAD, _model_params(market).close_fee_wad,
                                 _model_params(market).scale)
    assert payout <= 400 * USDC + 2_000 * USDC - fees


def test_profit_cap_is_rounded_down_on_an_inexact_product(new_market, alice):
    """k = 5 + 1e-18: 400 USDC * k is 2,000 USDC and 4e-10 of a unit: the cap and the reserve are 2,000
    USDC exactly (rounded down), never one unit more."""
    market = new_market(max_profit_wad=5 * WAD + 1)
    vault = market.open(alice, is_long=True, size=ETH, margin=400 * USDC, nonce=41)
    assert market.position(vault).max_profit == 2_000 * USDC
    assert int(market.pool.reserved()) == 2_000 * USDC


# ---------------------------------------------------------------- remove margin boundaries


def test_remove_margin_down_to_exactly_the_minimum_margin_succeeds(market, alice, set_price):
    set_price(PRICE)
    vault = market.open(alice, is_long=True, size=ETH // 50, margin=100 * USDC, nonce=42)
    minimum = market.params().min_margin
    with reverts("MarginBelowMinimum", margin=minimum - 1, minimum=minimum):
        market.remove_margin(alice, vault, 100 * USDC - minimum + 1)
    market.remove_margin(alice, vault, 100 * USDC - minimum)
    assert market.position(vault).margin == minimum


def test_remove_margin_to_exactly_the_initial_margin_requirement_succeeds(new_market, alice):
    """No borrow fee, no price move: available = margin - open fee. Removing down to available == IM * N
    passes; one unit more fails with InsufficientMargin(required - 1, required)."""
    market = new_market(borrow_rate_wad=0)
    vault = market.open(alice, is_long=True, size=ETH, margin=1_000 * USDC, nonce=43)
    params = _model_params(market)
    required = model.notional_ratio_up(ETH, PRICE * WAD, params.initial_margin_wad, params.scale)
    open_fee = model.notional_ratio_up(ETH, PRICE * WAD, params.open_fee_wad, params.scale)
    spare = 1_000 * USDC - open_fee - required
    with reverts("InsufficientMargin", available=required - 1, required=required):
        market.remove_margin(alice, vault, spare + 1)
    market.remove_margin(alice, vault, spare)
    assert market.position(vault).margin == required + open_fee


# ---------------------------------------------------------------- close slippage


def test_close_slippage_bound_long_below_and_short_above(market, alice, bob, set_price):
    """Closing a long sells: it reverts below its bound and passes at it; closing a short buys: it reverts
    above its bound and passes at it."""
    set_price(PRICE)
    long_vault = market.open(alice, is_long=True, size=ETH, margin=400 * USDC, nonce=44)
    short_vault = market.open(bob, is_long=False, size=ETH, margin=400 * USDC, nonce=44)
    price = PRICE * WAD
    with reverts("PriceSlippage", priceWad=price, acceptablePriceWad=price + 1):
        market.close(alice, long_vault, acceptable_price_wad=price + 1)
    with reverts("PriceSlippage", priceWad=price, acceptablePriceWad=price - 1):
        market.close(bob, short_vault, acceptable_price_wad=price - 1)
    market.close(alice, long_vault, acceptable_price_wad=price)
    market.close(bob, short_vault, acceptable_price_wad=price)
    assert market.position(long_vault).status == market.position(short_vault).status == 2


def test_close_with_exactly_nothing_left_is_not_bad_debt(new_market, alice, owner, feed):
    """At the price where margin + PnL - fees is exactly 0 the close pays nothing and is not bad debt:
    no cover is asked of the insurance fund and no BadDebtCovered is emitted (one unit lower, it is)."""
    market = new_market(borrow_rate_wad=0)  # fees do not move with the block time
    vault = market.open(alice, is_long=True, size=ETH, margin=400 * USDC, nonce=48)
    params, position = _model_params(market), _model_position(market, vault)
    fee_index = int(market.pool.currentFeeIndex())
    unit = 10**18 // 10**8  # one unit of the 8-decimal feed, in WAD

    def result(answer: int) -> int:
        price = answer * unit
        pnl = model.pnl_down(True, position.size, position.entry_price_wad, price, params.scale,
                             position.max_profit)
        return position.margin + pnl - model.closing_fees_up(position, fee_index, price, params.close_fee_wad,
                                                            params.scale)

    low, high = 2_000 * 10**8, PRICE * 10**8  # result(low) < 0 < result(high); the smallest answer >= 0
    while low < high:
        middle = (low + high) // 2
        low, high = (low, middle) if result(middle) >= 0 else (middle + 1, high)
    assert result(low) == 0 and result(low - 1) < 0
    feed.setAnswer(low, sender=owner)
    receipt = market.pool.closePosition(vault, alice, 0, sender=alice)
    [closed] = receipt.decode_logs(market.pool.PositionClosed)
    assert (closed.payout, closed.badDebt) == (0, 0)
    assert not receipt.decode_logs(market.pool.BadDebtCovered)


# ---------------------------------------------------------------- open-interest cap


def test_open_up_to_exactly_the_open_interest_cap_succeeds(new_market, alice):
    """A side's open interest may reach its cap exactly (3,000 USDC: 1 ETH at 3,000); one more unit of
    notional is refused."""
    market = new_market(max_position_notional=3_000 * USDC, max_open_interest=3_000 * USDC)
    market.open(alice, is_long=True, size=ETH, margin=400 * USDC, nonce=45)
    assert int(market.pool.openInterest(True)[1]) == 3_000 * USDC
    tiny = ETH // 50
    with reverts("OpenInterestCapExceeded", openInterest=3_060 * USDC, cap=3_000 * USDC):
        market.open(alice, is_long=True, size=tiny, margin=100 * USDC, nonce=46)


# ---------------------------------------------------------------- LP withdrawals and the reserve


def test_redemption_settles_only_within_the_free_liquidity_and_sync_exits_are_closed(
    market, alice, bob, lp, usdc, set_price
):
    """LPs leave only by request, settled out of the free liquidity (the reserve stays): a redemption
    worth one unit more than the free liquidity cannot be settled, one worth exactly the free liquidity
    can. Sync withdraw / redeem are closed (their maxima are 0), and so is a sync deposit or mint once
    the pool has shares."""
    set_price(PRICE)
    market.open(alice, is_long=True, size=10 * ETH, margin=30_000 * USDC, nonce=47)
    pool = market.pool
    free, reserved = int(pool.freeLiquidity()), int(pool.reserved())
    assert int(pool.balanceOf(lp)) > int(pool.convertToShares(free))  # the reserve binds for this LP

    assert int(pool.maxRedeem(lp)) == int(pool.maxWithdraw(lp)) == 0
    with reverts("ERC4626ExceededMaxRedeem", owner=lp, shares=1, max=0):
        pool.redeem(1, lp, lp, sender=lp)
    with reverts("ERC4626ExceededMaxWithdraw", owner=lp, assets=1, max=0):
        pool.withdraw(1, lp, lp, sender=lp)
    # Closed means closed: even zero is refused (no Withdraw event for nothing).
    with reverts("ERC4626ExceededMaxRedeem", owner=lp, shares=0, max=0):
        pool.redeem(0, lp, lp, sender=lp)
    with reverts("ERC4626ExceededMaxWithdraw", owner=lp, assets=0, max=0):
        pool.withdraw(0, lp, lp, sender=lp)
    assert int(pool.totalSupply()) > 0 and int(pool.maxDeposit(bob)) == int(pool.maxMint(bob)) == 0
    with reverts("ERC4626ExceededMaxDeposit", receiver=bob, assets=USDC, max=0):
        pool.deposit(USDC, bob, sender=bob)
    with reverts("ERC4626ExceededMaxMint", receiver=bob, shares=10**12, max=0):
        pool.mint(10**12, bob, sender=bob)

    # A request for the shares worth the free liquidity and ~10 units more.
    shares = int(pool.convertToShares(free)) + 10 * 10**6
    quote = market.request_redeem(lp, shares)
    next_round(market, lp)
    assert int(pool.previewSettleRedeem(lp)) == quote > free  # the request's price (fees since only add)

    # Another LP's entry raises the free liquidity by exactly its assets: to one unit below the request.
    lp_enter(market, bob, quote - free - 1)
    assert int(pool.freeLiquidity()) == quote - 1 and int(pool.previewSettleRedeem(lp)) == quote
    with reverts("InsufficientLiquidity", free=quote - 1, needed=quote):
        pool.settleRedeem(lp, sender=bob)
    assert int(pool.redeemRequest(lp)[0]) == shares  # the request stays

    # One more unit: the request is worth exactly the free liquidity and settles, leaving the reserve.
    lp_enter(market, bob, 1)
    assert int(pool.freeLiquidity()) == quote and int(pool.previewSettleRedeem(lp)) == quote
    supply = int(pool.totalSupply())
    lp_usdc = int(usdc.balanceOf(lp))
    assert market.settle_redeem(bob, lp) == quote
    assert int(usdc.balanceOf(lp)) == lp_usdc + quote
    assert int(pool.freeLiquidity()) == 0 and int(pool.liquidity()) == int(pool.reserved()) == reserved
    assert int(pool.totalSupply()) == supply - shares and tuple(pool.redeemRequest(lp)) == (0, 0, 0)


# ---------------------------------------------------------------- partial liquidation at the minimum position


def _partial_rest(params: model.MarketParams, size: int, margin: int, price_wad: int) -> model.Position:
    """What a partial liquidation at `price_wad` leaves of a long opened at PRICE (no borrow fee: the
    index stays at 1)."""
    opened = model.open_position(params, is_long=True, size=size, price_wad=PRICE * WAD, margin=margin,
                                 fee_index_wad=WAD, open_interest=0, free_liquidity=10**30)
    outcome = model.liquidate_one(params, opened.position, price_wad, WAD, 0)
    assert outcome is not None and not outcome.full and outcome.position is not None
    return outcome.position


@pytest.mark.parametrize("bound", ["min_notional", "min_margin"])
@pytest.mark.parametrize("above", [0, 1])
def test_partial_liquidation_may_leave_exactly_the_minimum(new_market, protocol, alice, keeper, set_price,
                                                           bound, above):
    """The rest of a partial liquidation may be exactly the minimum position (`minNotional`) or keep
    exactly the minimum margin (`minMargin`): partial; one unit more of that bound and the same
    liquidation is full. (Neither bound decides anything else on this path.)"""
    size, margin, price = ETH, 400 * USDC, 2_735
    probe = MarketParams.default(6).with_(asset_decimals=6, borrow_rate_wad=0)
    rest = _partial_rest(probe, size, margin, price * WAD)

    def measure(position) -> int:
        if bound == "min_margin":
            return int(position.margin)
        return model.notional_up(int(position.size), price * WAD, probe.scale)

    exact = measure(rest)
    market = new_market(borrow_rate_wad=0, **{bound: exact + above})
    vault = market.open(alice, is_long=True, size=size, margin=margin, nonce=48)
    set_price(price)
    event = protocol.liquidator.liquidate(vault, sender=keeper).decode_logs(market.pool.Liquidated)[0]
    assert event.full == bool(above)
    if not above:
        assert measure(market.position(vault)) == exact


def test_partial_liquidation_that_leaves_the_margin_unchanged_moves_no_token(
        new_market, protocol, owner, feed, alice, keeper, set_price, usdc):
    """The tie of a partial liquidation: the closed part's profit pays exactly the fees, the bonus
    and the penalty, so the margin is what it was and neither the vault nor the pool sends anything
    (no zero-value transfer either: some tokens revert on one, which would block the liquidation).
    A long opened under 10 % IM whose market is tightened to IM = T = 25 %, MM = 20 % is
    liquidatable just above its entry, where its PnL is positive; the model finds the margin and the
    8-decimal price of the tie."""
    base = model.MarketParams.default(6).with_(asset_decimals=6, borrow_rate_wad=0)
    tight = dict(initial_margin_wad=WAD // 4, maintenance_margin_wad=WAD // 5, liquidation_target_wad=WAD // 4)
    margin, answer = 400 * USDC + 1, 3_068_384_955_00  # found with the model (8-decimal feed answer)
    opened = model.open_position(base, is_long=True, size=ETH, price_wad=PRICE * WAD, margin=margin,
                                 fee_index_wad=WAD, open_interest=0, free_liquidity=10**30).position
    expected = model.liquidate_one(base.with_(**tight), opened, answer * 10**10, WAD, 0)
    assert expected is not None and not expected.full and expected.position.margin == margin
    assert expected.vault_to_pool == expected.pool_to_vault == 0 and expected.pnl_closed > 0

    market = new_market(borrow_rate_wad=0)
    vault = market.open(alice, is_long=True, size=ETH, margin=margin, nonce=49)
    on_chain = _model_position(market, vault)
    assert (on_chain.margin, on_chain.max_profit, on_chain.fee_base_wad) == (
        opened.margin, opened.max_profit, opened.fee_base_wad)
    apply_params(protocol, market.pool, market.params().with_(**tight), owner)
    feed.setAnswer(answer, sender=owner)
    receipt = protocol.liquidator.liquidate(vault, sender=keeper)
    event = receipt.decode_logs(market.pool.Liquidated)[0]
    assert not event.full and int(event.closedSize) == expected.closed_size
    after = _model_position(market, vault)
    assert int(after.margin) == margin and int(after.size) == ETH - expected.closed_size
    assert int(usdc.balanceOf(vault)) == margin
    moves = [(t["from"], t["to"], int(t["value"])) for t in receipt.decode_logs(usdc.Transfer)]
    assert [m for m in moves if vault in (m[0], m[1])] == [] and all(m[2] > 0 for m in moves)


# ---------------------------------------------------------------- a pool's creation


def test_fee_index_starts_at_one_when_the_pool_is_created(protocol, owner, usdc, oracle, chain, set_price, project):
    """The borrow fee accrues from the pool's creation, not from the epoch: the index is exactly
    1 + rate * (seconds since the creation block)."""
    set_price(PRICE)
    params = MarketParams.default(6)
    receipt = protocol.factory.createPool(usdc, oracle, params.as_tuple(), 100 * USDC, "f", "f", sender=owner)
    pool = at(project.MarginPool, receipt.decode_logs(protocol.factory.PoolCreated)[0].pool)
    created = chain.blocks[receipt.block_number].timestamp
    chain.mine(timestamp=created + 1_000)
    elapsed = chain.blocks.head.timestamp - created
    assert int(pool.currentFeeIndex()) == WAD + params.borrow_rate_wad * elapsed


def test_pool_refuses_a_settlement_token_over_18_decimals(project, owner, oracle):
    """The pool's own guard (the factory refuses such an asset earlier, by name too): a position's margin
    field holds 2**88 - 1 units, 309 million tokens at 18 decimals and too few past it."""
    token = owner.deploy(project.MockERC20, "Too fine", "TF", 19)
    params = MarketParams.default(6)
    with reverts("UnsupportedAssetDecimals", decimals=19):
        owner.deploy(project.MarginPool, owner, owner, owner, owner, token, oracle, params.as_tuple(), "x", "x", 1)
