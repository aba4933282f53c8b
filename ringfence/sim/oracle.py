"""A Chainlink-like round policy: a new round when the price has moved by the deviation threshold
since the last round, or when the heartbeat has elapsed; between rounds the chain sees the last
answer (stale-ish steps, not every tick).

Answers are exact integers in the feed's decimals (rounded half up from the float path); the
pool's oracle adapter scales them to WAD (``answer * 10**(18 - decimals)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from ringfence.sim.scenario import ScenarioOracle

__all__ = ["Round", "rounds", "to_answer"]


@dataclass(frozen=True)
class Round:
    block: int  # the block (step) at which the round is published
    answer: int  # in the feed's decimals
    reason: str  # "start" | "deviation" | "heartbeat"

    def price_wad(self, decimals: int) -> int:
        return self.answer * 10 ** (18 - decimals)


def to_answer(price: float, decimals: int) -> int:
    return int((Decimal(repr(price)) * 10**decimals).to_integral_value(ROUND_HALF_UP))


def rounds(path: list[float], spec: ScenarioOracle, block_time: int, *, start_answer: int | None = None) -> list[Round]:
    """The rounds a Chainlink-style feed publishes along ``path`` (one price per block; block 0 is the
    start). The first round is the start price (or ``start_answer``, the feed's existing answer)."""
    first = start_answer if start_answer is not None else to_answer(path[0], spec.decimals)
    out = [Round(0, first, "start")]
    last, last_t = first, 0
    for block in range(1, len(path)):
        answer = to_answer(path[block], spec.decimals)
        t = block * block_time
        if Fraction(abs(answer - last), last) >= spec.deviation:
            reason = "deviation"
        elif t - last_t >= spec.heartbeat:
            reason = "heartbeat"
        else:
            continue
        out.append(Round(block, answer, reason))
        last, last_t = answer, t
    return out
