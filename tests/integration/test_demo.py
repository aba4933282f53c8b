"""The README's demo runs end to end and shows consistent vaults."""

from __future__ import annotations

import io

from rich.console import Console

from ringfence.demo import run_demo


def test_demo_opens_four_isolated_vaults_and_prints_them(accounts, project):
    out = io.StringIO()
    states = run_demo(accounts, project, Console(file=out, width=160))
    assert len(states) == 4
    assert len({s.address for s in states}) == 4
    text = out.getvalue()
    assert "Vaults at ETH = 3,000" in text and "liq. price" in text
    for s in states:
        assert s.price_wad == 2800 * 10**18
        assert not s.liquidatable
        # Longs are liquidated below their liquidation price, shorts above it.
        assert (s.liquidation_price_wad < s.price_wad) if s.is_long else (s.liquidation_price_wad > s.price_wad)
