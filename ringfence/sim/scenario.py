"""Scenario files: loaded from YAML, validated, and turned into the typed dataclasses of
:mod:`ringfence.sim.scenario_types` (re-exported here).

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
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml

from ringfence.paths import ROOT
from ringfence.sdk import SECONDS_PER_YEAR, MarketParams
from ringfence.sim.scenario_types import (
    EventSpec,
    KeeperSpec,
    LpSpec,
    PriceSpec,
    Scenario,
    ScenarioError,
    ScenarioMarket,
    ScenarioOracle,
    TraderSpec,
)

__all__ = [
    "EventSpec", "KeeperSpec", "LpSpec", "PriceSpec", "Scenario", "ScenarioError", "ScenarioMarket",
    "ScenarioOracle", "TraderSpec", "find_scenario", "load_scenario", "parse_scenario",
]

WAD = 10**18
SCENARIO_DIRS = (ROOT / "scenarios", ROOT / "tests" / "sim")


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
    block_time, n_blocks = _parse_clock(raw)
    markets = _parse_markets(raw["markets"], block_time, n_blocks * block_time)
    traders = _parse_traders(raw["traders"], markets, block_time, n_blocks)
    lps = _parse_lps(raw.get("lps"))
    keepers = _parse_keepers(raw["keepers"])
    seed = raw.get("seed", 0)
    if not isinstance(seed, int):
        raise ScenarioError("seed", "must be an integer")
    sample_every = raw.get("sample_every", 5)
    if not isinstance(sample_every, int) or sample_every < 1:
        raise ScenarioError("sample_every", "must be an integer >= 1")
    return Scenario(
        name=str(raw.get("name") or name or "scenario"), description=str(raw.get("description", "")),
        seed=seed, blocks=n_blocks, block_time=block_time, markets=markets, traders=traders,
        lps=lps, keepers=keepers, sample_every=sample_every,
        close_at_end=bool(raw.get("close_at_end", True)), path=path,
        guard=bool(((raw["traders"] or {}).get("guard") or {}).get("enabled", True)),
    )


def _parse_clock(raw: dict[str, Any]) -> tuple[int, int]:
    """(block_time, blocks): seconds per block and the scenario's length in blocks."""
    block_time = raw.get("block_time", 12)
    if not isinstance(block_time, int) or block_time < 1:
        raise ScenarioError("block_time", "must be a positive integer (seconds)")
    n_blocks = raw["blocks"]
    if isinstance(n_blocks, str):
        n_blocks = blocks(n_blocks, "blocks", block_time)
    if not isinstance(n_blocks, int) or n_blocks < 2:
        raise ScenarioError("blocks", "must be an integer >= 2 (or a time such as 6h)")
    return block_time, n_blocks


def _parse_markets(raw: Any, block_time: int, horizon: int) -> tuple[ScenarioMarket, ...]:
    if not isinstance(raw, list) or not raw:
        raise ScenarioError("markets", "need a non-empty list of markets")
    markets = tuple(_parse_market(m, f"markets[{i}]", block_time, horizon) for i, m in enumerate(raw))
    if len({m.id for m in markets}) != len(markets):
        raise ScenarioError("markets", "market ids must be unique")
    return markets


def _parse_market(raw: Any, w: str, block_time: int, horizon: int) -> ScenarioMarket:
    m = _check_keys(raw, {"id", "start_price", "decimals", "params", "price", "oracle", "insurance_fund",
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
    price = _parse_price(m.get("price"), f"{w}.price", block_time, horizon)
    oracle = _parse_oracle(m.get("oracle"), f"{w}.oracle", block_time)
    return ScenarioMarket(
        id=str(m["id"]), start_price=start, decimals=decimals,
        params=_market_params(m.get("params"), decimals, f"{w}.params"), price=price, oracle=oracle,
        insurance_fund=int(amount(m.get("insurance_fund", 0), f"{w}.insurance_fund") * 10**decimals),
        feed=feed, token=_address(m.get("token"), f"{w}.token"),
    )


def _parse_price(raw: Any, w: str, block_time: int, horizon: int) -> PriceSpec:
    p = _check_keys(raw, {"volatility", "drift", "jumps", "events"}, w)
    j = _check_keys(p.get("jumps"), {"per_day", "mean", "stdev"}, f"{w}.jumps")
    return PriceSpec(
        volatility=ratio(p.get("volatility", "50%"), f"{w}.volatility"),
        drift=ratio(p.get("drift", 0), f"{w}.drift", signed=True),
        jumps_per_day=ratio(j.get("per_day", 0), f"{w}.jumps.per_day"),
        jump_mean=ratio(j.get("mean", 0), f"{w}.jumps.mean", signed=True),
        jump_stdev=ratio(j.get("stdev", 0), f"{w}.jumps.stdev"),
        events=_events(p.get("events"), f"{w}.events", block_time, horizon),
    )


def _parse_oracle(raw: Any, w: str, block_time: int) -> ScenarioOracle:
    o = _check_keys(raw, {"deviation", "heartbeat", "decimals", "max_age"}, w)
    heartbeat = seconds(o.get("heartbeat", "1h"), f"{w}.heartbeat", block_time)
    oracle = ScenarioOracle(
        deviation=ratio(o.get("deviation", "0.5%"), f"{w}.deviation"),
        heartbeat=heartbeat,
        decimals=int(o.get("decimals", 8)),
        max_age=seconds(o.get("max_age", f"{2 * heartbeat}s"), f"{w}.max_age", block_time),
    )
    if heartbeat < block_time:
        raise ScenarioError(f"{w}.heartbeat", f"must be at least one block ({block_time} s)")
    if oracle.max_age < heartbeat:
        raise ScenarioError(f"{w}.max_age", "must be at least the heartbeat")
    if not 0 <= oracle.decimals <= 18:
        raise ScenarioError(f"{w}.decimals", "must be in [0, 18]")
    return oracle


def _parse_traders(raw: Any, markets: tuple[ScenarioMarket, ...], block_time: int, n_blocks: int) -> TraderSpec:
    t = _check_keys(raw, {"count", "positions", "leverage", "notional", "long_fraction", "open_window",
                          "close", "topup", "guard"}, "traders", {"count"})
    if not isinstance(t["count"], int) or t["count"] < 1:
        raise ScenarioError("traders.count", "must be an integer >= 1")
    leverage = _trader_leverage(t.get("leverage", [2, 8]), markets)
    n = _check_keys(t.get("notional"), {"median", "sigma", "min", "max"}, "traders.notional")
    ow = _trader_window(t.get("open_window", [0, 0]), block_time, n_blocks)
    c = _check_keys(t.get("close"), {"fraction", "after"}, "traders.close")
    hold = _trader_hold(c.get("after", [0, 0]), block_time)
    u = _check_keys(t.get("topup"), {"fraction", "below_health", "to_health", "budget", "every"}, "traders.topup")
    g = _check_keys(t.get("guard"), {"fraction", "trigger", "target", "max_per_top_up", "budget", "fee", "enabled"},
                    "traders.guard")
    traders = TraderSpec(
        count=t["count"],
        positions=_int_range(t.get("positions", [1, 2]), "traders.positions", lo=1),
        leverage=leverage,
        notional_median=amount(n.get("median", 5000), "traders.notional.median"),
        notional_sigma=ratio(n.get("sigma", 0.5), "traders.notional.sigma"),
        notional_min=amount(n.get("min", 100), "traders.notional.min"),
        notional_max=amount(n.get("max", 100_000), "traders.notional.max"),
        long_fraction=_unit(t.get("long_fraction", 0.5), "traders.long_fraction"),
        open_window=ow,
        close_fraction=_unit(c.get("fraction", 0), "traders.close.fraction"),
        hold=hold,
        topup_fraction=_unit(u.get("fraction", 0), "traders.topup.fraction"),
        topup_below=ratio(u.get("below_health", 1.5), "traders.topup.below_health"),
        topup_to=ratio(u.get("to_health", 3), "traders.topup.to_health"),
        topup_budget=ratio(u.get("budget", 1), "traders.topup.budget"),
        topup_every=blocks(u.get("every", 1), "traders.topup.every", block_time),
        guard_fraction=_unit(g.get("fraction", 0), "traders.guard.fraction"),
        guard_trigger=ratio(g.get("trigger", 1.3), "traders.guard.trigger"),
        guard_target=ratio(g.get("target", 1.6), "traders.guard.target"),
        guard_max_per_top_up=ratio(g.get("max_per_top_up", 0.5), "traders.guard.max_per_top_up"),
        guard_budget=ratio(g.get("budget", 1), "traders.guard.budget"),
        guard_fee=amount(g.get("fee", 1), "traders.guard.fee"),
    )
    if not 1 <= traders.guard_trigger < traders.guard_target:
        raise ScenarioError("traders.guard", "need 1 <= trigger < target")
    if traders.guard_max_per_top_up <= 0 or traders.guard_budget <= 0:
        raise ScenarioError("traders.guard", "need max_per_top_up > 0 and budget > 0")
    if traders.topup_to <= traders.topup_below or traders.topup_below <= 1:
        raise ScenarioError("traders.topup", "need 1 < below_health < to_health")
    if not 0 < traders.notional_min <= traders.notional_median <= traders.notional_max:
        raise ScenarioError("traders.notional", "need 0 < min <= median <= max")
    return traders


def _trader_leverage(lev: Any, markets: tuple[ScenarioMarket, ...]) -> tuple[Fraction, Fraction]:
    if not (isinstance(lev, list) and len(lev) == 2):
        raise ScenarioError("traders.leverage", "expected [min, max]")
    lev_lo, lev_hi = ratio(lev[0], "traders.leverage[0]"), ratio(lev[1], "traders.leverage[1]")
    max_lev = min(Fraction(WAD, m.params.initial_margin_wad) for m in markets)
    if not 1 <= lev_lo <= lev_hi <= max_lev:
        raise ScenarioError("traders.leverage", f"need 1 <= min <= max <= {float(max_lev):g} (1 / initial margin)")
    return lev_lo, lev_hi


def _trader_window(window: Any, block_time: int, n_blocks: int) -> tuple[int, int]:
    if not (isinstance(window, list) and len(window) == 2):
        raise ScenarioError("traders.open_window", "expected [start, end]")
    start, end = (_window_point(v, f"traders.open_window[{i}]", block_time, n_blocks) for i, v in enumerate(window))
    if not 0 <= start <= end < n_blocks:
        raise ScenarioError("traders.open_window", "need 0 <= start <= end < blocks")
    return start, end


def _trader_hold(after: Any, block_time: int) -> tuple[int, int]:
    hold = tuple(blocks(v, f"traders.close.after[{i}]", block_time) for i, v in enumerate(after)) \
        if isinstance(after, list) and len(after) == 2 else None
    if hold is None or hold[0] > hold[1]:
        raise ScenarioError("traders.close.after", "expected [min, max] (times or blocks)")
    return hold[0], hold[1]


def _parse_lps(raw: Any) -> LpSpec:
    lp = _check_keys(raw, {"count", "deposit"}, "lps")
    lps = LpSpec(count=int(lp.get("count", 1)), deposit=amount(lp.get("deposit", 1_000_000), "lps.deposit"))
    if lps.count < 1 or lps.deposit <= 0:
        raise ScenarioError("lps", "need at least one LP with a positive deposit")
    return lps


def _parse_keepers(raw: Any) -> tuple[KeeperSpec, ...]:
    if not isinstance(raw, list):
        raise ScenarioError("keepers", "expected a list of keepers (each: delay, gas_budget)")
    keepers = []
    for i, k in enumerate(raw):
        k = _check_keys(k, {"delay", "gas_budget", "batch_size"}, f"keepers[{i}]")
        spec = KeeperSpec(delay=int(k.get("delay", 1)), gas_budget=int(k.get("gas_budget", 5_000_000)),
                          batch_size=int(k.get("batch_size", 50)))
        if spec.delay < 0 or spec.gas_budget < 300_000 or spec.batch_size < 1:
            raise ScenarioError(f"keepers[{i}]", "need delay >= 0, gas_budget >= 300000, batch_size >= 1")
        keepers.append(spec)
    if len(keepers) > 4:
        raise ScenarioError("keepers", "at most 4 keepers (they use the node's test accounts)")
    return tuple(keepers)


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

