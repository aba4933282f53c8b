"""The agents, planned from the seed before the chain is touched: traders (their positions: market,
side, leverage, notional, when they open and maybe close, whether they top up), LPs and keepers.

Sizes and margins are fixed at open time from the oracle price the chain shows then (exact
integers): ``size = notional * scale / price`` and ``margin = ceil(notional / leverage) + open fee``
so that the initial-margin test passes at any leverage up to ``1 / IM``.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from ringfence import model
from ringfence.sdk import MarketParams
from ringfence.sim.scenario import Scenario

__all__ = ["PlannedPosition", "Trader", "plan_traders", "size_and_margin"]


@dataclass
class PlannedPosition:
    trader: int
    index: int  # the trader's vault nonce
    market: int
    is_long: bool
    leverage: Fraction  # two decimals
    notional: int  # assets
    open_block: int
    close_block: int | None  # an early close by the trader (None: held to the end)
    topup_budget: int = 0  # assets, set at open (budget x margin)
    # filled by the runner
    vault: str | None = None
    opened: bool = False
    failed: str | None = None


@dataclass
class Trader:
    index: int
    topper: bool  # tops up margin when a vault's health falls
    guarded: bool = False  # holds a MarginGuard policy on each vault, funded from a reserve (keepers top up)
    positions: list[PlannedPosition] = field(default_factory=list)


def _notional(rng: random.Random, scenario: Scenario, decimals: int) -> int:
    t = scenario.traders
    value = float(t.notional_median) * math.exp(float(t.notional_sigma) * rng.gauss(0.0, 1.0))
    value = min(max(value, float(t.notional_min)), float(t.notional_max))
    return int(Decimal(f"{value:.2f}") * 10**decimals)


def plan_traders(scenario: Scenario) -> list[Trader]:
    """Every trader and position of the scenario (deterministic from its seed)."""
    rng = random.Random(scenario.seed * 1_000_003 + 17)
    t = scenario.traders
    traders = []
    for i in range(t.count):
        trader = Trader(i, topper=rng.random() < float(t.topup_fraction))
        for j in range(rng.randint(*t.positions)):
            market = rng.randrange(len(scenario.markets))
            lo, hi = t.leverage
            lev = Fraction(round(rng.uniform(float(lo), float(hi)) * 100), 100)
            lev = min(max(lev, lo), hi)
            open_block = rng.randint(*t.open_window)
            close_block = None
            if t.close_fraction and rng.random() < float(t.close_fraction) and t.hold[1] > 0:
                close_block = open_block + rng.randint(max(1, t.hold[0]), t.hold[1])
                if close_block >= scenario.blocks:
                    close_block = None
            trader.positions.append(PlannedPosition(
                trader=i, index=j, market=market, is_long=rng.random() < float(t.long_fraction),
                leverage=lev, notional=_notional(rng, scenario, scenario.markets[market].decimals),
                open_block=open_block, close_block=close_block))
        traders.append(trader)
    # Who holds a guard policy: drawn from a stream of its own, so the plans above (and the price
    # paths) are the same with and without the guard.
    guard_rng = random.Random(scenario.seed * 1_000_033 + 29)
    for trader in traders:
        trader.guarded = guard_rng.random() < float(t.guard_fraction)
    return traders


def size_and_margin(params: MarketParams, scale: int, notional: int, leverage: Fraction,
                    price_wad: int) -> tuple[int, int]:
    """``(size WAD, margin assets)`` for a position of about ``notional`` at ``leverage``, opened at
    ``price_wad``; the margin passes the initial-margin test (fee included, rounded up)."""
    size = notional * scale // price_wad
    exact_notional = model.notional_up(size, price_wad, scale)
    open_fee = model.requirement_up(exact_notional, params.open_fee_wad)
    required = model.requirement_up(exact_notional, params.initial_margin_wad)
    by_leverage = -(-exact_notional * leverage.denominator // leverage.numerator)
    margin = max(required, by_leverage) + open_fee + 1
    return size, max(margin, params.min_margin)
