"""Seeded price paths: geometric Brownian motion with Poisson jumps, plus scheduled events (a crash
within an hour, a partial recovery, a slow bleed with rising volatility).

Floats live here only: a path is a list of float prices, one per block, that the oracle policy
(:mod:`ringfence.sim.oracle`) rounds to the feed's integer answers before anything reaches a chain.
The generator is :class:`random.Random` (its Gaussian draws are specified and stable across
versions), so one seed always gives the same path.
"""

from __future__ import annotations

import math
import random

from ringfence.sim.scenario import EventSpec, PriceSpec

__all__ = ["event_drift", "price_path", "volatility_at"]

YEAR = 365 * 24 * 3600
DAY = 24 * 3600


def event_drift(events: tuple[EventSpec, ...], t0: int, t1: int) -> float:
    """The log-move the scheduled events add between ``t0`` and ``t1`` (seconds from the start):
    each event's ``log(1 + change)`` spread evenly over its window."""
    move = 0.0
    for e in events:
        overlap = max(0, min(t1, e.at + e.duration) - max(t0, e.at))
        if overlap:
            move += math.log(1 + float(e.change)) * overlap / e.duration
    return move


def volatility_at(base: float, events: tuple[EventSpec, ...], t: int) -> float:
    """The annualised volatility at ``t``: the base, ramped linearly to an event's ``volatility_to``
    over its window (a bleed with rising volatility) and held there afterwards."""
    sigma = base
    for e in events:
        if e.volatility_to is None or t < e.at:
            continue
        frac = min(1.0, (t - e.at) / e.duration)
        sigma = sigma + (float(e.volatility_to) - sigma) * frac
    return sigma


def price_path(spec: PriceSpec, start: float, n_blocks: int, block_time: int, seed: int) -> list[float]:
    """``n_blocks + 1`` prices: the start, then the price at the end of each block."""
    rng = random.Random(seed)
    dt = block_time / YEAR
    base_vol = float(spec.volatility)
    drift = float(spec.drift)
    jump_p = float(spec.jumps_per_day) * block_time / DAY
    prices = [start]
    log_p = math.log(start)
    for i in range(n_blocks):
        t0, t1 = i * block_time, (i + 1) * block_time
        move = event_drift(spec.events, t0, t1)
        sigma = volatility_at(base_vol, spec.events, t1)
        z = rng.gauss(0.0, 1.0)
        step = (drift - 0.5 * sigma * sigma) * dt + sigma * math.sqrt(dt) * z + move
        if jump_p and rng.random() < jump_p:
            step += rng.gauss(float(spec.jump_mean), float(spec.jump_stdev) or 1e-12)
        log_p += step
        prices.append(math.exp(log_p))
    return prices
