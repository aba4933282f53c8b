"""Scenario files: typed dataclasses, loaded from YAML and validated.

Every problem is a :class:`ScenarioError` naming the field (``markets[0].oracle.deviation``) and
what is wrong, raised before anything touches a chain. Units in the file are human ones: prices in
USD, amounts in whole settlement tokens, ratios as ``"5%"`` or ``0.05``, times as ``"30m"``,
``"1h"``, ``"2d"`` (a bare integer is a number of blocks). ``${VAR}`` in a string is replaced by the
environment variable ``VAR`` (for a fork's feed and token addresses).

Money never goes through a float: ratios become :class:`fractions.Fraction` and then exact WAD
integers, amounts exact integers of the token's smallest unit.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml

from ringfence.paths import ROOT
from ringfence.sdk import SECONDS_PER_YEAR, MarketParams

__all__ = [
    "EventSpec", "KeeperSpec", "LpSpec", "MarketSpec", "OracleSpec", "PriceSpec", "Scenario",
    "ScenarioError", "TraderSpec", "find_scenario", "load_scenario", "parse_scenario",
]

WAD = 10**18
SCENARIO_DIRS = (ROOT / "scenarios", ROOT / "tests" / "sim")


class ScenarioError(ValueError):
    """A scenario file that cannot be run: ``field`` names where, the message says why."""

    def __init__(self, where: str, message: str):
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


# ------------------------------------------------------------------------------------ parsing helpers
_DURATION = re.compile(r"^(?:\d+(?:\.\d+)?(?:s|m|h|d))+$")
_PART = re.compile(r"(\d+(?:\.\d+)?)(s|m|h|d)")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_ENV = re.compile(r"\$\{(\w+)\}")


def _expand(value: Any, where: str) -> Any:
    if isinstance(value, str):
        def sub(m: re.Match[str]) -> str:
            if m.group(1) not in os.environ:
                raise ScenarioError(where, f"environment variable {m.group(1)} is not set")
            return os.environ[m.group(1)]
        return _ENV.sub(sub, value)
    if isinstance(value, dict):
        return {k: _expand(v, f"{where}.{k}" if where else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


def ratio(value: Any, where: str, *, signed: bool = False) -> Fraction:
    """``"5%"``, ``"-35%"``, ``0.05`` or ``"0.05"`` as an exact fraction."""
    text = str(value).strip().replace("_", "")
    try:
        if text.endswith("%"):
            result = Fraction(Decimal(text[:-1].strip().lstrip("+"))) / 100
        else:
            result = Fraction(Decimal(text.lstrip("+")))
    except (InvalidOperation, ValueError):
        raise ScenarioError(where, f"{value!r} is not a ratio (e.g. 5% or 0.05)") from None
    if not signed and result < 0:
        raise ScenarioError(where, f"{value!r} must not be negative")
    return result


def amount(value: Any, where: str) -> Decimal:
    text = str(value).strip().replace("_", "").replace(",", "")
    try:
        result = Decimal(text)
    except InvalidOperation:
        raise ScenarioError(where, f"{value!r} is not a number") from None
    if result < 0:
        raise ScenarioError(where, f"{value!r} must not be negative")
    return result


def seconds(value: Any, where: str, block_time: int) -> int:
    """A time as seconds: ``"30m"``; a bare integer is a number of blocks."""
    if isinstance(value, bool):
        raise ScenarioError(where, f"{value!r} is not a time")
    if isinstance(value, int):
        return value * block_time
    text = str(value).replace(" ", "")
    if not _DURATION.match(text):
        raise ScenarioError(where, f"{value!r} is not a time (e.g. 45m, 1h30m, 2d, or a block count)")
    return int(sum(Decimal(n) * _UNITS[u] for n, u in _PART.findall(text)))


def blocks(value: Any, where: str, block_time: int) -> int:
    return -(-seconds(value, where, block_time) // block_time)


def _int_range(value: Any, where: str, lo: int = 0) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value, value]
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value)):
        raise ScenarioError(where, f"{value!r} is not [min, max] of integers")
    a, b = value
    if a < lo or b < a:
        raise ScenarioError(where, f"need {lo} <= min <= max, got {value}")
    return a, b


def _check_keys(raw: Any, allowed: set[str], where: str, required: frozenset[str] | set[str] = frozenset()) -> dict[str, Any]:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ScenarioError(where, f"expected a mapping, got {type(raw).__name__}")
    unknown = set(raw) - allowed
    if unknown:
        raise ScenarioError(where, f"unknown field(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
    missing = required - set(raw)
    if missing:
        raise ScenarioError(where, f"missing field(s) {sorted(missing)}")
    return raw


# ------------------------------------------------------------------------------------ the dataclasses
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
class OracleSpec:
    deviation: Fraction = Fraction(5, 1000)  # 0.5 %
    heartbeat: int = 3600  # seconds
    decimals: int = 8
    max_age: int = 7200  # the adapter's staleness bound (seconds), >= heartbeat


@dataclass(frozen=True)
class MarketSpec:
    id: str
    start_price: Decimal | None  # None: read from an existing feed
    decimals: int
    params: MarketParams
    price: PriceSpec
    oracle: OracleSpec
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
    markets: tuple[MarketSpec, ...]
    traders: TraderSpec
    lps: LpSpec
    keepers: tuple[KeeperSpec, ...]
    sample_every: int = 5
    close_at_end: bool = True
    path: str | None = None

    @property
    def duration(self) -> int:
        return self.blocks * self.block_time

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


# ------------------------------------------------------------------------------------ loading
_PARAM_RATIOS = {
    "initial_margin": "initial_margin_wad", "maintenance_margin": "maintenance_margin_wad",
    "liquidation_target": "liquidation_target_wad", "keeper_bonus": "keeper_bonus_wad",
    "liquidation_penalty": "liquidation_penalty_wad", "open_fee": "open_fee_wad",
    "close_fee": "close_fee_wad", "max_profit": "max_profit_wad",
}
_PARAM_AMOUNTS = {
    "min_margin": "min_margin", "min_notional": "min_notional",
    "max_position_notional": "max_position_notional", "max_open_interest": "max_open_interest",
    "keeper_bonus_min": "keeper_bonus_min", "keeper_bonus_max": "keeper_bonus_max",
}


def _market_params(raw: Any, decimals: int, where: str) -> MarketParams:
    raw = _check_keys(raw, set(_PARAM_RATIOS) | set(_PARAM_AMOUNTS) | {"borrow_rate_per_year"}, where)
    params = MarketParams.default(decimals)
    changes: dict[str, int] = {}
    for key, value in raw.items():
        if key in _PARAM_RATIOS:
            text = str(value).strip()
            r = ratio(text.removesuffix("x"), f"{where}.{key}")
            changes[_PARAM_RATIOS[key]] = int(r * WAD)
        elif key in _PARAM_AMOUNTS:
            changes[_PARAM_AMOUNTS[key]] = int(amount(value, f"{where}.{key}") * 10**decimals)
        else:
            changes["borrow_rate_wad"] = int(ratio(value, f"{where}.{key}") * WAD) // SECONDS_PER_YEAR
    params = params.with_(**changes)
    if not params.maintenance_margin_wad < params.initial_margin_wad <= WAD:
        raise ScenarioError(where, "need maintenance_margin < initial_margin <= 100%")
    if not params.keeper_bonus_wad + params.liquidation_penalty_wad < params.liquidation_target_wad:
        raise ScenarioError(where, "need keeper_bonus + liquidation_penalty < liquidation_target")
    return params


def _events(raw: Any, where: str, block_time: int, horizon: int) -> tuple[EventSpec, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ScenarioError(where, "expected a list of events")
    out = []
    for i, item in enumerate(raw):
        w = f"{where}[{i}]"
        item = _check_keys(item, {"type", "at", "duration", "change", "volatility_to"}, w,
                           {"type", "at", "duration", "change"})
        kind = str(item["type"])
        if kind not in ("crash", "recovery", "bleed", "move"):
            raise ScenarioError(f"{w}.type", f"{kind!r} is not one of crash, recovery, bleed, move")
        at = seconds(item["at"], f"{w}.at", block_time)
        duration = seconds(item["duration"], f"{w}.duration", block_time)
        if duration <= 0:
            raise ScenarioError(f"{w}.duration", "must be > 0")
        if at >= horizon:
            raise ScenarioError(f"{w}.at", f"starts after the scenario ends ({horizon} s)")
        change = ratio(item["change"], f"{w}.change", signed=True)
        if change <= -1:
            raise ScenarioError(f"{w}.change", "a move cannot take the price to zero or below")
        if kind == "crash" and change >= 0 or kind == "recovery" and change <= 0:
            raise ScenarioError(f"{w}.change", f"a {kind} needs a {'negative' if kind == 'crash' else 'positive'} change")
        vol_to = ratio(item["volatility_to"], f"{w}.volatility_to") if "volatility_to" in item else None
        out.append(EventSpec(kind, at, duration, change, vol_to))
    return tuple(out)


def _address(value: Any, where: str) -> str | None:
    if value in (None, ""):
        return None
    text = str(value)
    if not re.fullmatch(r"0x[0-9a-fA-F]{40}", text):
        raise ScenarioError(where, f"{text!r} is not an address")
    return text


def parse_scenario(raw: Any, *, name: str | None = None, path: str | None = None) -> Scenario:
    """A :class:`Scenario` from the YAML's data (raises :class:`ScenarioError`)."""
    raw = _check_keys(raw, {"name", "description", "seed", "blocks", "block_time", "markets", "traders",
                            "lps", "keepers", "sample_every", "close_at_end"}, "",
                      {"blocks", "markets", "traders", "keepers"})
    raw = _expand(raw, "")
    block_time = raw.get("block_time", 12)
    if not isinstance(block_time, int) or block_time < 1:
        raise ScenarioError("block_time", "must be a positive integer (seconds)")
    n_blocks = raw["blocks"]
    if isinstance(n_blocks, str):
        n_blocks = blocks(n_blocks, "blocks", block_time)
    if not isinstance(n_blocks, int) or n_blocks < 2:
        raise ScenarioError("blocks", "must be an integer >= 2 (or a time such as 6h)")
    horizon = n_blocks * block_time

    if not isinstance(raw["markets"], list) or not raw["markets"]:
        raise ScenarioError("markets", "need a non-empty list of markets")
    markets = []
    for i, m in enumerate(raw["markets"]):
        w = f"markets[{i}]"
        m = _check_keys(m, {"id", "start_price", "decimals", "params", "price", "oracle", "insurance_fund",
                            "feed", "token"}, w, {"id"})
        decimals = m.get("decimals", 6)
        if not isinstance(decimals, int) or not 0 <= decimals <= 18:
            raise ScenarioError(f"{w}.decimals", "must be an integer in [0, 18]")
        feed = _address(m.get("feed"), f"{w}.feed")
        start = amount(m["start_price"], f"{w}.start_price") if "start_price" in m else None
        if start is None and feed is None:
            raise ScenarioError(f"{w}.start_price", "needed unless the market uses an existing feed")
        if start is not None and start <= 0:
            raise ScenarioError(f"{w}.start_price", "must be > 0")
        p = _check_keys(m.get("price"), {"volatility", "drift", "jumps", "events"}, f"{w}.price")
        j = _check_keys(p.get("jumps"), {"per_day", "mean", "stdev"}, f"{w}.price.jumps")
        price = PriceSpec(
            volatility=ratio(p.get("volatility", "50%"), f"{w}.price.volatility"),
            drift=ratio(p.get("drift", 0), f"{w}.price.drift", signed=True),
            jumps_per_day=ratio(j.get("per_day", 0), f"{w}.price.jumps.per_day"),
            jump_mean=ratio(j.get("mean", 0), f"{w}.price.jumps.mean", signed=True),
            jump_stdev=ratio(j.get("stdev", 0), f"{w}.price.jumps.stdev"),
            events=_events(p.get("events"), f"{w}.price.events", block_time, horizon),
        )
        o = _check_keys(m.get("oracle"), {"deviation", "heartbeat", "decimals", "max_age"}, f"{w}.oracle")
        heartbeat = seconds(o.get("heartbeat", "1h"), f"{w}.oracle.heartbeat", block_time)
        oracle = OracleSpec(
            deviation=ratio(o.get("deviation", "0.5%"), f"{w}.oracle.deviation"),
            heartbeat=heartbeat,
            decimals=int(o.get("decimals", 8)),
            max_age=seconds(o.get("max_age", f"{2 * heartbeat}s"), f"{w}.oracle.max_age", block_time),
        )
        if heartbeat < block_time:
            raise ScenarioError(f"{w}.oracle.heartbeat", f"must be at least one block ({block_time} s)")
        if oracle.max_age < heartbeat:
            raise ScenarioError(f"{w}.oracle.max_age", "must be at least the heartbeat")
        if not 0 <= oracle.decimals <= 18:
            raise ScenarioError(f"{w}.oracle.decimals", "must be in [0, 18]")
        markets.append(MarketSpec(
            id=str(m["id"]), start_price=start, decimals=decimals,
            params=_market_params(m.get("params"), decimals, f"{w}.params"), price=price, oracle=oracle,
            insurance_fund=int(amount(m.get("insurance_fund", 0), f"{w}.insurance_fund") * 10**decimals),
            feed=feed, token=_address(m.get("token"), f"{w}.token"),
        ))
    if len({m.id for m in markets}) != len(markets):
        raise ScenarioError("markets", "market ids must be unique")

    w = "traders"
    t = _check_keys(raw["traders"], {"count", "positions", "leverage", "notional", "long_fraction",
                                     "open_window", "close", "topup"}, w, {"count"})
    if not isinstance(t["count"], int) or t["count"] < 1:
        raise ScenarioError("traders.count", "must be an integer >= 1")
    lev = t.get("leverage", [2, 8])
    if not (isinstance(lev, list) and len(lev) == 2):
        raise ScenarioError("traders.leverage", "expected [min, max]")
    lev_lo, lev_hi = ratio(lev[0], "traders.leverage[0]"), ratio(lev[1], "traders.leverage[1]")
    max_lev = min(Fraction(WAD, m.params.initial_margin_wad) for m in markets)
    if not 1 <= lev_lo <= lev_hi <= max_lev:
        raise ScenarioError("traders.leverage", f"need 1 <= min <= max <= {float(max_lev):g} (1 / initial margin)")
    n = _check_keys(t.get("notional"), {"median", "sigma", "min", "max"}, "traders.notional")
    window = t.get("open_window", [0, 0])
    if not (isinstance(window, list) and len(window) == 2):
        raise ScenarioError("traders.open_window", "expected [start, end]")
    ow = tuple(_window_point(v, f"traders.open_window[{i}]", block_time, n_blocks) for i, v in enumerate(window))
    if not 0 <= ow[0] <= ow[1] < n_blocks:
        raise ScenarioError("traders.open_window", "need 0 <= start <= end < blocks")
    c = _check_keys(t.get("close"), {"fraction", "after"}, "traders.close")
    after = c.get("after", [0, 0])
    hold = tuple(blocks(v, f"traders.close.after[{i}]", block_time) for i, v in enumerate(after)) \
        if isinstance(after, list) and len(after) == 2 else None
    if hold is None or hold[0] > hold[1]:
        raise ScenarioError("traders.close.after", "expected [min, max] (times or blocks)")
    u = _check_keys(t.get("topup"), {"fraction", "below_health", "to_health", "budget", "every"}, "traders.topup")
    traders = TraderSpec(
        count=t["count"],
        positions=_int_range(t.get("positions", [1, 2]), "traders.positions", lo=1),
        leverage=(lev_lo, lev_hi),
        notional_median=amount(n.get("median", 5000), "traders.notional.median"),
        notional_sigma=ratio(n.get("sigma", 0.5), "traders.notional.sigma"),
        notional_min=amount(n.get("min", 100), "traders.notional.min"),
        notional_max=amount(n.get("max", 100_000), "traders.notional.max"),
        long_fraction=_unit(t.get("long_fraction", 0.5), "traders.long_fraction"),
        open_window=ow,  # type: ignore[arg-type]
        close_fraction=_unit(c.get("fraction", 0), "traders.close.fraction"),
        hold=hold,  # type: ignore[arg-type]
        topup_fraction=_unit(u.get("fraction", 0), "traders.topup.fraction"),
        topup_below=ratio(u.get("below_health", 1.5), "traders.topup.below_health"),
        topup_to=ratio(u.get("to_health", 3), "traders.topup.to_health"),
        topup_budget=ratio(u.get("budget", 1), "traders.topup.budget"),
        topup_every=blocks(u.get("every", 1), "traders.topup.every", block_time),
    )
    if traders.topup_to <= traders.topup_below or traders.topup_below <= 1:
        raise ScenarioError("traders.topup", "need 1 < below_health < to_health")
    if not 0 < traders.notional_min <= traders.notional_median <= traders.notional_max:
        raise ScenarioError("traders.notional", "need 0 < min <= median <= max")

    lp = _check_keys(raw.get("lps"), {"count", "deposit"}, "lps")
    lps = LpSpec(count=int(lp.get("count", 1)), deposit=amount(lp.get("deposit", 1_000_000), "lps.deposit"))
    if lps.count < 1 or lps.deposit <= 0:
        raise ScenarioError("lps", "need at least one LP with a positive deposit")

    if not isinstance(raw["keepers"], list):
        raise ScenarioError("keepers", "expected a list of keepers (each: delay, gas_budget)")
    keepers = []
    for i, k in enumerate(raw["keepers"]):
        k = _check_keys(k, {"delay", "gas_budget", "batch_size"}, f"keepers[{i}]")
        spec = KeeperSpec(delay=int(k.get("delay", 1)), gas_budget=int(k.get("gas_budget", 5_000_000)),
                          batch_size=int(k.get("batch_size", 50)))
        if spec.delay < 0 or spec.gas_budget < 300_000 or spec.batch_size < 1:
            raise ScenarioError(f"keepers[{i}]", "need delay >= 0, gas_budget >= 300000, batch_size >= 1")
        keepers.append(spec)
    if len(keepers) > 4:
        raise ScenarioError("keepers", "at most 4 keepers (they use the node's test accounts)")

    seed = raw.get("seed", 0)
    if not isinstance(seed, int):
        raise ScenarioError("seed", "must be an integer")
    sample_every = raw.get("sample_every", 5)
    if not isinstance(sample_every, int) or sample_every < 1:
        raise ScenarioError("sample_every", "must be an integer >= 1")
    return Scenario(
        name=str(raw.get("name") or name or "scenario"), description=str(raw.get("description", "")),
        seed=seed, blocks=n_blocks, block_time=block_time, markets=tuple(markets), traders=traders,
        lps=lps, keepers=tuple(keepers), sample_every=sample_every,
        close_at_end=bool(raw.get("close_at_end", True)), path=path,
    )


def _unit(value: Any, where: str) -> Fraction:
    r = ratio(value, where)
    if r > 1:
        raise ScenarioError(where, "must be within [0, 1]")
    return r


def _window_point(value: Any, where: str, block_time: int, n_blocks: int) -> int:
    if isinstance(value, str) and value.strip().endswith("%"):
        return int(ratio(value, where) * (n_blocks - 1))
    return blocks(value, where, block_time)


def find_scenario(name_or_path: str) -> Path:
    """A scenario's file: a path, or a name looked up in ``scenarios/`` (then ``tests/sim/``)."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") and path.exists():
        return path
    for folder in SCENARIO_DIRS:
        candidate = folder / f"{name_or_path}.yaml"
        if candidate.exists():
            return candidate
    known = sorted(p.stem for p in (ROOT / "scenarios").glob("*.yaml"))
    raise ScenarioError("", f"no scenario {name_or_path!r} (a .yaml path, or one of {known})")


def load_scenario(name_or_path: str | Path) -> Scenario:
    path = find_scenario(str(name_or_path))
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ScenarioError(str(path), f"not valid YAML: {exc}") from None
    try:
        return parse_scenario(raw, name=path.stem, path=str(path))
    except ScenarioError as exc:
        raise ScenarioError(f"{path.name}: {exc.where}" if exc.where else path.name, str(exc).split(": ", 1)[-1]) from None

