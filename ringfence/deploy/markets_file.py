"""The markets file: what ``ape run deploy`` deploys, in human units.

A markets file (YAML; ``markets/local.yaml`` is an example) names the factory's ``owner``,
``guardian`` and owner ``delay`` (``24h`` by default; between 1h and 30d), ``defaults`` merged into
every market, and the ``markets`` by id: each a settlement ``token`` (an address, or ``deploy-mock``
on local chains), an ``oracle`` (a Chainlink ``feed`` and its bounds), the risk ``params``, and
``max_keeper_bonus_min`` (whole settlement tokens; default and largest: 100), the cap on its
keeper-bonus floor fixed at ``createPool``.

Values are human units: ratios as ``10%`` (or ``0.1``), the profit cap as ``5x``, amounts in whole
settlement tokens (``min_margin: 10``), the borrow rate per year (``borrow_rate_per_year: 10%``;
the contract takes a per-second WAD rate, so it is ``floor(to_wad(rate) / 31_536_000)``, as in
:meth:`ringfence.sdk.MarketParams.default`), durations as ``3600``, ``90m``, ``1h`` or ``2d``, and
oracle bounds in the feed's price units (``min_answer: 100`` is 100 USD for a USD feed). Every
conversion is exact (:mod:`ringfence.units`): a value with more decimals than its unit is refused.
A raw field of the Solidity struct (``borrow_rate_wad: 3170979198``) may be given instead of its
human key. The meaning of each parameter and its bounds: ``docs/risk-parameters.md``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml
from eth_utils import is_address, to_checksum_address

from ringfence.chain.deployments import DeployError
from ringfence.model import MARKET_PARAMS_FIELDS
from ringfence.sdk import DEFAULT_DELAY, MAX_KEEPER_BONUS_MIN_TOKENS, SECONDS_PER_YEAR, MarketParams
from ringfence.units import UnitError, parse_multiple, parse_number, parse_ratio, to_units

__all__ = [
    "DEPLOY_MOCK",
    "HUMAN_PARAMS",
    "PARAM_FIELDS",
    "MarketSpec",
    "MarketsFile",
    "MockFeed",
    "MockToken",
    "OracleSpec",
    "exact_units",
    "load_markets",
    "market_params",
    "parse_duration",
]

MIN_DELAY = 3600  # PoolFactory.MIN_DELAY
MAX_DELAY = 30 * 86400  # PoolFactory.MAX_DELAY
DEPLOY_MOCK = "deploy-mock"
DEPLOYER_KEYWORD = "deployer"


@dataclass(frozen=True)
class MockToken:
    """``token: {deploy-mock: {name, symbol, decimals}}``: a MockERC20 (local chains only)."""

    name: str = "USD Coin (mock)"
    symbol: str = "USDC"
    decimals: int = 6


@dataclass(frozen=True)
class MockFeed:
    """``feed: {deploy-mock: {decimals, answer}}``: a MockAggregator answering ``answer`` (human
    price units, e.g. ``3000`` for 3,000 USD) with ``decimals`` decimals."""

    decimals: int = 8
    answer: Fraction = Fraction(3000)

    @property
    def raw_answer(self) -> int:
        return exact_units(self.answer, self.decimals, "feed answer")


@dataclass(frozen=True)
class OracleSpec:
    """A ChainlinkOracle adapter. ``min_answer``/``max_answer`` are human prices (``None``: no bound)."""

    feed: str | MockFeed
    max_age: int
    min_answer: Fraction | None = None
    max_answer: Fraction | None = None
    sequencer_feed: str | None = None  # an address, DEPLOY_MOCK, or None
    grace_period: int = 0


@dataclass(frozen=True)
class MarketSpec:
    """One market of a markets file; ``params`` are the human values as written (merged with the
    file's ``defaults``), converted by :meth:`market_params` once the token's decimals are known."""

    id: str
    name: str
    symbol: str
    token: str | MockToken
    oracle: OracleSpec
    params: Mapping[str, Any]
    max_keeper_bonus_min: Fraction | None = None  # whole tokens; None: the factory's largest cap

    def market_params(self, decimals: int) -> MarketParams:
        return market_params(self.params, decimals, where=f"market {self.id}")

    def max_keeper_bonus_min_units(self, decimals: int) -> int:
        """The market's cap on its keeper-bonus floor in token units (fixed at creation)."""
        tokens = (Fraction(MAX_KEEPER_BONUS_MIN_TOKENS) if self.max_keeper_bonus_min is None
                  else self.max_keeper_bonus_min)
        return exact_units(tokens, decimals, f"market {self.id}: max_keeper_bonus_min")


@dataclass(frozen=True)
class MarketsFile:
    """A parsed markets file. ``owner``/``guardian`` ``None`` mean the deploying account; ``delay``
    is the factory's owner delay in seconds."""

    path: Path
    owner: str | None
    guardian: str | None
    markets: tuple[MarketSpec, ...]
    delay: int = DEFAULT_DELAY

    @property
    def uses_mocks(self) -> bool:
        return any(
            isinstance(m.token, MockToken) or isinstance(m.oracle.feed, MockFeed)
            or m.oracle.sequencer_feed == DEPLOY_MOCK
            for m in self.markets
        )


# (yaml key, MarketParams field, kind)
HUMAN_PARAMS: tuple[tuple[str, str, str], ...] = (
    ("initial_margin", "initial_margin_wad", "ratio"),
    ("maintenance_margin", "maintenance_margin_wad", "ratio"),
    ("liquidation_target", "liquidation_target_wad", "ratio"),
    ("keeper_bonus", "keeper_bonus_wad", "ratio"),
    ("liquidation_penalty", "liquidation_penalty_wad", "ratio"),
    ("open_fee", "open_fee_wad", "ratio"),
    ("close_fee", "close_fee_wad", "ratio"),
    ("borrow_rate_per_year", "borrow_rate_wad", "per_year"),
    ("max_profit", "max_profit_wad", "multiple"),
    ("min_margin", "min_margin", "amount"),
    ("min_notional", "min_notional", "amount"),
    ("max_position_notional", "max_position_notional", "amount"),
    ("max_open_interest", "max_open_interest", "amount"),
    ("keeper_bonus_min", "keeper_bonus_min", "amount"),
    ("keeper_bonus_max", "keeper_bonus_max", "amount"),
)
PARAM_FIELDS: tuple[str, ...] = MARKET_PARAMS_FIELDS


def _human(parse: Callable[[Any, str], Fraction], value: Any, what: str) -> Fraction:
    """``parse(value, what)`` (a parser of :mod:`ringfence.units`), its error as a DeployError."""
    try:
        return parse(value, what)
    except UnitError as exc:
        raise DeployError(str(exc)) from None


def _number(value: Any, what: str) -> Fraction:
    return _human(parse_number, value, what)


_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(s|m|h|d|w)")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: Any, what: str = "duration") -> int:
    """Seconds from ``3600``, ``"90m"``, ``"1h"``, ``"1h30m"`` or ``"2d"`` (whole seconds only)."""
    if isinstance(value, int) and not isinstance(value, bool):
        total = Fraction(value)
    elif isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        if text.isdigit():
            total = Fraction(int(text))
        else:
            parts = _DURATION.findall(text)
            if not parts or "".join(n + u for n, u in parts) != text:
                raise DeployError(f"{what}: {value!r} is not a duration (e.g. 3600, 90m, 1h, 2d)")
            total = sum((Fraction(Decimal(n)) * _UNIT_SECONDS[u] for n, u in parts), Fraction(0))
    else:
        raise DeployError(f"{what}: {value!r} is not a duration (e.g. 3600, 90m, 1h, 2d)")
    if total.denominator != 1 or total < 0:
        raise DeployError(f"{what}: {value!r} is not a whole number of seconds")
    return int(total)




def exact_units(value: Fraction, decimals: int, what: str) -> int:
    """``value`` in units of ``decimals`` decimals, exactly (else a DeployError)."""
    try:
        return to_units(value, decimals)
    except ValueError:
        raise DeployError(f"{what}: {float(value)} has more than {decimals} decimals") from None


def market_params(human: Mapping[str, Any], decimals: int, where: str = "params") -> MarketParams:
    """The SDK's :class:`MarketParams` from human values (see the module docstring) for a
    settlement token with ``decimals`` decimals. Every field must be given, once."""
    values: dict[str, int] = {}
    by_key = {key: (name, kind) for key, name, kind in HUMAN_PARAMS}
    for key, raw in human.items():
        what = f"{where}: {key}"
        if key in by_key:
            name, kind = by_key[key]
            if kind == "ratio":
                value = exact_units(_human(parse_ratio, raw, what), 18, what)
            elif kind == "per_year":
                value = exact_units(_human(parse_ratio, raw, what), 18, what) // SECONDS_PER_YEAR
            elif kind == "multiple":
                value = exact_units(_human(parse_multiple, raw, what), 18, what)
            else:
                value = exact_units(_number(raw, what), decimals, what)
        elif key in PARAM_FIELDS:
            name = key
            if isinstance(raw, bool) or not isinstance(raw, int):
                raise DeployError(f"{what}: a raw field takes an integer, got {raw!r}")
            value = raw
        else:
            known = ", ".join(k for k, _, _ in HUMAN_PARAMS)
            raise DeployError(f"{where}: unknown parameter {key!r} (known: {known})")
        if name in values:
            raise DeployError(f"{where}: {name} is given twice (human and raw)")
        if value < 0:
            raise DeployError(f"{what}: must not be negative")
        values[name] = value
    missing = [key for key, name, _ in HUMAN_PARAMS if name not in values]
    if missing:
        raise DeployError(f"{where}: missing parameters: {', '.join(missing)}")
    return MarketParams(**values)


def _address(value: Any, what: str, allow_deployer: bool = False) -> str | None:
    if value is None:
        return None
    if allow_deployer and value == DEPLOYER_KEYWORD:
        return None
    if isinstance(value, str) and is_address(value):
        return to_checksum_address(value)
    raise DeployError(f"{what}: {value!r} is not an address")


def _mock_args(value: Any, what: str) -> dict[str, Any] | None:
    """``deploy-mock`` or ``{deploy-mock: {...}}`` -> the mock's arguments; anything else None."""
    if value == DEPLOY_MOCK:
        return {}
    if isinstance(value, Mapping) and set(value) == {DEPLOY_MOCK}:
        args = value[DEPLOY_MOCK] or {}
        if not isinstance(args, Mapping):
            raise DeployError(f"{what}: deploy-mock takes a mapping of arguments")
        return dict(args)
    return None


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping) \
                and _mock_args(value, key) is None:
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _parse_token(value: Any, what: str) -> str | MockToken:
    mock = _mock_args(value, what)
    if mock is not None:
        unknown = set(mock) - {"name", "symbol", "decimals"}
        if unknown:
            raise DeployError(f"{what}: unknown mock token argument(s) {sorted(unknown)}")
        return MockToken(**mock)
    address = _address(value, what)
    if address is None:
        raise DeployError(f"{what}: a token address or deploy-mock is required")
    return address


def _parse_oracle(raw: Any, where: str) -> OracleSpec:
    if not isinstance(raw, Mapping):
        raise DeployError(f"{where}: oracle must be a mapping (feed, max_age, ...)")
    known = {"feed", "max_age", "heartbeat", "min_answer", "max_answer", "sequencer_feed",
             "grace_period"}
    unknown = set(raw) - known
    if unknown:
        raise DeployError(f"{where}: unknown oracle key(s) {sorted(unknown)}")
    if "feed" not in raw:
        raise DeployError(f"{where}: oracle.feed is required")
    mock = _mock_args(raw["feed"], f"{where}: feed")
    feed: str | MockFeed
    if mock is not None:
        unknown = set(mock) - {"decimals", "answer"}
        if unknown:
            raise DeployError(f"{where}: unknown mock feed argument(s) {sorted(unknown)}")
        feed = MockFeed(
            decimals=int(mock.get("decimals", 8)),
            answer=_number(mock.get("answer", 3000), f"{where}: feed answer"),
        )
        feed.raw_answer  # noqa: B018 - checks the answer fits the decimals now
    else:
        feed = _address(raw["feed"], f"{where}: feed") or ""
        if not feed:
            raise DeployError(f"{where}: oracle.feed is required")
    if "max_age" in raw and "heartbeat" in raw:
        raise DeployError(f"{where}: give max_age or heartbeat, not both")
    age = raw.get("max_age", raw.get("heartbeat"))
    if age is None:
        raise DeployError(f"{where}: oracle.max_age (the feed's heartbeat plus a margin) is required")
    sequencer = raw.get("sequencer_feed")
    if sequencer is not None and _mock_args(sequencer, "sequencer_feed") is not None:
        sequencer = DEPLOY_MOCK
    elif sequencer is not None:
        sequencer = _address(sequencer, f"{where}: sequencer_feed")
    min_answer = raw.get("min_answer")
    max_answer = raw.get("max_answer")
    return OracleSpec(
        feed=feed,
        max_age=parse_duration(age, f"{where}: max_age"),
        min_answer=None if min_answer in (None, 0) else _number(min_answer, f"{where}: min_answer"),
        max_answer=None if max_answer in (None, 0) else _number(max_answer, f"{where}: max_answer"),
        sequencer_feed=sequencer,
        grace_period=parse_duration(raw.get("grace_period", 0), f"{where}: grace_period"),
    )


def load_markets(path: str | Path) -> MarketsFile:
    """Parses and checks a markets file (nothing is read on chain)."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise DeployError(f"cannot read markets file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise DeployError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(raw, Mapping):
        raise DeployError(f"{path}: expected a mapping with a 'markets' key")
    unknown = set(raw) - {"owner", "guardian", "delay", "defaults", "markets"}
    if unknown:
        raise DeployError(f"{path}: unknown top-level key(s) {sorted(unknown)}")
    owner = _address(raw.get("owner"), "owner", allow_deployer=True)
    delay = parse_duration(raw.get("delay", DEFAULT_DELAY), "delay")
    if not MIN_DELAY <= delay <= MAX_DELAY:
        raise DeployError(f"{path}: delay must be between 1h and 30d (PoolFactory bounds), got {delay}s")
    guardian = _address(raw.get("guardian"), "guardian", allow_deployer=True)
    defaults = raw.get("defaults") or {}
    if not isinstance(defaults, Mapping):
        raise DeployError(f"{path}: defaults must be a mapping")
    entries = raw.get("markets") or {}
    if not isinstance(entries, Mapping):
        raise DeployError(f"{path}: markets must be a mapping of market id to market")
    markets = [_parse_market(str(market_id), body, defaults) for market_id, body in entries.items()]
    if not markets:
        raise DeployError(f"{path}: no markets")
    return MarketsFile(
        path=path,
        owner=owner,
        guardian=guardian,
        markets=tuple(markets),
        delay=delay,
    )


def _parse_market(market_id: str, body: Any, defaults: Mapping[str, Any]) -> MarketSpec:
    """One entry of ``markets``, merged with the file's ``defaults`` and checked."""
    where = f"market {market_id}"
    if not re.fullmatch(r"[A-Za-z0-9._-]+", market_id):
        raise DeployError(f"{where}: ids are letters, digits, '.', '_' and '-'")
    if not isinstance(body, Mapping):
        raise DeployError(f"{where}: expected a mapping")
    body = _merge(defaults, body)
    unknown = set(body) - {"name", "symbol", "token", "oracle", "params", "max_keeper_bonus_min"}
    if unknown:
        raise DeployError(f"{where}: unknown key(s) {sorted(unknown)}")
    if "token" not in body:
        raise DeployError(f"{where}: token (the settlement token's address) is required")
    params = body.get("params") or {}
    if not isinstance(params, Mapping):
        raise DeployError(f"{where}: params must be a mapping")
    spec = MarketSpec(
        id=market_id,
        name=str(body.get("name") or f"Ringfence {market_id} LP"),
        symbol=str(body.get("symbol") or "rf" + re.sub(r"[^A-Za-z0-9]", "", market_id)),
        token=_parse_token(body["token"], f"{where}: token"),
        oracle=_parse_oracle(body.get("oracle"), where),
        params=dict(params),
        max_keeper_bonus_min=(None if body.get("max_keeper_bonus_min") is None else
                              _number(body["max_keeper_bonus_min"], f"{where}: max_keeper_bonus_min")),
    )
    # Check the params now (decimals only matter for amounts; any valid value will do here).
    spec.market_params(spec.token.decimals if isinstance(spec.token, MockToken) else 18)
    if spec.max_keeper_bonus_min is not None and not \
            0 <= spec.max_keeper_bonus_min <= MAX_KEEPER_BONUS_MIN_TOKENS:
        raise DeployError(f"{where}: max_keeper_bonus_min must be between 0 and "
                          f"{MAX_KEEPER_BONUS_MIN_TOKENS} whole tokens")
    return spec
