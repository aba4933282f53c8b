"""The scenario's typed form: frozen dataclasses of exact values (fractions, decimals, integers of
seconds and blocks) and :class:`ScenarioError`, which :mod:`ringfence.sim.scenario` fills from a YAML
file."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction

from ringfence.sdk import MarketParams

__all__ = [
    "EventSpec", "KeeperSpec", "LpSpec", "PriceSpec", "Scenario", "ScenarioError", "ScenarioMarket",
    "ScenarioOracle", "TraderSpec",
]


class ScenarioError(ValueError):
    """A scenario file that cannot be run: ``field`` names where, the message says why."""

    def __init__(self, where: str, message: str):
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


@dataclass(frozen=True)
class EventSpec:
    """A scheduled move: ``change`` spread evenly over ``duration`` seconds from ``at``; ``volatility_to``
    ramps the volatility linearly to that level over the same window (a slow bleed)."""

    kind: str  # crash | recovery | bleed | move
    at: int  # seconds from the start
    duration: int  # seconds (> 0)
    change: Fraction  # -0.35 for -35 %
    volatility_to: Fraction | None = None


@dataclass(frozen=True)
class PriceSpec:
    volatility: Fraction = Fraction(1, 2)  # annualised
    drift: Fraction = Fraction(0)  # annualised
    jumps_per_day: Fraction = Fraction(0)
    jump_mean: Fraction = Fraction(0)
    jump_stdev: Fraction = Fraction(0)
    events: tuple[EventSpec, ...] = ()


@dataclass(frozen=True)
class ScenarioOracle:
    deviation: Fraction = Fraction(5, 1000)  # 0.5 %
    heartbeat: int = 3600  # seconds
    decimals: int = 8
    max_age: int = 7200  # the adapter's staleness bound (seconds), >= heartbeat


@dataclass(frozen=True)
class ScenarioMarket:
    id: str
    start_price: Decimal | None  # None: read from an existing feed
    decimals: int
    params: MarketParams
    price: PriceSpec
    oracle: ScenarioOracle
    insurance_fund: int  # assets seeded into the market's insurance fund
    feed: str | None = None  # an existing Chainlink-style feed (fork)
    token: str | None = None  # an existing settlement token (fork)


@dataclass(frozen=True)
class TraderSpec:
    count: int = 10
    positions: tuple[int, int] = (1, 2)
    leverage: tuple[Fraction, Fraction] = (Fraction(2), Fraction(8))
    notional_median: Decimal = Decimal(5000)
    notional_sigma: Fraction = Fraction(1, 2)
    notional_min: Decimal = Decimal(100)
    notional_max: Decimal = Decimal(100_000)
    long_fraction: Fraction = Fraction(1, 2)
    open_window: tuple[int, int] = (0, 0)  # blocks
    close_fraction: Fraction = Fraction(0)  # positions closed early by their trader
    hold: tuple[int, int] = (0, 0)  # blocks before such a close
    topup_fraction: Fraction = Fraction(0)  # traders who top up margin when health falls
    topup_below: Fraction = Fraction(3, 2)  # health (equity / MM·N) that triggers a top-up
    topup_to: Fraction = Fraction(3)  # health a top-up restores
    topup_budget: Fraction = Fraction(1)  # top-ups per position, at most this multiple of its margin
    topup_every: int = 1  # blocks between a topper's checks
    guard_fraction: Fraction = Fraction(0)  # traders holding a MarginGuard policy on each vault (a reserve)
    guard_trigger: Fraction = Fraction(13, 10)  # the policy's trigger health
    guard_target: Fraction = Fraction(8, 5)  # the health a top-up restores
    guard_max_per_top_up: Fraction = Fraction(1, 2)  # most one top-up adds, a multiple of the position's margin
    guard_budget: Fraction = Fraction(1)  # the policy's budget (and the reserve), a multiple of the margin
    guard_fee: Decimal = Decimal(1)  # paid to the keeper per top-up (tokens; at most a tenth of the most)


@dataclass(frozen=True)
class LpSpec:
    count: int = 1
    deposit: Decimal = Decimal(1_000_000)  # per LP per market


@dataclass(frozen=True)
class KeeperSpec:
    delay: int = 1  # blocks between an oracle round and this keeper's reaction
    gas_budget: int = 5_000_000  # gas cap per liquidation transaction
    batch_size: int = 50


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    seed: int
    blocks: int
    block_time: int
    markets: tuple[ScenarioMarket, ...]
    traders: TraderSpec
    lps: LpSpec
    keepers: tuple[KeeperSpec, ...]
    sample_every: int = 5
    close_at_end: bool = True
    path: str | None = None
    guard: bool = True  # with traders.guard.fraction > 0: deploy the MarginGuard and set the policies

    @property
    def duration(self) -> int:
        return self.blocks * self.block_time

    def with_guard(self, fraction: Fraction | None = None, *, enabled: bool = True) -> Scenario:
        """A copy where ``fraction`` of the traders are marked to hold a MarginGuard policy (None: the
        scenario's share); ``enabled=False`` marks them the same but deploys no guard and sets no policy
        (the same run without the guard, its traders grouped alike)."""
        out = self
        if fraction is not None:
            if not 0 <= fraction <= 1:
                raise ScenarioError("traders.guard.fraction", "must be within [0, 1]")
            out = replace(out, traders=replace(out.traders, guard_fraction=Fraction(fraction)))
        return replace(out, guard=enabled)

    def with_sizes(self, *, traders: int | None = None, positions: tuple[int, int] | None = None,
                   blocks_: int | None = None, seed: int | None = None) -> Scenario:
        """A copy with other sizes (the command line's overrides); open windows scale with the blocks."""
        t = self.traders
        if traders is not None:
            if traders < 1:
                raise ScenarioError("traders.count", "must be >= 1")
            t = replace(t, count=traders)
        if positions is not None:
            t = replace(t, positions=positions)
        out = replace(self, traders=t)
        if blocks_ is not None:
            if blocks_ < 2:
                raise ScenarioError("blocks", "must be >= 2")
            f = Fraction(blocks_, self.blocks)
            t = out.traders
            t = replace(t, open_window=(int(t.open_window[0] * f), int(t.open_window[1] * f)),
                        hold=(max(1, int(t.hold[0] * f)) if t.hold[1] else 0, int(t.hold[1] * f)))
            out = replace(out, blocks=blocks_, traders=t)
        if seed is not None:
            out = replace(out, seed=seed)
        return out
