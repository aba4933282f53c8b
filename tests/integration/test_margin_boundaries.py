"""The initial-margin test of remove margin at its exact boundary, on a size whose notional is not a whole
number of assets: the requirement `IM * size * price` is rounded up, once (MarginMath.initialMarginTest)."""

from __future__ import annotations

from ringfence import model
from ringfence.abi import at
from tests.conftest import ETH, USDC, apply_params, reverts

WAD = 10**18


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def test_remove_margin_requirement_is_on_the_notional_rounded_up(protocol, market, pool, owner, params, alice,
                                                                 project):
    # No borrow fee: the fees owed stay the open fee, so the boundary does not move between blocks.
    apply_params(protocol, pool, params.with_(borrow_rate_wad=0), owner)
    size = ETH + 1  # IM * notional = 300.0000000000000003 USDC: rounded up, one unit more than rounded down
    vault = market.open(alice, is_long=True, size=size, margin=400 * USDC, nonce=7)
    position = pool.position(vault)
    entry, scale = int(position.entryPriceWad), int(pool.priceScale())
    required = model.notional_ratio_up(size, entry, params.initial_margin_wad, scale)
    assert required == _ceil_div(size * entry * params.initial_margin_wad, scale * WAD)
    assert required > model.notional_ratio_down(size, entry, params.initial_margin_wad, scale), "a size where it matters"
    fees = int(at(project.PositionVault, vault).feesOwed())
    removable = int(position.margin) - fees - required
    assert removable > 0
    with reverts("InsufficientMargin", available=required - 1, required=required):
        pool.removeMargin(vault, removable + 1, alice, sender=alice)
    pool.removeMargin(vault, removable, alice, sender=alice)
    assert int(pool.position(vault).margin) - fees == required


def test_long_liquidation_price_once_fees_exceed_the_margin(protocol, market, pool, owner, params, alice, chain,
                                                            project):
    """Fees beyond the margin add to the long's bankruptcy numerator (MarginMath._longBankruptcyNumerator)."""
    apply_params(protocol, pool, params.with_(borrow_rate_wad=10**18 // (365 * 86400)), owner)
    vault = market.open(alice, is_long=True, size=ETH, margin=400 * USDC, nonce=8)
    chain.mine(timestamp=chain.pending_timestamp + 90 * 86400)  # ~740 USDC of borrow fee on 3,000
    v = at(project.PositionVault, vault)
    p = pool.position(vault)
    fees = int(v.feesOwed())
    assert fees > int(p.margin)
    expected = model.liquidation_price(True, int(p.size), int(p.entryPriceWad), int(p.margin), fees,
                                       int(pool.priceScale()), params.maintenance_margin_wad)
    assert int(v.liquidationPrice()) == expected
    assert int(v.bankruptcyPrice()) == model.bankruptcy_price(True, int(p.size), int(p.entryPriceWad), int(p.margin),
                                                              fees, int(pool.priceScale()))


def test_adding_or_removing_zero_margin_is_refused_by_name(market, pool, alice):
    """A zero amount is refused (ZeroAmount) and moves nothing: no event, no change to the position."""
    vault = market.open(alice, is_long=True, size=ETH, margin=400 * USDC, nonce=8)
    before = pool.position(vault)
    with reverts("ZeroAmount"):
        market.remove_margin(alice, vault, 0)
    with reverts("ZeroAmount"):
        market.add_margin(alice, vault, 0)
    assert pool.position(vault) == before
