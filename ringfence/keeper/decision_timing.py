"""Timing of the keeper's off-chain decision (no chain): how long it takes, after a price
update, to decide which vaults to liquidate given ``n`` indexed vaults.

The index is synthetic: one market (USDC-like, 6 decimals; MM 5 %, open fee 0.1 %, borrow 10 %/year),
``n`` vaults half long half short, entry prices within ±10 % of 3,000, leverage uniform in
1.5x–10x, notionals 100–100,000, none liquidatable at 3,000 (the index's steady state). The
decision is what :meth:`ringfence.keeper.Keeper.step` does between reading the price and asking
the Lens: the crossed vaults of both sides (bisection in the sorted lists) packed into
``liquidateBatch`` transactions. Timed, never asserted::

    from ringfence.keeper.decision_timing import decision_time
    seconds = decision_time(10_000)          # best of 5, default move -5 %

``python -m ringfence.keeper.decision_timing`` prints the figures for 1,000 / 10,000 / 100,000 vaults.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from ringfence import model
from ringfence.keeper.index import MarketIndex, VaultIndex, VaultRecord
from ringfence.keeper.plan import chunk_batches

__all__ = ["DecisionFigures", "build_index", "decide", "decision_figures", "decision_time"]

WAD = model.WAD
POOL = "0x" + "42" * 20
SCALE = 10**30  # 6-decimal settlement token
MM_WAD = WAD // 20
OPEN_FEE_WAD = WAD // 1000
BORROW_RATE_WAD = WAD // 10 // (365 * 24 * 3600)
START_PRICE = 3_000 * WAD
T0 = 1_800_000_000


def build_index(n_vaults: int, *, seed: int = 0) -> VaultIndex:
    """A committed synthetic index of about ``n_vaults`` open vaults in one market, none of them
    liquidatable at the start price (the few generated underwater are dropped, as a keeper would
    have liquidated them)."""
    rng = random.Random(seed)
    index = VaultIndex(horizon_ts=T0 + 3_600)
    market = index.add_market(POOL, scale=SCALE, mm_wad=MM_WAD, borrow_rate_wad=BORROW_RATE_WAD,
                              fee_index=WAD, fee_index_ts=T0)
    for i in range(n_vaults):
        is_long = i % 2 == 0
        entry = START_PRICE * rng.randint(900, 1_100) // 1_000
        notional = rng.randint(100, 100_000) * 10**6  # assets
        size = notional * SCALE // entry
        leverage_milli = rng.randint(1_500, 10_000)
        margin = notional * 1_000 // leverage_milli + notional * OPEN_FEE_WAD // WAD + 1
        market.upsert(VaultRecord(
            vault=f"0x{i:040x}", is_long=is_long, size=size, entry_price_wad=entry, margin=margin,
            max_profit=margin * 5, fee_base_wad=WAD - OPEN_FEE_WAD))
    # Steady state: what is underwater at the current price was liquidated already.
    for vault in market.candidates(START_PRICE):
        market.remove(vault)
    index.commit()
    return index


def decide(market: MarketIndex, price_wad: int, *, batch_size: int = 100) -> list[list[tuple[str, list[str]]]]:
    """The keeper's off-chain decision at ``price_wad``: the crossed vaults, packed into transactions."""
    candidates = market.candidates(price_wad)
    if not candidates:
        return []
    return chunk_batches({market.pool: candidates}, batch_size)


@dataclass(frozen=True)
class DecisionFigures:
    n_vaults: int
    move: float
    candidates: int
    decision_seconds: float  # best of `repeats`
    build_seconds: float  # building and keying the index (once; not part of the decision)
    rekey_seconds: float  # re-keying every vault at a new horizon (once an hour by default)

    def row(self) -> str:
        return (f"{self.n_vaults:>9,} vaults  move {self.move:+.1%}  {self.candidates:>7,} candidates  "
                f"decision {self.decision_seconds * 1e3:9.3f} ms  (index build {self.build_seconds:.2f} s, "
                f"re-key {self.rekey_seconds:.2f} s)")


def decision_figures(n_vaults: int, *, move: float = -0.05, repeats: int = 5, seed: int = 0,
                     batch_size: int = 100) -> DecisionFigures:
    t0 = time.perf_counter()
    index = build_index(n_vaults, seed=seed)
    build = time.perf_counter() - t0
    market = index.markets[POOL]
    price = int(START_PRICE * (1 + move))
    best = float("inf")
    count = 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        txs = decide(market, price, batch_size=batch_size)
        best = min(best, time.perf_counter() - t0)
        count = sum(len(v) for tx in txs for _, v in tx)
    t0 = time.perf_counter()
    market.set_horizon(market.horizon_ts + 3_600)
    market.commit()
    rekey = time.perf_counter() - t0
    return DecisionFigures(n_vaults, move, count, best, build, rekey)


def decision_time(n_vaults: int, *, move: float = -0.05, repeats: int = 5, seed: int = 0) -> float:
    """Seconds (best of ``repeats``) the keeper takes to decide which of ``n_vaults`` indexed vaults
    to liquidate after the price moves by ``move`` (default −5 %). Excludes building the index."""
    return decision_figures(n_vaults, move=move, repeats=repeats, seed=seed).decision_seconds


def main() -> None:  # pragma: no cover - a console report
    for n in (1_000, 10_000, 100_000):
        for move in (-0.001, -0.05, -0.20):
            print(decision_figures(n, move=move).row())


if __name__ == "__main__":  # pragma: no cover
    main()
