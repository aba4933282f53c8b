"""The LP request path (IMarginPool.requestDeposit / requestRedeem / settleDeposit / settleRedeem): each rule,
its named error, and what it moves. tests/PROPERTIES.md R2."""

from __future__ import annotations

from tests.conftest import ETH, USDC, lp_enter, next_round, reverts


def _updated_at(project, pool) -> int:
    return int(project.ChainlinkOracle.at(pool.oracle()).latestPrice()[1])


def test_sync_entry_and_exit_are_closed_once_the_pool_has_shares(market, lp, bob):
    pool = market.pool
    assert int(pool.totalSupply()) > 0
    assert (int(pool.maxDeposit(bob)), int(pool.maxMint(bob))) == (0, 0)
    assert (int(pool.maxWithdraw(lp)), int(pool.maxRedeem(lp))) == (0, 0)
    with reverts("ERC4626ExceededMaxDeposit", receiver=bob, assets=1, max=0):
        market.deposit(bob, 1)
    with reverts("ERC4626ExceededMaxRedeem", owner=lp, shares=1, max=0):
        pool.redeem(1, lp, lp, sender=lp)
    with reverts("ERC4626ExceededMaxWithdraw", owner=lp, assets=1, max=0):
        pool.withdraw(1, lp, lp, sender=lp)


def test_a_deposit_request_holds_the_assets_apart_until_a_later_round(market, bob, keeper, project, usdc):
    """The assets leave the depositor at once but count neither as LP liquidity nor in the share price;
    the request settles only on a round published after it, by anyone, for the quoted shares at most."""
    pool = market.pool
    liquidity, marked, balance = int(pool.liquidity()), int(pool.totalAssets()), int(usdc.balanceOf(pool))
    quote = market.request_deposit(bob, 50_000 * USDC)
    assert quote == int(pool.convertToShares(50_000 * USDC))
    assert int(usdc.balanceOf(pool)) - balance == 50_000 * USDC
    assert int(pool.pendingDeposits()) == 50_000 * USDC
    assert (int(pool.liquidity()), int(pool.totalAssets())) == (liquidity, marked)
    requested = market.lp_requests(bob)
    assert (requested.deposit_assets, requested.deposit_quote_shares) == (50_000 * USDC, quote)

    with reverts("RequestNotReady", requestedAt=requested.deposit_time, priceUpdatedAt=_updated_at(project, pool)):
        market.settle_deposit(keeper, bob)
    with reverts("RequestPending", controller=bob):
        market.request_deposit(bob, 1)

    next_round(market, keeper)
    expected = int(pool.previewSettleDeposit(bob))
    assert 0 < expected <= quote
    assert market.settle_deposit(keeper, bob) == expected  # a keeper settles it for bob
    assert int(pool.balanceOf(bob)) == expected and int(pool.balanceOf(keeper)) == 0
    assert int(pool.liquidity()) == liquidity + 50_000 * USDC and int(pool.pendingDeposits()) == 0
    assert market.lp_requests(bob).deposit_assets == 0
    with reverts("NoRequest", controller=bob):
        market.settle_deposit(keeper, bob)


def test_a_redeem_request_holds_the_shares_and_pays_the_fewer_assets(market, lp, keeper, usdc):
    pool = market.pool
    shares = int(pool.balanceOf(lp)) // 4
    quote = market.request_redeem(lp, shares)
    assert int(pool.balanceOf(pool)) == shares  # held by the pool; still in the supply until settled
    assert market.lp_requests(lp).redeem_shares == shares
    with reverts("RequestPending", controller=lp):
        market.request_redeem(lp, 1)
    next_round(market, keeper)
    before = int(usdc.balanceOf(lp))
    expected = int(pool.previewSettleRedeem(lp))
    assert expected <= quote
    assert market.settle_redeem(keeper, lp) == expected
    assert int(usdc.balanceOf(lp)) - before == expected
    assert int(pool.balanceOf(pool)) == 0
    with reverts("NoRequest", controller=lp):
        market.settle_redeem(keeper, lp)


def test_redeem_for_another_owner_needs_its_allowance(market, lp, bob, keeper):
    pool = market.pool
    with reverts("ERC20InsufficientAllowance", spender=bob, allowance=0, needed=10**12):
        pool.requestRedeem(10**12, bob, lp, sender=bob)
    pool.approve(bob, 10**12, sender=lp)
    pool.requestRedeem(10**12, bob, lp, sender=bob)  # bob is the controller: bob is paid
    assert int(pool.allowance(lp, bob)) == 0
    next_round(market, keeper)
    assert market.settle_redeem(keeper, bob) > 0


def test_a_redemption_waits_for_free_liquidity_and_settles_once_it_is_there(market, lp, alice, keeper):
    """The reserve binds: a request worth more than the free liquidity stays pending with
    InsufficientLiquidity(free, assets), and settles (at the worse of the two prices) once a close frees it."""
    pool = market.pool
    vault = market.open(alice, is_long=True, size=300 * ETH, margin=100_000 * USDC, nonce=1)
    free = int(pool.freeLiquidity())
    assert free < int(pool.totalAssets())
    quote = market.request_redeem(lp, int(pool.balanceOf(lp)))
    next_round(market, keeper)
    assets = int(pool.previewSettleRedeem(lp))
    assert assets > free
    with reverts("InsufficientLiquidity", free=free, needed=assets):
        market.settle_redeem(keeper, lp)
    market.close(alice, vault)
    paid = market.settle_redeem(keeper, lp)
    assert paid <= quote


def test_a_redemption_within_the_free_liquidity_settles(market, lp, alice, keeper):
    """Just under the free liquidity (the exact boundary moves with every second of borrow fees, which raise
    the marked price between a read and the next block)."""
    pool = market.pool
    market.open(alice, is_long=True, size=300 * ETH, margin=100_000 * USDC, nonce=1)
    free = int(pool.freeLiquidity())
    shares = int(pool.convertToShares(free - 1 * USDC))
    market.request_redeem(lp, shares)
    next_round(market, keeper)
    expected = int(pool.previewSettleRedeem(lp))
    assert free - 1 * USDC - 1 <= expected < int(pool.freeLiquidity())
    assert market.settle_redeem(keeper, lp) == expected


def test_zero_amounts_and_dust_are_refused(market, lp):
    """Zero, and amounts that would buy no share or pay no asset unit at the quote."""
    with reverts("ZeroAmount"):
        market.request_deposit(lp, 0)
    with reverts("ZeroAmount"):
        market.request_redeem(lp, 0)
    pool = market.pool
    # 10**5 shares are worth less than one asset unit (10**6 shares per unit at a price near 1).
    assert int(pool.convertToAssets(10**5)) == 0
    with reverts("ZeroAmount"):
        market.request_redeem(lp, 10**5)
    assert int(pool.convertToAssets(2 * 10**6)) >= 1
    market.request_redeem(lp, 2 * 10**6)  # one unit or more: accepted
    # Zero is refused as zero first, before the controller and the pending request are looked at.
    with reverts("ZeroAmount"):
        pool.requestRedeem(0, lp, lp, sender=lp)  # lp's redemption is pending
    with reverts("ZeroAmount"):
        pool.requestRedeem(0, "0x" + "00" * 20, lp, sender=lp)
    with reverts("ZeroAmount"):
        pool.requestDeposit(0, "0x" + "00" * 20, sender=lp)


def test_sweep_leaves_pending_deposits_alone(market, bob, mallory, usdc, keeper):
    pool = market.pool
    market.request_deposit(bob, 1_000 * USDC)
    usdc.transfer(pool, 7 * USDC, sender=mallory)
    fund = pool.insuranceFund()
    before = int(usdc.balanceOf(fund))
    assert int(pool.sweep(sender=keeper).decode_logs(pool.Swept)[0].amount) == 7 * USDC
    assert int(usdc.balanceOf(fund)) - before == 7 * USDC
    next_round(market, keeper)
    market.settle_deposit(keeper, bob)
    assert int(pool.liquidity()) >= 1_000 * USDC


def test_the_marked_price_is_refused_with_the_oracles_error(market, chain, keeper, bob):
    """A refused price refuses requests and settlements by name (no share price is invented)."""
    pool = market.pool
    market.request_deposit(bob, 1_000 * USDC)
    chain.mine(timestamp=chain.blocks.head.timestamp + 3_601)
    with reverts("StalePrice"):
        pool.totalAssets()
    with reverts("StalePrice"):
        market.settle_deposit(keeper, bob)


def test_a_second_lp_enters_at_the_marked_price(market, alice, bob, keeper, set_price):
    """With a trader 10,000 down (unrealized), a new LP's 100,000 buys shares at the marked price: the old
    LP keeps the 10,000; the new LP's shares are worth at most what it paid."""
    pool = market.pool
    market.open(alice, is_long=True, size=100 * ETH, margin=31_000 * USDC, nonce=1)
    set_price(2_900)
    shares = lp_enter(market, bob, 100_000 * USDC, keeper)
    assert int(pool.convertToAssets(shares)) <= 100_000 * USDC
    assert int(pool.convertToAssets(shares)) >= 100_000 * USDC - 2


def test_a_request_for_the_zero_address_is_refused(market, lp):
    """Nothing could ever be minted or paid to it: the assets or shares would be stuck."""
    zero = "0x0000000000000000000000000000000000000000"
    with reverts("ERC20InvalidReceiver", receiver=zero):
        market.request_deposit(lp, 1_000 * USDC, controller=zero)
    with reverts("ERC20InvalidReceiver", receiver=zero):
        market.request_redeem(lp, 10**12, controller=zero)
