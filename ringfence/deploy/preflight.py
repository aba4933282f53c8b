"""What a deployment checks before its first transaction, so that a mistake in a markets file costs
no gas: every market's parameters against the factory's bounds (:func:`param_violation`, a mirror of
``PoolFactory._checkParams``, tested against the contract's ``checkParams`` so the two cannot drift),
and what the chain must already hold (:func:`chain_problems`): each token a contract answering
``decimals()``, each feed a contract answering ``decimals()`` and ``latestRoundData()`` with a fresh
positive answer inside the file's bounds. Problems are told in the file's own units, one line each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any

from ringfence.chain.contracts import abi as contract_abi
from ringfence.chain.deployments import DeployError
from ringfence.deploy.markets_file import HUMAN_PARAMS, MarketsFile, MarketSpec, MockFeed, MockToken
from ringfence.sdk import SECONDS_PER_YEAR, MarketParams, erc20
from ringfence.units import WAD

__all__ = [
    "AGGREGATOR_ENTRIES",
    "DeployChecksFailed",
    "OutOfBounds",
    "aggregator_abi",
    "chain_problems",
    "describe_violation",
    "param_violation",
]

MIN_INITIAL_MARGIN = WAD // 100  # PoolFactory.MIN_INITIAL_MARGIN: leverage <= 100x
MAX_FEE = WAD // 100  # PoolFactory.MAX_FEE
MAX_BORROW_RATE = WAD // SECONDS_PER_YEAR  # PoolFactory.MAX_BORROW_RATE: <= 100 % a year
MIN_PROFIT_CAP = WAD  # PoolFactory.MIN_PROFIT_CAP
MAX_PROFIT_CAP = 10 * WAD  # PoolFactory.MAX_PROFIT_CAP
MAX_PRICE_AGE = 2 * 86400  # PoolFactory.MAX_PRICE_AGE
MAX_UINT88 = 2**88 - 1  # a position's margin field (MarginPool.StoredPosition)
MAX_UINT96 = 2**96 - 1
MAX_ASSET_DECIMALS = 18  # PoolFactory.MAX_ASSET_DECIMALS
MAX_UINT128 = 2**128 - 1

AGGREGATOR_ENTRIES = ("decimals", "description", "latestRoundData")
"""What the deployment reads of a price feed it did not deploy (Chainlink's AggregatorV3Interface)."""


def aggregator_abi() -> list[dict[str, Any]]:
    """The ABI of :data:`AGGREGATOR_ENTRIES`, from the compiled ``MockAggregator`` (which implements
    AggregatorV3Interface)."""
    return contract_abi("MockAggregator", AGGREGATOR_ENTRIES)


class DeployChecksFailed(DeployError):
    """The markets file does not fit the chain or the factory's bounds: ``problems``, one line each;
    nothing was sent."""

    def __init__(self, path: Any, problems: list[str]):
        self.problems = list(problems)
        super().__init__(f"{len(problems)} problem(s) in {path}, nothing sent: " + "; ".join(problems))


@dataclass(frozen=True)
class OutOfBounds:
    """A field (``MarketParams`` name) outside ``[low, high]``; ``low_ref``/``high_ref`` name the
    field a bound comes from, ``above``/``below`` when the value must differ from that field."""

    field: str
    value: int
    low: int
    high: int
    low_ref: str | None = None
    high_ref: str | None = None
    above: bool = False  # the low bound is its field plus one: "above <field>"
    below: bool = False  # the high bound is its field minus one: "below <field>"


def param_violation(p: MarketParams, max_keeper_bonus_min: int | None = None) -> OutOfBounds | None:
    """The first bound of ``PoolFactory._checkParams`` that ``p`` breaks, in the contract's order
    (``ParameterOutOfBounds``); with ``max_keeper_bonus_min``, also ``createPool``'s bound on the
    keeper-bonus floor. None: within every bound."""
    mm, penalty = p.maintenance_margin_wad, p.liquidation_penalty_wad
    bounds = [
        OutOfBounds("initial_margin_wad", p.initial_margin_wad, MIN_INITIAL_MARGIN, WAD),
        OutOfBounds("maintenance_margin_wad", mm, 1, p.initial_margin_wad - 1,
                    high_ref="initial_margin_wad", below=True),
        OutOfBounds("liquidation_target_wad", p.liquidation_target_wad, mm + 1, p.initial_margin_wad,
                    low_ref="maintenance_margin_wad", high_ref="initial_margin_wad", above=True),
        OutOfBounds("keeper_bonus_wad", p.keeper_bonus_wad, 0, mm, high_ref="maintenance_margin_wad"),
        OutOfBounds("liquidation_penalty_wad", penalty, 0, mm - p.keeper_bonus_wad,
                    high_ref="maintenance_margin_wad - keeper_bonus_wad"),
        OutOfBounds("open_fee_wad", p.open_fee_wad, 0, MAX_FEE),
        OutOfBounds("close_fee_wad", p.close_fee_wad, 0, MAX_FEE),
        OutOfBounds("borrow_rate_wad", p.borrow_rate_wad, 0, MAX_BORROW_RATE),
        OutOfBounds("max_profit_wad", p.max_profit_wad, MIN_PROFIT_CAP, MAX_PROFIT_CAP),
        OutOfBounds("min_margin", p.min_margin, 1, MAX_UINT88),
        OutOfBounds("min_notional", p.min_notional, 1, MAX_UINT96),
        OutOfBounds("max_position_notional", p.max_position_notional, p.min_notional, MAX_UINT128,
                    low_ref="min_notional"),
        OutOfBounds("max_open_interest", p.max_open_interest, p.max_position_notional, MAX_UINT128,
                    low_ref="max_position_notional"),
        OutOfBounds("keeper_bonus_min", p.keeper_bonus_min, 0, (mm - penalty) * p.min_notional // WAD,
                    high_ref="(maintenance_margin - liquidation_penalty) x min_notional"),
        OutOfBounds("keeper_bonus_max", p.keeper_bonus_max, p.keeper_bonus_min, MAX_UINT128,
                    low_ref="keeper_bonus_min"),
    ]
    if max_keeper_bonus_min is not None:
        bounds.append(OutOfBounds("keeper_bonus_min", p.keeper_bonus_min, 0, max_keeper_bonus_min,
                                  high_ref="max_keeper_bonus_min"))
    return next((b for b in bounds if not b.low <= b.value <= b.high), None)


_KINDS = {name: (key, kind) for key, name, kind in HUMAN_PARAMS}


def _trim(value: Fraction) -> str:
    """A fraction as a plain decimal, trailing zeros dropped (exact for the file's units, whose
    denominators are powers of ten)."""
    with localcontext() as ctx:
        ctx.prec = 80
        text = format(Decimal(value.numerator) / Decimal(value.denominator), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def human_value(field: str, value: int, decimals: int) -> str:
    """A ``MarketParams`` field's value in the markets file's units (``10%``, ``5x``, ``50``)."""
    kind = _KINDS.get(field, (field, "raw"))[1]
    if kind == "ratio":
        return _trim(Fraction(value * 100, WAD)) + "%"
    if kind == "per_year":
        # per second in the struct, floored: shown to the nearest millionth of a percent a year
        return _trim(Fraction(round(Fraction(value * SECONDS_PER_YEAR * 100, WAD) * 10**6), 10**6)) + "% a year"
    if kind == "multiple":
        return _trim(Fraction(value, WAD)) + "x"
    if kind == "amount":
        return _trim(Fraction(value, 10**decimals))
    return str(value)


def _key(field: str, market: MarketSpec) -> str:
    """The name the markets file gives ``field``: the raw struct field when the file uses it."""
    return field if field in market.params else _KINDS.get(field, (field, ""))[0]


def describe_violation(market: MarketSpec, bound: OutOfBounds, decimals: int) -> str:
    """``market ETH-USD: maintenance_margin 10% must be below initial_margin 10%``: ``bound`` in the
    file's names and units."""
    def shown(v: int) -> str:
        return human_value(bound.field, v, decimals)

    what = f"market {market.id}: {_key(bound.field, market)} {shown(bound.value)} must be"
    if bound.value < bound.low:
        if bound.low_ref:
            ref = _key(bound.low_ref, market) if bound.low_ref in _KINDS else bound.low_ref
            return f"{what} {'above' if bound.above else 'at least'} {ref} {shown(bound.low - bound.above)}"
        return f"{what} at least {shown(bound.low)}"
    if bound.high_ref:
        ref = _key(bound.high_ref, market) if bound.high_ref in _KINDS else bound.high_ref
        return f"{what} {'below' if bound.below else 'at most'} {ref} {shown(bound.high + bound.below)}"
    return f"{what} at most {shown(bound.high)}"


def chain_problems(spec: MarketsFile, has_code: Callable[[str], bool], now: int) -> list[str]:
    """Everything wrong with ``spec`` against the connected chain and the factory's bounds, one line
    each (empty: deployable). ``has_code(address)`` says whether an address holds a contract; ``now``
    is the chain's latest block time. Reads only."""
    problems: list[str] = []
    for market in spec.markets:
        decimals, token_problem = _token(market, has_code)
        problems += [token_problem] if token_problem else []
        problems += _feed(market, has_code, now)
        sequencer = market.oracle.sequencer_feed
        if sequencer not in (None, "deploy-mock") and not has_code(str(sequencer)):
            problems.append(f"market {market.id}: no contract at sequencer_feed {sequencer}")
        if not 0 < market.oracle.max_age <= MAX_PRICE_AGE:
            problems.append(f"market {market.id}: oracle max_age {market.oracle.max_age}s must be between 1s "
                            f"and {MAX_PRICE_AGE}s (2d)")
        if decimals is None:
            continue
        if decimals > MAX_ASSET_DECIMALS:
            problems.append(f"market {market.id}: the token has {decimals} decimals; the factory takes at most "
                            f"{MAX_ASSET_DECIMALS}")
            continue
        cap = market.max_keeper_bonus_min_units(decimals)
        bound = param_violation(market.market_params(decimals), cap)
        if bound is not None:
            problems.append(describe_violation(market, bound, decimals))
    return problems


def _token(market: MarketSpec, has_code: Callable[[str], bool]) -> tuple[int | None, str | None]:
    """The settlement token's decimals, or the problem with its address."""
    if isinstance(market.token, MockToken):
        return market.token.decimals, None
    if not has_code(market.token):
        return None, f"market {market.id}: no contract at token address {market.token}"
    try:
        return int(erc20(market.token).decimals()), None
    except Exception:  # noqa: BLE001 - any failure means "not an ERC-20"
        return None, f"market {market.id}: token {market.token} does not answer decimals() (not an ERC-20?)"


def _feed(market: MarketSpec, has_code: Callable[[str], bool], now: int) -> list[str]:
    """The problems of the market's price feed: no contract, no answer, a stale or non-positive one,
    or one outside the file's min_answer/max_answer."""
    from ape import Contract  # lazily: ape's managers load every plugin when first imported

    feed, where = market.oracle.feed, f"market {market.id}: feed"
    if isinstance(feed, MockFeed):
        return []
    if not has_code(feed):
        return [f"{where}: no contract at {feed}"]
    try:
        aggregator = Contract(feed, abi=aggregator_abi())
        decimals = int(aggregator.decimals())
        _, answer, _, updated_at, _ = aggregator.latestRoundData()
    except Exception:  # noqa: BLE001 - not an AggregatorV3Interface
        return [f"{where} {feed} does not answer decimals() and latestRoundData() (not a Chainlink feed?)"]
    price = Fraction(int(answer), 10**decimals)
    oracle = market.oracle
    if answer <= 0:
        return [f"{where} {feed} answers {answer}: a price must be positive"]
    if now - int(updated_at) > oracle.max_age:
        return [f"{where} {feed}: its answer is {now - int(updated_at)}s old, more than max_age {oracle.max_age}s"]
    if oracle.min_answer is not None and price < oracle.min_answer:
        return [f"{where} {feed} answers {_trim(price)}, below min_answer {_trim(oracle.min_answer)}"]
    if oracle.max_answer is not None and price > oracle.max_answer:
        return [f"{where} {feed} answers {_trim(price)}, above max_answer {_trim(oracle.max_answer)}"]
    return []
