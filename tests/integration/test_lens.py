"""The Lens's batch view of vaults: one row per vault asked for, in order, agreeing with the vault's own
views (the same price, fee index and maths); an empty list gives an empty answer; a vault that is not
open reads as its status with no maths."""

from __future__ import annotations

from tests.conftest import ETH, USDC


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
