"""Replays of the LP skim (docs/security-checklist.md R2; tests/PROPERTIES.md R2), each shown not to
pay any more, with the same capital: 9,000,000 USDC against the 1,000,000 USDC pool.

The defence has two parts (docs/known-issues.md §2, docs/maths.md "LP share price"):
- the share price is marked to market (``totalAssets`` counts the open positions' unrealized PnL and the
  fees they owe), so closing or liquidating a position does not move it;
- once a pool has shares, LPs enter and leave by requests settled on an oracle round published after the
  request, at the worse of the request's and the settlement's share price.

What an LP round trip can still earn is what any LP earns by holding shares over the same interval
(from the settlement of its deposit to its redemption request): ``_holding_gain`` reads it on chain."""

from __future__ import annotations

import pytest

from tests.conftest import ETH, USDC, advance_to, next_round, reverts

FLASH = 9_000_000 * USDC
SHARE_UNIT = 10**12  # one asset unit is 10**6 shares (decimals offset 6): 10**12 shares = 1 USDC


@pytest.fixture
def skimmer(owner, project, market, protocol, usdc):
    contract = owner.deploy(project.LpSkimmer, market.pool, protocol.liquidator)
    usdc.mint(contract, FLASH, sender=owner)
    return contract


def _value(pool, holder) -> int:
    """The marked value of ``holder``'s shares (what they are worth at the oracle price now)."""
    return int(pool.convertToAssets(pool.balanceOf(holder)))


def _fees_per_second(market) -> int:
    """What the open positions' borrow fees add to the marked LP assets each second (rounded up)."""
    notional = sum(int(market.pool.openInterest(side)[1]) for side in (True, False))
    return -(-notional * market.params().borrow_rate_wad // 10**18)


def _underwater_long(market, alice, set_price):
    """A 100 ETH long at 3,000 with 31,000 of margin, then a round at 2,760: the trader has lost 24,000 and
    the position is liquidatable (equity 6,970 - fees < 5 % of 276,000)."""
    vault = market.open(alice, is_long=True, size=100 * ETH, margin=31_000 * USDC, nonce=1)
    set_price(2_760)
    assert market.state(vault).liquidatable
    return vault


def _settle_round_trip(market, skimmer, keeper):
    """After a deposit request of the skimmer: next round, settle (by the keeper), request the redemption
    of every share at once, next round, settle. Returns (shares, holding gain, assets paid back)."""
    pool = market.pool
    next_round(market, keeper)
    shares = market.settle_deposit(keeper, skimmer)
    value_at_settlement = _value(pool, skimmer)
    quote = int(skimmer.requestRedeemAll(sender=keeper).decode_logs(pool.RedeemRequested)[0].quoteAssets)
    holding_gain = quote - value_at_settlement  # the shares' value change between the two (one block)
    next_round(market, keeper)
    paid = market.settle_redeem(keeper, skimmer)
    return shares, holding_gain, paid


# ---------------------------------------------------------------- (a) deposit -> realize -> redeem


def test_flash_deposit_liquidate_redeem_in_one_transaction_cannot_be_done(market, skimmer, alice, keeper, set_price,
                                                                          project):
    """(a) in one transaction: the ERC-4626 deposit is closed once the pool has shares, and a deposit request
    cannot be settled before an oracle round published after it. Both attempts revert by name; nothing moves."""
    pool = market.pool
    vault = _underwater_long(market, alice, set_price)
    with reverts("ERC4626ExceededMaxDeposit", max=0):
        skimmer.skimSync(vault, FLASH, sender=keeper)
    updated_at = int(project.ChainlinkOracle.at(pool.oracle()).latestPrice()[1])
    with reverts("RequestNotReady", priceUpdatedAt=updated_at):
        skimmer.skimRequested(vault, FLASH, sender=keeper)
    assert market.position(vault).status == 1  # still open: both transactions were undone
    assert int(pool.balanceOf(skimmer)) == 0 and int(pool.pendingDeposits()) == 0


def test_deposit_around_a_liquidation_takes_nothing_from_the_lps(market, protocol, skimmer, alice, lp, keeper,
                                                                  set_price):
    """(a) around a mempool transaction: the 9M deposit is requested before the liquidation, settled on the
    next round, and redeemed right after. Before the fix the 1M LP kept 1,227.19 of a 12,271.89 gain and the
    attacker took 11,044.71. Now the liquidation does not move the share price (the loss was already
    marked), so the LP keeps its whole value and the attacker gets back at most its deposit plus what its
    shares earned while held (one block of borrow fees)."""
    pool = market.pool
    vault = _underwater_long(market, alice, set_price)
    lp_value = _value(pool, lp)
    price_per_share = int(pool.convertToAssets(SHARE_UNIT))
    realized = int(pool.liquidity())

    skimmer.requestDeposit(FLASH, sender=keeper)
    protocol.liquidate(keeper, vault)
    realized_gain = int(pool.liquidity()) - realized
    assert realized_gain > 10_000 * USDC  # what the old share price would have jumped by
    # The marked share price did not jump with the realization (it moved by the keeper's and the fund's
    # cut only if the pool paid them, and here the vault's equity paid both).
    assert abs(int(pool.convertToAssets(SHARE_UNIT)) - price_per_share) <= 1

    _, holding_gain, paid = _settle_round_trip(market, skimmer, keeper)
    assert paid <= FLASH + max(holding_gain, 0)
    assert paid - FLASH < realized_gain // 10_000  # was 11,044.71 of 12,271.89
    assert _value(pool, lp) >= lp_value


# ---------------------------------------------------------------- (b) redeem before a winning close


def test_redeeming_before_a_large_winning_close_dodges_nothing(market, alice, lp, keeper, set_price, chain):
    """(b): the LP asks to redeem just before a trader's large winning close. Before the fix it left its share
    of the 30,000 loss to the other LPs; now the trader's unrealized profit is already out of the share
    price when the LP asks, the close does not move it, and the redemption pays what it would have paid
    had it been asked after the close."""
    pool = market.pool
    vault = market.open(alice, is_long=True, size=100 * ETH, margin=31_000 * USDC, nonce=2)
    set_price(3_300)  # +30,000 for the trader, below its cap (5 x 30,000)
    shares = int(pool.balanceOf(lp)) // 2
    quote = market.request_redeem(lp, shares)
    marked, per_second, t0 = int(pool.totalAssets()), _fees_per_second(market), chain.blocks.head.timestamp
    payout = market.close(alice, vault)
    assert payout > 31_000 * USDC + 29_000 * USDC
    # The close realizes what was marked; only its close fee (0.1 % of 330,000) is new LP income (and the
    # borrow fee of the seconds between the two reads), which the redeemer does not share: its quote was
    # taken before.
    close_fee = 330 * USDC
    elapsed = chain.blocks.head.timestamp - t0
    assert -2 <= int(pool.totalAssets()) - marked - close_fee <= per_second * elapsed + 2
    assert quote <= int(pool.convertToAssets(shares)) + 1  # asking before the close got no more
    next_round(market, keeper)
    expected = int(pool.previewSettleRedeem(lp))
    assert market.settle_redeem(keeper, lp) == expected
    assert abs(expected - quote) <= 1


# ---------------------------------------------------------------- (c) front-running an oracle round


def test_depositing_before_a_known_losing_round_buys_at_the_new_price(market, skimmer, alice, lp, keeper, feed,
                                                                       owner, set_price, chain):
    """(c): the attacker sees the next round (2,900, traders net long 100 ETH lose 10,000) and asks to deposit
    before it. The request's quote is at the old price; the settlement is on a later round and mints the fewer
    shares of the two, so the 10,000 stays with the LP who bore the risk."""
    pool = market.pool
    market.open(alice, is_long=True, size=100 * ETH, margin=31_000 * USDC, nonce=3)
    lp_value = _value(pool, lp)
    quote = int(skimmer.requestDeposit(FLASH, sender=keeper).decode_logs(pool.DepositRequested)[0].quoteShares)
    advance_to(chain, chain.blocks.head.timestamp + 1)  # Anvil dates blocks of one second alike
    set_price(2_900)  # the round the attacker saw coming
    marked_shares = int(pool.previewDeposit(FLASH))
    assert marked_shares < quote
    assert int(pool.previewSettleDeposit(skimmer)) == marked_shares
    shares, holding_gain, paid = _settle_round_trip_after_round(market, skimmer, keeper)
    assert shares <= marked_shares  # a few more seconds of borrow fees raised the price since the preview
    assert paid <= FLASH + max(holding_gain, 0)
    assert _value(pool, lp) - lp_value >= 10_000 * USDC - 1


def test_a_round_in_the_same_second_as_the_request_does_not_settle_it(market, skimmer, alice, keeper, feed,
                                                                      project):
    """(c) at its tightest: the round the attacker front-runs lands in the same block as its request (here in
    the same transaction). Settlement needs a round dated strictly after the request."""
    pool = market.pool
    market.open(alice, is_long=True, size=100 * ETH, margin=31_000 * USDC, nonce=5)
    receipt = skimmer.roundThenRequest(feed, int(feed.latestAnswer()) * 29 // 30, FLASH, sender=keeper)
    requested_at = market.lp_requests(skimmer).deposit_time
    assert requested_at == _updated_at(project, pool) == receipt.timestamp
    with reverts("RequestNotReady", requestedAt=requested_at, priceUpdatedAt=requested_at):
        market.settle_deposit(keeper, skimmer)
    next_round(market, keeper)
    assert market.settle_deposit(keeper, skimmer) <= int(pool.previewDeposit(FLASH)) + 1


def _updated_at(project, pool) -> int:
    return int(project.ChainlinkOracle.at(pool.oracle()).latestPrice()[1])


def _settle_round_trip_after_round(market, skimmer, keeper):
    """Like ``_settle_round_trip`` when the round after the request has already been published."""
    pool = market.pool
    shares = market.settle_deposit(keeper, skimmer)
    value_at_settlement = _value(pool, skimmer)
    quote = int(skimmer.requestRedeemAll(sender=keeper).decode_logs(pool.RedeemRequested)[0].quoteAssets)
    next_round(market, keeper)
    paid = market.settle_redeem(keeper, skimmer)
    return shares, quote - value_at_settlement, paid


def test_redeeming_before_a_known_winning_round_bears_the_loss(market, alice, lp, keeper, set_price, chain):
    """(c) reversed: an LP who sees a round that makes traders win (3,100: +10,000 for a 100 ETH long) asks to
    redeem before it. It is paid the fewer assets of the two prices: its share of the loss is its own."""
    pool = market.pool
    market.open(alice, is_long=True, size=100 * ETH, margin=31_000 * USDC, nonce=4)
    shares = int(pool.balanceOf(lp)) // 2
    quote = market.request_redeem(lp, shares)
    advance_to(chain, chain.blocks.head.timestamp + 1)  # Anvil dates blocks of one second alike
    set_price(3_100)
    marked, per_second, t0 = int(pool.convertToAssets(shares)), _fees_per_second(market), chain.blocks.head.timestamp
    assert quote - marked > 4_999 * USDC  # half the pool's shares bear half the 10,000 (less 2 s of fees)
    paid = market.settle_redeem(keeper, lp)
    # The borrow fees of the seconds since the read, on half the shares, at most.
    assert marked <= paid <= marked + per_second * (chain.blocks.head.timestamp - t0) // 2 + 1
