"""Off-chain figures reported next to the gas table (timed, never asserted).

The keeper's decision time — after a price update, how long it takes to decide which vaults to
liquidate — comes from the keeper itself, through two hooks, each skipped (with the reason in the
report) while its piece of ``ringfence.keeper`` does not exist or does not work:

* ``ringfence.keeper.decision_timing.decision_figures(n_vaults, move=...)``: the keeper's decision timing on
  a synthetic market (:data:`SYNTHETIC_SIZES` vaults, price −5 %);
* ``ringfence.keeper.index.VaultIndex`` over the bench's real vaults: the positions of the batch's
  vaults as the pool returns them (``refresh``), keyed and sorted (``commit``), then ``candidates`` at
  the price that makes them liquidatable.
"""

from __future__ import annotations

import importlib
import importlib.util
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

SYNTHETIC_SIZES = (1_000, 10_000, 100_000)
SYNTHETIC_MOVE = -0.05


@dataclass
class OffchainFigure:
    name: str
    value: float | None  # seconds (or None when skipped)
    unit: str
    detail: str

    def cell(self) -> str:
        if self.value is None:
            return "skipped"
        if self.unit != "s":
            return f"{self.value:g} {self.unit}"
        return f"{self.value * 1e6:.0f} µs" if self.value < 1e-3 else f"{self.value * 1000:.1f} ms"


def _module(name: str) -> tuple[Any | None, str]:
    try:
        if importlib.util.find_spec("ringfence.keeper") is None:
            return None, "ringfence.keeper does not exist yet"
        if importlib.util.find_spec(name) is None:
            return None, f"{name} does not exist yet"
        return importlib.import_module(name), ""
    except Exception as exc:  # noqa: BLE001 - a keeper under construction may not import cleanly
        return None, f"{name} failed to import: {exc!r}"


def keeper_synthetic_figures(sizes: Sequence[int] = SYNTHETIC_SIZES,
                             move: float = SYNTHETIC_MOVE) -> list[OffchainFigure]:
    """The keeper's decision timing (``ringfence.keeper.decision_timing.decision_figures``)."""
    mod, why = _module("ringfence.keeper.decision_timing")
    name = "keeper decision (synthetic market)"
    if mod is None or not callable(getattr(mod, "decision_figures", None)):
        return [OffchainFigure(name, None, "s", why or "no decision_figures() in ringfence.keeper.decision_timing")]
    out = []
    for n in sizes:
        try:
            f = mod.decision_figures(n, move=move)
        except Exception as exc:  # noqa: BLE001 - reported, never fatal
            out.append(OffchainFigure(f"{name}, {n:,} vaults", None, "s", f"decision_figures raised {exc!r}"))
            continue
        out.append(OffchainFigure(
            f"keeper decision, {n:,} synthetic vaults, price {move:+.0%}", float(f.decision_seconds), "s",
            f"ringfence.keeper.decision_timing.decision_figures, best of 5: {f.candidates:,} vaults to liquidate "
            f"(index build {f.build_seconds:.2f} s, hourly re-key {f.rekey_seconds:.2f} s, not included)"))
    return out


def keeper_index_figures(market: Any, vaults: Sequence[str], price_wad: int, now_ts: int) -> list[OffchainFigure]:
    """``ringfence.keeper.index.VaultIndex`` over real vaults: commit (key and sort) and candidates."""
    mod, why = _module("ringfence.keeper.index")
    name = f"keeper decision, {len(vaults)} bench vaults"
    if mod is None or not hasattr(mod, "VaultIndex"):
        return [OffchainFigure(name, None, "s", why or "no VaultIndex in ringfence.keeper.index")]
    try:
        pool = market.pool
        address = str(pool.address)
        params = market.params()
        idx = mod.VaultIndex(horizon_ts=now_ts + 3600)
        idx.add_market(address, scale=int(pool.priceScale()), mm_wad=params.maintenance_margin_wad,
                       borrow_rate_wad=params.borrow_rate_wad, fee_index=int(pool.currentFeeIndex()),
                       fee_index_ts=now_ts)
        for vault in vaults:
            idx.refresh(address, vault, pool.position(vault))  # chain reads: not timed
        t0 = time.perf_counter()
        idx.commit()
        t_commit = time.perf_counter() - t0
        best, found = float("inf"), []
        for _ in range(5):
            t0 = time.perf_counter()
            found = idx.candidates(address, price_wad)
            best = min(best, time.perf_counter() - t0)
    except Exception as exc:  # noqa: BLE001 - the keeper is under construction: report, do not fail
        return [OffchainFigure(name, None, "s", f"VaultIndex hook failed: {exc!r}")]
    missed = len(set(vaults) - set(found))
    return [
        OffchainFigure(f"keeper index: key and sort {len(vaults)} bench vaults", t_commit, "s",
                       "VaultIndex.refresh from pool.position (not timed), then commit()"),
        OffchainFigure(name, best, "s",
                       f"VaultIndex.candidates at the liquidation price, best of 5: {len(found)} candidates"
                       + (f", {missed} liquidatable vaults MISSED" if missed else ", none missed")),
    ]


def lens_confirm_figure(lens: Any, pool: Any, vaults: Sequence[str], n: int = 1_000) -> OffchainFigure:
    """The keeper's on-chain confirmation: one ``Lens.liquidatable`` eth_call over ``n`` candidates (the
    bench's vaults repeated up to ``n``), best of 3, as the keeper sends it (the node computes each)."""
    name = f"keeper confirmation of {n:,} candidates through Lens (one eth_call)"
    try:
        candidates = [vaults[i % len(vaults)] for i in range(n)]
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            flags = lens.liquidatable(pool, candidates)
            best = min(best, time.perf_counter() - t0)
    except Exception as exc:  # noqa: BLE001 - a figure, not a test: report the failure
        return OffchainFigure(name, None, "s", f"Lens call failed: {exc!r}")
    return OffchainFigure(name, best, "s", f"Lens.liquidatable on Anvil, best of 3: {sum(flags)} flagged")


def keeper_figures(market: Any, vaults: Sequence[str], price_wad: int, now_ts: int,
                   lens: Any = None) -> list[OffchainFigure]:
    figures = keeper_index_figures(market, vaults, price_wad, now_ts)
    if lens is not None:
        figures.append(lens_confirm_figure(lens, market.pool, vaults))
    return figures + keeper_synthetic_figures()
