"""The Lens's batch view of vaults: one row per vault asked for, in order, agreeing with the vault's own
views (the same price, fee index and maths); an empty list gives an empty answer; a vault that is not
open reads as its status with no maths."""

from __future__ import annotations

from ringfence.chain.contracts import struct_fields
from tests.conftest import ETH, USDC


def _market(lens, pool, vaults):
    """``Lens.market`` with its outputs named (the state's fields, and each view's)."""
    raw_state, raw_views = lens.market(pool, vaults)
    state = dict(zip(struct_fields("Lens", "market"), raw_state, strict=True))
    views = [dict(zip(struct_fields("Lens", "vaults"), v, strict=True)) for v in raw_views]
    return state, views


def test_lens_vaults_answers_exactly_the_vaults_asked_for(protocol, market, open_vault, alice, bob):
    long_vault = open_vault(alice, is_long=True, size=ETH, margin=400 * USDC, nonce=0)
    short_vault = open_vault(bob, is_long=False, size=2 * ETH, margin=900 * USDC, nonce=0)
    lens = protocol.lens

    assert list(lens.vaults(market.pool, [])) == []

    views = list(lens.vaults(market.pool, [short_vault, long_vault]))
    assert [str(v.vault) for v in views] == [short_vault, long_vault]
    for view, vault, owner in ((views[0], short_vault, bob), (views[1], long_vault, alice)):
        state = market.state(vault)
        assert str(view.owner) == str(owner) and int(view.status) == 1
        assert bool(view.isLong) == state.is_long and int(view.size) == state.size
        assert int(view.entryPriceWad) == state.entry_price_wad and int(view.margin) == state.margin
        assert int(view.fees) == state.fees and int(view.equity) == state.equity
        assert int(view.health) == state.health_wad
        assert int(view.liquidationPriceWad) == state.liquidation_price_wad
        assert bool(view.liquidatable) == state.liquidatable

    market.close(alice, long_vault)
    closed, = lens.vaults(market.pool, [long_vault])
    assert int(closed.status) == 2 and int(closed.size) == 0 and not closed.liquidatable


def test_lens_market_reads_the_pool_and_its_vaults_in_one_call(protocol, market, open_vault, alice, bob, feed,
                                                               owner, chain):
    """``Lens.market`` (the CLI's one read of a market; the SDK falls back to the pool's own reads when it
    reverts, so only a direct call shows it): the pool's state, and the same rows as ``Lens.vaults``, with
    no vault, with some, and with the oracle refusing the price (no maths, the status only)."""
    long_vault = open_vault(alice, is_long=True, size=ETH, margin=400 * USDC, nonce=0)
    short_vault = open_vault(bob, is_long=False, size=2 * ETH, margin=900 * USDC, nonce=0)
    lens, pool = protocol.lens, market.pool

    state, views = _market(lens, pool, [])
    assert views == [] and state["priceOk"] and not state["paused"]
    assert (int(state["priceWad"]), int(state["feeIndex"])) == (3_000 * 10**18, int(pool.currentFeeIndex()))
    assert (int(state["liquidity"]), int(state["reserved"]), int(state["totalAssets"])) == (
        int(pool.liquidity()), int(pool.reserved()), int(pool.totalAssets()))

    _, views = _market(lens, pool, [short_vault, long_vault])
    assert [tuple(v.values()) for v in views] == [tuple(v) for v in lens.vaults(pool, [short_vault, long_vault])]
    assert [str(v["vault"]) for v in views] == [short_vault, long_vault] and all(int(v["size"]) > 0 for v in views)

    chain.mine(timestamp=chain.pending_timestamp + 2 * 3600)  # past the oracle's one-hour maxAge
    stale, views = _market(lens, pool, [long_vault])
    assert not stale["priceOk"] and int(stale["totalAssets"]) == 0
    assert str(views[0]["vault"]) == long_vault and int(views[0]["status"]) == 1 and int(views[0]["size"]) == 0
