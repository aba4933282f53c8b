"""Bad oracle answers reach the pool as named errors and lose nothing (O1, O2, O3, O7); adding
margin never needs a price."""

from __future__ import annotations

import pytest

from ringfence.sdk import MarketParams, deploy_oracle
from tests.conftest import ETH, USDC, feed_answer, reverts

GRACE = 3600


@pytest.fixture(scope="session")
def l2(project, owner, protocol, lp, alice, chain):
    """An L2 market: its oracle checks a sequencer-uptime feed with a one-hour grace period."""
    token = owner.deploy(project.MockERC20, "USD Coin", "USDC", 6)
    feed = owner.deploy(project.MockAggregator, 8, feed_answer(3000))
    sequencer = owner.deploy(project.MockSequencerFeed)
    sequencer.setStartedAt(chain.blocks.head.timestamp - 2 * GRACE, sender=owner)
    oracle = deploy_oracle(owner, feed, max_age=3600, sequencer_feed=sequencer, grace_period=GRACE)
    market = protocol.create_market(owner, asset=token, oracle=oracle, params=MarketParams.default(6),
                                    name="l2", symbol="l2")
    token.mint(lp, 1_000_000 * USDC, sender=owner)
    market.deposit(lp, 1_000_000 * USDC)
    token.mint(alice, 1_000_000 * USDC, sender=owner)
    token.approve(market.pool, 2**256 - 1, sender=alice)
    return market, feed, sequencer


def test_sequencer_down_blocks_new_risk_but_not_adding_margin(l2, alice, owner, usdc):
    """O7: with the sequencer down nobody opens or removes margin; adding margin works."""
    market, _, sequencer = l2
    vault = market.open(alice, is_long=True, size=ETH, margin=600 * USDC, approve=False)
    sequencer.setStatus(True, sender=owner)
    with reverts("SequencerDown"):
        market.open(alice, is_long=True, size=ETH, margin=400 * USDC, nonce=1, approve=False)
    with reverts("SequencerDown"):
        market.remove_margin(alice, vault, 1 * USDC)
    market.add_margin(alice, vault, 10 * USDC, approve=False)
    assert market.position(vault).margin == 610 * USDC


def test_sequencer_grace_period_blocks_opening_until_it_ends(l2, alice, owner, chain):
    """O7: back up, but within the grace period: still no new risk."""
    market, feed, sequencer = l2
    sequencer.setStatus(False, sender=owner)  # up since now
    with reverts("SequencerGracePeriod"):
        market.open(alice, is_long=True, size=ETH, margin=400 * USDC, approve=False)
    chain.mine(timestamp=chain.blocks.head.timestamp + GRACE + 2)
    feed.setAnswer(feed_answer(3000), sender=owner)
    market.open(alice, is_long=True, size=ETH, margin=400 * USDC, approve=False)


@pytest.mark.parametrize(
    ("answer", "error"),
    [(0, "NonPositivePrice"), (-1, "NonPositivePrice")],
)
def test_bad_answer_blocks_priced_actions_and_moves_nothing(market, feed, owner, alice, usdc, open_vault,
                                                            answer, error):
    """O2: a non-positive answer stops opening, removing and closing by name; balances stay."""
    vault = open_vault()
    feed.setAnswer(answer, sender=owner)
    before = (int(usdc.balanceOf(alice)), int(usdc.balanceOf(vault)), int(usdc.balanceOf(market.pool)))
    with reverts(error):
        market.open(alice, is_long=False, size=ETH, margin=400 * USDC, nonce=1)
    with reverts(error):
        market.remove_margin(alice, vault, 1 * USDC)
    with reverts(error):
        market.close(alice, vault)
    assert (int(usdc.balanceOf(alice)), int(usdc.balanceOf(vault)), int(usdc.balanceOf(market.pool))) == before
    market.add_margin(alice, vault, 1 * USDC)


def test_stale_price_blocks_close_with_StalePrice(market, alice, open_vault, chain):
    """O1: a stale answer blocks closing by name, adding margin still works."""
    vault = open_vault()
    chain.mine(timestamp=chain.blocks.head.timestamp + 3602)
    with reverts("StalePrice"):
        market.close(alice, vault)
    market.add_margin(alice, vault, 1 * USDC)


def test_out_of_band_answer_reverts_with_PriceOutOfBounds(protocol, owner, usdc, feed, alice):
    """O3: the market's own band holds (the feed's min/max are no longer enforced upstream)."""
    banded = deploy_oracle(owner, feed, max_age=3600, min_answer=feed_answer(1000),
                           max_answer=feed_answer(10_000))
    market = protocol.create_market(owner, asset=usdc, oracle=banded, params=MarketParams.default(6),
                                    name="b", symbol="b")
    usdc.mint(owner, 1_000_000 * USDC, sender=owner)
    market.deposit(owner, 1_000_000 * USDC)
    feed.setAnswer(feed_answer(999), sender=owner)
    with reverts("PriceOutOfBounds"):
        market.open(alice, is_long=True, size=ETH, margin=400 * USDC)
