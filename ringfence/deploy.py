"""Deploys Ringfence and its markets from a markets file, idempotently.

``ape run deploy --network <choice> --markets markets/<file>.yaml`` (``scripts/deploy.py``) is the
entry point; this module is the logic, usable in-process too (the tests call :func:`deploy`).

What is deployed, in order:

1. ``MarginPoolDeployer(factory)`` (bound to the factory's address, computed in advance),
   ``PoolFactory(owner, guardian, deployer, delay)``, ``Liquidator(factory)``
   followed by ``factory.setLiquidator(liquidator)``, and ``Lens()``;
2. per market: the mocks a local markets file asks for (``deploy-mock``), one
   ``ChainlinkOracle(feed, maxAge, minAnswer, maxAnswer, sequencerFeed, gracePeriod)`` adapter,
   and the pool (``factory.createPool(asset, oracle, params, maxKeeperBonusMin, name, symbol)``);
3. the guardian and the owner of the markets file (``factory.setGuardian``,
   ``factory.transferOwnership``: the factory is created owned by the deploying account, which
   must send ``setLiquidator`` and ``createPool``, and is handed over at the end; the new owner
   completes the two-step transfer with ``acceptOwnership()``).

Idempotence: every address, the transaction hash, the block, the constructor arguments and the
runtime code hash are written to ``deployments/<ecosystem>-<network>.json`` after every
transaction. A later run keeps each recorded contract whose code is still there (same code hash)
and whose constructor arguments still match, and deploys only what is missing or changed — a new
market added to the file, say. Records whose code is gone (a restarted local chain) are dropped.

Deterministic addresses: where the standard deterministic-deployment proxy
(``0x4e59b448…956C``, on Anvil, on most public chains and on their forks) has code, the protocol's
own contracts, the oracle adapters and the mocks are created with CREATE2 through it, salt
``keccak256("ringfence/v1/<label>")``. An address then depends only on the contract and its
constructor arguments, so a run that lost its deployments file finds (adopts) what is already
there instead of deploying it twice. One exception: the ``MarginPoolDeployer`` is bound to the
factory's address in its constructor while the factory names the deployer in its own, so the
deployer is created by plain CREATE from the deploying account, bound to the CREATE2 address the
factory will have (a later run finds it among the account's recent CREATE addresses). The embedded
py-evm chain has no such proxy: there, plain CREATE from the deploying account (addresses follow
its nonce; the deployer is bound to the account's next address after its own). Pools are created by the factory
(CREATE from the MarginPoolDeployer); a pool missing from the file is adopted from
``factory.pools()`` when one has the same asset and oracle.

The factory's owner delay (``delay: 24h`` at the top of a markets file, the default; between 1h
and 30d) is fixed when the factory is created: parameter changes and moves to a new price adapter
wait that long (``factory.queueParams``/``executeParams``, ``queueOracle``/``executeOracle``). A
market's ``max_keeper_bonus_min`` (whole settlement tokens, next to ``params``; default and
largest: 100) caps its keeper-bonus floor for good, fixed at ``createPool``.

Markets files hold human units: ratios as ``10%`` (or ``0.1``), the profit cap as ``5x``,
amounts in whole settlement tokens (``min_margin: 10``), the borrow rate per year
(``borrow_rate_per_year: 10%``; the contract takes a per-second WAD rate, so it is
``floor(to_wad(rate) / 31_536_000)``, as in :meth:`ringfence.sdk.MarketParams.default`),
durations as ``3600``, ``90m``, ``1h`` or ``2d``, and oracle bounds in the feed's price units
(``min_answer: 100`` is 100 USD for a USD feed). Every conversion is exact
(:mod:`ringfence.units`): a value with more decimals than its unit is refused. A raw field of
the Solidity struct (``borrow_rate_wad: 3170979198``) may be given instead of its human key.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any

from eth_utils import is_address, keccak, to_checksum_address

from ringfence.abi import at
from ringfence.errors import contract_errors
from ringfence.sdk import DEFAULT_DELAY, MAX_KEEPER_BONUS_MIN_TOKENS, SECONDS_PER_YEAR, MarketParams
from ringfence.units import WAD, to_units

__all__ = [
    "CREATE2_PROXY",
    "DeployAborted",
    "DeployError",
    "DeployReport",
    "check_chain_id",
    "MarketSpec",
    "MarketsFile",
    "MockFeed",
    "MockToken",
    "OracleSpec",
    "default_deployments_path",
    "deploy",
    "export_abis",
    "is_live",
    "load_deployments",
    "load_markets",
    "market_params",
    "network_label",
    "parse_duration",
    "parse_ratio",
]

ZERO_ADDRESS = "0x" + "00" * 20
MIN_DELAY = 3600  # PoolFactory.MIN_DELAY
MAX_DELAY = 30 * 86400  # PoolFactory.MAX_DELAY
CREATE2_PROXY = "0x4e59b44847b379578588920cA78FbF26c0B4956C"
"""The deterministic-deployment proxy (Arachnid): ``salt ++ initcode`` in, CREATE2 out."""
SALT_NAMESPACE = "ringfence/v1"
FORMAT_VERSION = 1
DEPLOY_MOCK = "deploy-mock"
DEPLOYER_KEYWORD = "deployer"

AGGREGATOR_ABI: list[dict[str, Any]] = [
    {"type": "function", "name": "decimals", "stateMutability": "view", "inputs": [],
     "outputs": [{"name": "", "type": "uint8"}]},
    {"type": "function", "name": "description", "stateMutability": "view", "inputs": [],
     "outputs": [{"name": "", "type": "string"}]},
]


class DeployError(Exception):
    """A deployment cannot go on; ``str(error)`` is one line for the user."""


class DeployAborted(DeployError):
    """The user declined a transaction."""


# ==================================================================================== markets file


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
        return _exact_units(self.answer, self.decimals, "feed answer")


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
        return _exact_units(tokens, decimals, f"market {self.id}: max_keeper_bonus_min")


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
PARAM_FIELDS: tuple[str, ...] = tuple(MarketParams.__dataclass_fields__)


def _number(value: Any, what: str) -> Fraction:
    """A YAML scalar as an exact rational (floats through their shortest decimal string)."""
    if isinstance(value, bool):
        raise DeployError(f"{what}: {value!r} is not a number")
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        return Fraction(Decimal(repr(value)))
    if isinstance(value, (Decimal, Fraction)):
        return Fraction(value)
    if isinstance(value, str):
        text = value.strip().replace("_", "").replace(",", "")
        try:
            return Fraction(Decimal(text))
        except (InvalidOperation, ValueError):
            pass
    raise DeployError(f"{what}: {value!r} is not a number")


def parse_ratio(value: Any, what: str = "ratio") -> Fraction:
    """``10%`` -> 1/10; ``0.1`` -> 1/10."""
    if isinstance(value, str) and value.strip().endswith("%"):
        return _number(value.strip()[:-1], what) / 100
    return _number(value, what)


def _parse_multiple(value: Any, what: str) -> Fraction:
    """``5x`` -> 5; ``5`` -> 5."""
    if isinstance(value, str) and value.strip().lower().endswith("x"):
        return _number(value.strip()[:-1], what)
    return _number(value, what)


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


def _exact_units(value: Fraction, decimals: int, what: str) -> int:
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
                value = _exact_units(parse_ratio(raw, what), 18, what)
            elif kind == "per_year":
                value = _exact_units(parse_ratio(raw, what), 18, what) // SECONDS_PER_YEAR
            elif kind == "multiple":
                value = _exact_units(_parse_multiple(raw, what), 18, what)
            else:
                value = _exact_units(_number(raw, what), decimals, what)
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
    import yaml

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
    markets = []
    for market_id, body in entries.items():
        market_id = str(market_id)
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
        markets.append(spec)
    if not markets:
        raise DeployError(f"{path}: no markets")
    return MarketsFile(
        path=path,
        owner=owner,
        guardian=guardian,
        markets=tuple(markets),
        delay=delay,
    )


# ==================================================================================== deployments


def network_label(provider: Any) -> str:
    """``<ecosystem>-<network>`` (``ethereum-local``, ``ethereum-mainnet-fork``, ...); an ad-hoc
    URI network adds its chain id (``ethereum-custom-31337``)."""
    network = provider.network
    label = f"{network.ecosystem.name}-{network.name}"
    if network.name == "custom":
        label += f"-{provider.chain_id}"
    return label


def default_deployments_path(provider: Any, directory: str | Path = "deployments") -> Path:
    return Path(directory) / f"{network_label(provider)}.json"


def is_live(provider: Any) -> bool:
    """Not the local network and not a fork: transactions cost real money."""
    return not provider.network.is_dev


def check_chain_id(provider: Any) -> None:
    """Ape signs for the chain id it believes in: on ``ethereum:local:<uri>`` that is the
    configured local chain id (``node.ethereum.local.chain_id``, 1337 unless set), whatever the
    node's. Raises :class:`DeployError` with the remedy when they differ."""
    web3 = getattr(provider, "web3", None)
    if web3 is None:
        return
    actual, expected = int(web3.eth.chain_id), int(provider.chain_id)
    if actual != expected:
        raise DeployError(
            f"the node at {getattr(provider, 'uri', '?')} has chain id {actual} but Ape's "
            f"{provider.network.choice} network signs for {expected}: start it with --chain-id "
            f"{expected} (anvil), or set node.ethereum.local.chain_id in ape-config.yaml"
        )


def load_deployments(path: str | Path) -> dict[str, Any]:
    """A deployments file, or an empty record when there is none."""
    path = Path(path)
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DeployError(f"cannot read deployments file {path}: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT_VERSION:
        raise DeployError(f"{path} is not a Ringfence deployments file (format {FORMAT_VERSION})")
    return data


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2)
        handle.write("\n")
    os.replace(tmp, path)


def create2_address(deployer: str, salt: bytes, initcode: bytes) -> str:
    digest = keccak(b"\xff" + bytes.fromhex(deployer[2:]) + salt + keccak(initcode))
    return to_checksum_address(digest[12:])


def _jsonable(value: Any) -> Any:
    if hasattr(value, "address"):
        return str(value.address)
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, str) and is_address(value):
        return to_checksum_address(value)
    return value


def _same(a: Any, b: Any) -> bool:
    return _jsonable(a) == _jsonable(b)


@dataclass
class DeployReport:
    """What a run did: ``sent`` lists the transactions sent (empty when nothing was missing)."""

    path: Path
    data: dict[str, Any]
    sent: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def factory(self) -> str:
        return str(self.data["contracts"]["PoolFactory"]["address"])

    def market(self, market_id: str) -> dict[str, Any]:
        return dict(self.data["markets"][market_id])


class _Run:
    """One deployment run (see :func:`deploy`)."""

    def __init__(self, account: Any, spec: MarketsFile, path: Path, confirm: Callable[[str], bool],
                 log: Callable[[str], None], use_create2: bool | None):
        from ape import chain, project

        self.account = account
        self.spec = spec
        self.path = path
        self.confirm = confirm
        self.log = log
        self.chain = chain
        self.project = project
        self.provider = chain.provider
        self.live = is_live(self.provider)
        check_chain_id(self.provider)
        self.report = DeployReport(path=path, data={})
        proxy_code = self.provider.get_code(CREATE2_PROXY)
        has_proxy = bool(proxy_code) and bytes(proxy_code) != b""
        if use_create2 and not has_proxy:
            raise DeployError(f"no CREATE2 deployment proxy at {CREATE2_PROXY} on this chain")
        self.create2 = has_proxy if use_create2 is None else use_create2

    # ---------------------------------------------------------------- bookkeeping
    def load(self) -> None:
        data = load_deployments(self.path)
        chain_id = int(self.provider.chain_id)
        genesis = _hex(self.chain.blocks[0].hash)
        if data and data.get("chain_id") != chain_id:
            if self.live:
                raise DeployError(
                    f"{self.path} records chain id {data.get('chain_id')}, but this network has "
                    f"chain id {chain_id}: use another --deployments file"
                )
            self.log(f"{self.path} is for chain id {data.get('chain_id')}: starting afresh")
            data = {}
        elif data and data.get("genesis_hash") not in (None, genesis) and not self.live:
            self.log(f"{self.path} is for another chain (genesis differs): starting afresh")
            data = {}
        data.setdefault("contracts", {})
        data.setdefault("mocks", {})
        data.setdefault("markets", {})
        data.setdefault("transactions", [])
        data.update({
            "format": FORMAT_VERSION,
            "network": self.provider.network.choice,
            "chain_id": chain_id,
            "genesis_hash": genesis,
            "deployer": str(self.account.address),
            "method": "create2" if self.create2 else "create",
            "create2_proxy": CREATE2_PROXY if self.create2 else None,
            "markets_file": str(self.spec.path),
        })
        self.report.data = data
        self._forget_missing()

    def save(self) -> None:
        self.report.data["block"] = int(self.chain.blocks.head.number or 0)
        _write_json(self.path, self.report.data)

    def _code_hash(self, address: str) -> str | None:
        code = self.provider.get_code(address)
        code = bytes(code) if code else b""
        return _hex(keccak(code)) if code else None

    def _code_ok(self, record: Mapping[str, Any] | None) -> bool:
        if not record or not record.get("address"):
            return False
        current = self._code_hash(record["address"])
        return current is not None and current == record.get("codehash", current)

    def _forget_missing(self) -> None:
        data = self.report.data
        for section in ("contracts", "mocks"):
            for key, record in list(data[section].items()):
                if not self._code_ok(record):
                    self.log(f"forgetting {section[:-1]} {key}: no longer at {record.get('address')}")
                    del data[section][key]
        for key, market in list(data["markets"].items()):
            pool = market.get("pool")  # None: the run stopped before creating the pool
            if pool and not self._code_ok({"address": pool, "codehash": market.get("codehash")}):
                self.log(f"forgetting market {key}: its pool is no longer at {pool}")
                del data["markets"][key]
            elif market.get("oracle") and not self._code_ok(market["oracle"]):
                del market["oracle"]

    # ---------------------------------------------------------------- transactions
    def _ask(self, description: str) -> None:
        if not self.confirm(description):
            raise DeployAborted(f"aborted before: {description}")

    def _sent(self, description: str, receipt: Any) -> dict[str, Any]:
        self.report.sent.append(description)
        self.log(f"sent: {description} ({_hex(receipt.txn_hash)}, block {receipt.block_number})")
        return {"tx_hash": _hex(receipt.txn_hash), "block": int(receipt.block_number)}

    def _transact(self, action: str, description: str, method: Any, *args: Any) -> Any:
        self._ask(description)
        with contract_errors():
            receipt = method(*args, sender=self.account)
        entry = {"action": action, **self._sent(description, receipt)}
        self.report.data["transactions"].append(entry)
        self.save()
        return receipt

    def _initcode(self, contract_name: str, args: tuple[Any, ...]) -> tuple[Any, bytes]:
        container = getattr(self.project, contract_name)
        create_txn = container.constructor.serialize_transaction(*args)
        create_txn.sender = self.account.address
        return create_txn, bytes(create_txn.data)

    def create2_target(self, contract_name: str, args: tuple[Any, ...], label: str) -> str:
        """Where :meth:`deploy_contract` puts ``contract_name(*args)`` through the CREATE2 proxy."""
        _, initcode = self._initcode(contract_name, args)
        return create2_address(CREATE2_PROXY, keccak(text=f"{SALT_NAMESPACE}/{label}"), initcode)

    def deploy_contract(self, contract_name: str, args: tuple[Any, ...], label: str,
                        record: Mapping[str, Any] | None,
                        matches: Callable[[Mapping[str, Any]], bool] | None = None,
                        plain_create: bool = False) -> dict[str, Any]:
        """The record of ``contract_name(*args)``: the existing one when its code is there and its
        arguments match (``matches`` overrides the comparison), else a new deployment (CREATE2
        where the proxy is used, unless ``plain_create``)."""
        if record is not None and record.get("contract") == contract_name and self._code_ok(record):
            if matches(record) if matches else _same(record.get("args"), list(args)):
                return dict(record)
        create_txn, initcode = self._initcode(contract_name, args)
        shown = f"{contract_name}({', '.join(str(_jsonable(a)) for a in args)})"
        entry: dict[str, Any] = {"contract": contract_name, "args": _jsonable(list(args))}
        if self.create2 and not plain_create:
            salt = keccak(text=f"{SALT_NAMESPACE}/{label}")
            address = create2_address(CREATE2_PROXY, salt, initcode)
            entry.update(method="create2", salt=_hex(salt), address=address)
            if self._code_hash(address) is not None:
                self.log(f"adopted {shown} already at {address} (CREATE2)")
                self.report.adopted.append(label)
                entry.update(tx_hash=None, block=None, codehash=self._code_hash(address))
                return entry
            # Surface a constructor revert with its name (the proxy would swallow it). Not for the
            # factory: its constructor checks that the deployer names the address it runs at.
            if contract_name != "PoolFactory":
                with contract_errors():
                    self.provider.estimate_gas_cost(create_txn)
            description = f"deploy {shown} at {address} (CREATE2)"
            self._ask(description)
            txn = self.provider.network.ecosystem.create_transaction(
                receiver=CREATE2_PROXY, data=salt + initcode, sender=self.account.address
            )
            with contract_errors():
                receipt = self.account.call(txn)
            if self._code_hash(address) is None:
                raise DeployError(f"the CREATE2 proxy did not create {contract_name} at {address}")
        else:
            address = to_checksum_address(str(self.account.get_deployment_address()))
            description = f"deploy {shown} at {address}"
            entry.update(method="create", salt=None)
            self._ask(description)
            with contract_errors():
                receipt = self.account.call(create_txn)
            address = to_checksum_address(str(receipt.contract_address))
            entry["address"] = address
        entry.update(self._sent(description, receipt))
        entry["codehash"] = self._code_hash(address)
        return entry

    def _record(self, section: str, key: str, entry: dict[str, Any]) -> dict[str, Any]:
        self.report.data[section][key] = entry
        self.save()
        return entry

    # ---------------------------------------------------------------- the protocol
    def run(self) -> DeployReport:
        self.load()
        if self.live and self.spec.uses_mocks:
            raise DeployError("deploy-mock is for local chains and forks, not a live network")
        contracts = self.report.data["contracts"]
        me = str(self.account.address)
        owner = self.spec.owner or me
        guardian = self.spec.guardian or me

        factory_entry = self._deployer_and_factory(me, guardian)
        factory = at(self.project.PoolFactory, factory_entry["address"])
        if int(factory.delay()) != self.spec.delay:
            self._warn(f"the factory's owner delay is {int(factory.delay())}s, the file says "
                       f"{self.spec.delay}s: left as is (it is fixed at the factory's creation)")
        is_owner = _same(factory.owner(), me)

        liquidator = self._record("contracts", "Liquidator", self.deploy_contract(
            "Liquidator", (factory_entry["address"],), "Liquidator", contracts.get("Liquidator")))
        current = str(factory.liquidator())
        if _same(current, ZERO_ADDRESS):
            self._need_owner(is_owner, factory, "set the liquidator")
            self._transact("setLiquidator", f"factory.setLiquidator({liquidator['address']})",
                           factory.setLiquidator, liquidator["address"])
        elif not _same(current, liquidator["address"]):
            raise DeployError(
                f"the factory's liquidator is {current} (set once), not the Liquidator at "
                f"{liquidator['address']}"
            )
        self._record("contracts", "Lens", self.deploy_contract(
            "Lens", (), "Lens", contracts.get("Lens")))

        # Check every new market's parameters before the first market transaction.
        plans = [(m, self._token_decimals(m)) for m in self.spec.markets]
        for market, decimals in plans:
            if decimals is None:
                continue  # a mock token not deployed yet: its decimals come from the file
            with contract_errors():
                factory.checkParams(market.market_params(decimals).as_tuple())
        missing = [m.id for m in self.spec.markets if not self._market_exists(m.id, factory)]
        if missing:
            self._need_owner(is_owner, factory, f"create market(s) {', '.join(missing)}")
        for market, _ in plans:
            self._market(market, factory)

        if not _same(factory.guardian(), guardian):
            if is_owner:
                self._transact("setGuardian", f"factory.setGuardian({guardian})",
                               factory.setGuardian, guardian)
            else:
                self._warn(f"the factory's guardian is {factory.guardian()}, not {guardian}; "
                           f"the owner must call setGuardian")
        if not _same(factory.owner(), owner):
            if _same(factory.pendingOwner(), owner):
                self.log(f"ownership transfer to {owner} pending: it must call acceptOwnership()")
            elif is_owner:
                self._transact("transferOwnership", f"factory.transferOwnership({owner})",
                               factory.transferOwnership, owner)
                self.log(f"{owner} must call factory.acceptOwnership() to take ownership")
            else:
                self._warn(f"the factory is owned by {factory.owner()}, not {owner}")
        self.report.data["owner"] = str(factory.owner())
        self.report.data["pending_owner"] = str(factory.pendingOwner())
        self.report.data["guardian"] = str(factory.guardian())
        self.report.data["liquidator"] = str(factory.liquidator())
        self.save()
        return self.report

    def _factory_args(self, me: str, guardian: str, deployer: str) -> tuple[Any, ...]:
        return (me, guardian, deployer, self.spec.delay)

    def _bound_to(self, deployer: str) -> str | None:
        """The factory a MarginPoolDeployer at ``deployer`` serves (None: no such deployer)."""
        if self._code_hash(deployer) is None:
            return None
        try:
            return to_checksum_address(str(at(self.project.MarginPoolDeployer, deployer).factory()))
        except Exception:  # noqa: BLE001 - not a MarginPoolDeployer
            return None

    def _deployer_and_factory(self, me: str, guardian: str) -> dict[str, Any]:
        """The MarginPoolDeployer and the PoolFactory, recorded; returns the factory's record.

        The deployer is bound to its factory in its constructor and the factory names the
        deployer in its own, so the factory's address is computed before the deployer is created.
        Plain CREATE: the account's nonce after the deployer's. CREATE2: the factory goes through
        the proxy (salt and initcode known) and the deployer, which it names, is created by plain
        CREATE from the account (were both CREATE2, each address would depend on the other's); a
        run that lost its deployments file finds the deployer among the account's recent CREATE
        addresses."""
        contracts = self.report.data["contracts"]
        old_deployer, old_factory = contracts.get("MarginPoolDeployer"), contracts.get("PoolFactory")
        if (old_deployer and old_factory and old_factory.get("contract") == "PoolFactory"
                and self._code_ok(old_deployer) and self._code_ok(old_factory)
                and _same(old_factory["args"][2], old_deployer["address"])):
            # Owner and guardian are converged later: only the pool deployer must match.
            return old_factory

        def factory_target(deployer: str) -> str:
            return self.create2_target("PoolFactory", self._factory_args(me, guardian, deployer),
                                       "PoolFactory")

        deployer: dict[str, Any] | None = None
        if old_deployer and self._code_ok(old_deployer):
            bound = self._bound_to(old_deployer["address"])
            # Reusable when its factory can still be created at the address it names.
            expected = (factory_target(old_deployer["address"]) if self.create2
                        else to_checksum_address(str(self.account.get_deployment_address())))
            if bound is not None and _same(bound, expected):
                deployer = dict(old_deployer)
        if deployer is None and self.create2:
            deployer = self._find_deployer(factory_target)
        if deployer is None:
            nonce = int(self.account.nonce)
            if self.create2:
                at_nonce = to_checksum_address(str(self.account.get_deployment_address(nonce)))
                target = factory_target(at_nonce)
            else:
                target = to_checksum_address(str(self.account.get_deployment_address(nonce + 1)))
            deployer = self.deploy_contract("MarginPoolDeployer", (target,), "MarginPoolDeployer",
                                            None, plain_create=True)
            if not _same(self._bound_to(deployer["address"]), target):
                raise DeployError(f"the MarginPoolDeployer at {deployer['address']} is not bound to "
                                  f"{target}: another transaction was sent from this account meanwhile")
        self._record("contracts", "MarginPoolDeployer", deployer)
        target = self._bound_to(deployer["address"])
        factory_entry = self.deploy_contract(
            "PoolFactory", self._factory_args(me, guardian, deployer["address"]), "PoolFactory", None)
        if not _same(factory_entry["address"], target):
            raise DeployError(f"the PoolFactory was created at {factory_entry['address']}, not at "
                              f"{target} where its MarginPoolDeployer expects it")
        return self._record("contracts", "PoolFactory", factory_entry)

    def _find_deployer(self, factory_target: Callable[[str], str],
                       lookback: int = 256) -> dict[str, Any] | None:
        """A MarginPoolDeployer this account created (CREATE, among its last ``lookback``
        nonces) that is bound to the CREATE2 address of the factory naming it: adopted."""
        nonce = int(self.account.nonce)
        for n in range(nonce - 1, max(-1, nonce - 1 - lookback), -1):
            address = to_checksum_address(str(self.account.get_deployment_address(n)))
            bound = self._bound_to(address)
            if bound is not None and _same(bound, factory_target(address)):
                self.log(f"adopted MarginPoolDeployer already at {address} (bound to {bound})")
                self.report.adopted.append("MarginPoolDeployer")
                return {"contract": "MarginPoolDeployer", "args": [bound], "method": "create",
                        "salt": None, "address": address, "tx_hash": None, "block": None,
                        "codehash": self._code_hash(address)}
        return None

    def _need_owner(self, is_owner: bool, factory: Any, what: str) -> None:
        if not is_owner:
            raise DeployError(
                f"to {what} the factory's owner must send the transaction: it is "
                f"{factory.owner()}, not {self.account.address} (use --account)"
            )

    def _warn(self, message: str) -> None:
        self.report.warnings.append(message)
        self.log(f"warning: {message}")

    def _market_exists(self, market_id: str, factory: Any) -> bool:
        record = self.report.data["markets"].get(market_id)
        return bool(record and record.get("pool")) and bool(factory.isPool(record["pool"]))

    def _token_decimals(self, market: MarketSpec) -> int | None:
        if isinstance(market.token, MockToken):
            return market.token.decimals
        from ringfence.sdk import erc20

        if self._code_hash(market.token) is None:
            raise DeployError(f"market {market.id}: no contract at token address {market.token}")
        try:
            return int(erc20(market.token).decimals())
        except Exception as exc:  # noqa: BLE001 - any failure means "not an ERC-20"
            raise DeployError(f"market {market.id}: {market.token} has no decimals(): {exc}") from None

    def _mock_token(self, market: MarketSpec) -> str:
        token = market.token
        assert isinstance(token, MockToken)
        key = f"token:{token.symbol}"
        entry = self.deploy_contract("MockERC20", (token.name, token.symbol, token.decimals),
                                     f"MockERC20/{token.symbol}", self.report.data["mocks"].get(key))
        return self._record("mocks", key, entry)["address"]

    def _feed(self, market: MarketSpec) -> tuple[str, int]:
        feed = market.oracle.feed
        if isinstance(feed, MockFeed):
            key = f"feed:{market.id}"
            entry = self.deploy_contract("MockAggregator", (feed.decimals, feed.raw_answer),
                                         f"MockAggregator/{market.id}",
                                         self.report.data["mocks"].get(key))
            return self._record("mocks", key, entry)["address"], feed.decimals
        from ape import Contract

        if self._code_hash(feed) is None:
            raise DeployError(f"market {market.id}: no contract at feed address {feed}")
        try:
            return feed, int(Contract(feed, abi=AGGREGATOR_ABI).decimals())
        except Exception as exc:  # noqa: BLE001
            raise DeployError(f"market {market.id}: {feed} has no decimals(): {exc}") from None

    def _sequencer(self, market: MarketSpec) -> str:
        sequencer = market.oracle.sequencer_feed
        if sequencer is None:
            return ZERO_ADDRESS
        if sequencer != DEPLOY_MOCK:
            return sequencer
        key = f"sequencer:{market.id}"
        entry = self.deploy_contract("MockSequencerFeed", (), f"MockSequencerFeed/{market.id}",
                                     self.report.data["mocks"].get(key))
        return self._record("mocks", key, entry)["address"]

    def _market(self, market: MarketSpec, factory: Any) -> None:
        markets = self.report.data["markets"]
        record = markets.get(market.id)
        exists = self._market_exists(market.id, factory)
        asset = self._mock_token(market) if isinstance(market.token, MockToken) else market.token
        decimals = self._token_decimals(market)
        assert decimals is not None
        params = market.market_params(decimals)
        if exists:
            assert record is not None
            self._check_drift(market, record, asset, params)
            return
        feed, feed_decimals = self._feed(market)
        spec = market.oracle
        oracle_args = (
            feed,
            spec.max_age,
            0 if spec.min_answer is None else _exact_units(spec.min_answer, feed_decimals,
                                                           f"market {market.id}: min_answer"),
            0 if spec.max_answer is None else _exact_units(spec.max_answer, feed_decimals,
                                                           f"market {market.id}: max_answer"),
            self._sequencer(market),
            spec.grace_period,
        )
        oracle = self.deploy_contract("ChainlinkOracle", oracle_args, f"ChainlinkOracle/{market.id}",
                                      (record or {}).get("oracle"))
        entry: dict[str, Any] = {
            "asset": asset, "feed": feed, "oracle": oracle, "name": market.name,
            "symbol": market.symbol, "decimals": decimals,
            "params": dict(zip(PARAM_FIELDS, params.as_tuple())),
            "spec": {k: _plain(v) for k, v in market.params.items()},
        }
        markets[market.id] = {**(record or {}), **entry}
        self.save()
        pool = self._adopt_pool(factory, asset, oracle["address"])
        if pool is not None:
            self.log(f"adopted market {market.id}: pool {pool} already has this asset and oracle")
            self.report.adopted.append(f"market {market.id}")
            tx: dict[str, Any] = {"tx_hash": None, "block": None}
        else:
            cap = market.max_keeper_bonus_min_units(decimals)
            description = (f"factory.createPool({asset}, {oracle['address']}, {market.id} params, "
                           f"{cap}, {market.name!r}, {market.symbol!r})")
            self._ask(description)
            with contract_errors():
                receipt = factory.createPool(asset, oracle["address"], params.as_tuple(), cap,
                                             market.name, market.symbol, sender=self.account)
            pool = str(receipt.decode_logs(factory.PoolCreated)[0].pool)
            tx = self._sent(description, receipt)
        instance = at(self.project.MarginPool, pool)
        markets[market.id].update({
            "pool": to_checksum_address(pool),
            "insurance_fund": str(instance.insuranceFund()),
            "max_keeper_bonus_min": int(factory.maxKeeperBonusMin(pool)),
            "codehash": self._code_hash(pool),
            **tx,
        })
        self.save()

    def _adopt_pool(self, factory: Any, asset: str, oracle: str) -> str | None:
        known = {str(m["pool"]) for m in self.report.data["markets"].values() if m.get("pool")}
        for address in factory.pools():
            if str(address) in known:
                continue
            pool = at(self.project.MarginPool, address)
            if _same(pool.asset(), asset) and _same(pool.oracle(), oracle):
                return str(address)
        return None

    def _check_drift(self, market: MarketSpec, record: Mapping[str, Any], asset: str,
                     params: MarketParams) -> None:
        pool = at(self.project.MarginPool, record["pool"])
        if not _same(pool.asset(), asset):
            self._warn(f"market {market.id} exists with token {pool.asset()}, the file says "
                       f"{asset}: left as is (a new token needs a new market id)")
        on_chain = MarketParams.from_chain(pool.params())
        if on_chain != params:
            changed = [f for f, a, b in zip(PARAM_FIELDS, on_chain.as_tuple(), params.as_tuple())
                       if a != b]
            self._warn(f"market {market.id}: parameters differ on chain ({', '.join(changed)}); "
                       f"the owner changes them with factory.queueParams, then executeParams "
                       f"once the factory's delay has passed")


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (Decimal, Fraction)):
        return str(value)
    return value


def _hex(value: Any) -> str:
    if isinstance(value, str):
        return value if value.startswith("0x") else "0x" + value
    return "0x" + bytes(value).hex()


def deploy(
    account: Any,
    markets: MarketsFile | str | Path,
    *,
    path: str | Path | None = None,
    confirm: Callable[[str], bool] | None = None,
    log: Callable[[str], None] | None = None,
    use_create2: bool | None = None,
) -> DeployReport:
    """Deploys what ``markets`` needs on the connected network from ``account``.

    ``path`` defaults to ``deployments/<ecosystem>-<network>.json``; ``confirm`` is asked before
    every transaction (the default says yes) and a ``False`` raises :class:`DeployAborted`;
    ``use_create2`` ``None`` uses CREATE2 where the proxy exists. Raises :class:`DeployError` or a
    :class:`ringfence.errors.RingfenceError` (a contract revert) with a one-line message.
    """
    from ape import chain

    spec = markets if isinstance(markets, MarketsFile) else load_markets(markets)
    target = Path(path) if path is not None else default_deployments_path(chain.provider)
    run = _Run(account, spec, target, confirm or (lambda _: True), log or (lambda _: None), use_create2)
    return run.run()


# ==================================================================================== ABIs


def export_abis(out_dir: str | Path = "abi", deployments_dir: str | Path = "deployments") -> list[Path]:
    """Writes one ``<Contract>.json`` ABI per compiled contract of the project into ``out_dir``
    (test doubles from ``contracts/test/`` into ``out_dir/test/``), an ``index.json`` (name -> ABI
    file and source) and copies of the deployments files in ``out_dir/deployments/``. Returns the
    files written."""
    from ape import project

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    index: dict[str, dict[str, str | None]] = {}
    contract_types = {contract_type.name: contract_type for contract_type in project.contracts.values()}
    for name, contract_type in sorted(contract_types.items()):
        abi = [entry.model_dump(mode="json", by_alias=True, exclude_none=True)
               for entry in contract_type.abi]
        source_id = str(contract_type.source_id or "")
        # Test doubles and benchmarks (contracts/test/) apart from the protocol's contracts.
        target = out / ("test" if "/test/" in f"/{source_id}" else "") / f"{name}.json"
        _write_json(target, abi)
        written.append(target)
        index[name] = {"abi": str(target.relative_to(out)), "source": source_id or None}
    _write_json(out / "index.json", index)
    written.append(out / "index.json")
    source = Path(deployments_dir)
    if source.is_dir():
        for file in sorted(source.glob("*.json")):
            target = out / "deployments" / file.name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(file.read_text())
            written.append(target)
    return written


def _main(argv: list[str] | None = None) -> int:
    """``python -m ringfence.deploy abi [OUT_DIR]`` (what ``make abi`` runs)."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] != "abi" or len(args) > 2:
        print("usage: python -m ringfence.deploy abi [OUT_DIR]", file=sys.stderr)
        return 2
    files = export_abis(args[1] if len(args) > 1 else "abi")
    print(f"wrote {len(files)} files to {args[1] if len(args) > 1 else 'abi'}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
