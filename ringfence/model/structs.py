"""Market parameters and positions: the Solidity ``MarketParams`` and ``Position`` structs, the one
Python type of each (the SDK, the keeper, the simulator and the fuzzer use these).

Their fields are the structs' fields in declaration order, named by
:func:`ringfence.solidity.snake_case`; the widths the constructors check (``uint64``, ``uint128``,
``uint80``...) are read from the bundled ABI (:func:`ringfence.solidity.abi_struct`), and
``tests/unit/test_chain_layer.py`` holds the field names to the compiled ABI.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from functools import cache
from typing import Any, ClassVar

from ringfence.model.constants import MAX_UINT128, WAD
from ringfence.model.evm import _uint
from ringfence.model.helpers import scale_for
from ringfence.solidity import abi_struct, camel_case, snake_case

__all__ = ["MARKET_PARAMS_FIELDS", "POSITION_FIELDS", "MarketParams", "Position", "struct_values"]

_SECONDS_PER_YEAR = 365 * 24 * 3600


@cache
def _uint_widths(struct: str) -> dict[str, int]:
    """The bit width of each ``uint<N>`` field of ``struct`` (by its snake_case name), from the ABI."""
    return {snake_case(name): int(kind[4:]) for name, kind in abi_struct(struct) if kind.startswith("uint")}


def _check_widths(struct: str, value: Any) -> None:
    for name, bits in _uint_widths(struct).items():
        _uint(name, getattr(value, name), bits)


@cache
def _spellings(names: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The field names in camelCase, then as given (once per struct: the keeper converts thousands of
    positions a pass)."""
    return tuple(camel_case(name) for name in names), tuple(str(name) for name in names)


def struct_values(names: Sequence[str], raw: Any) -> tuple[Any, ...]:
    """A Solidity struct as a contract returns it, as the values of the fields ``names`` (snake_case,
    in declaration order): from a struct object (camelCase attributes) or a mapping (camelCase keys,
    as in an event's arguments), from an object or a mapping with the snake_case names, or from a tuple
    in declaration order. Only the leading fields ``raw`` has are returned."""
    for keys in _spellings(tuple(names)):
        if isinstance(raw, Mapping):
            if keys[0] in raw:
                return tuple(raw[key] for key in itertools.takewhile(raw.__contains__, keys))
        elif hasattr(raw, keys[0]):
            return tuple(getattr(raw, key) for key in itertools.takewhile(lambda k: hasattr(raw, k), keys))
    return tuple(raw)[: len(names)]


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketParams:
    """A market's risk parameters: the Solidity ``MarketParams`` struct field for field (ratios and
    the per-second borrow rate are uint64 WAD, amounts uint128 assets), and optionally the settlement
    token's ``asset_decimals``, which the model needs (it fixes :attr:`scale`) and the contracts do not
    take (:meth:`as_tuple` is the struct alone).

    With ``asset_decimals`` these are the parameters of a market the model computes on, so they must
    be consistent (``maintenance_margin_wad < initial_margin_wad <= WAD``); without, any struct the
    types can hold (a candidate the factory is to judge, say). The liquidation fields (target ``T``,
    keeper bonus rate ``b`` with its floor and cap, penalty rate ``q``) are used by the liquidation
    flows only.
    """

    initial_margin_wad: int
    maintenance_margin_wad: int
    liquidation_target_wad: int = 0
    keeper_bonus_wad: int = 0
    liquidation_penalty_wad: int = 0
    open_fee_wad: int = 0
    close_fee_wad: int = 0
    borrow_rate_wad: int = 0
    max_profit_wad: int = 9 * WAD
    min_margin: int = 0
    min_notional: int = 0
    max_position_notional: int = MAX_UINT128
    max_open_interest: int = MAX_UINT128
    keeper_bonus_min: int = 0
    keeper_bonus_max: int = 0
    asset_decimals: int | None = None

    def __post_init__(self) -> None:
        _check_widths("MarketParams", self)
        if self.asset_decimals is None:
            return
        scale_for(self.asset_decimals)
        if not self.maintenance_margin_wad < self.initial_margin_wad <= WAD:
            raise ValueError("need maintenance_margin_wad < initial_margin_wad <= WAD")

    @property
    def scale(self) -> int:
        """``10**(36 - asset_decimals)``."""
        if self.asset_decimals is None:
            raise ValueError("these MarketParams have no asset_decimals (from_chain(raw, asset_decimals) "
                             "or with_(asset_decimals=...))")
        return scale_for(self.asset_decimals)

    def as_tuple(self) -> tuple[int, ...]:
        """The struct as a contract call takes it."""
        return tuple(getattr(self, name) for name in MARKET_PARAMS_FIELDS)

    @classmethod
    def from_chain(cls, raw: Any, asset_decimals: int | None = None) -> MarketParams:
        """From the struct as a contract returns it (camelCase attributes or a 15-tuple in declaration
        order) or any object with the snake_case fields."""
        values = struct_values(MARKET_PARAMS_FIELDS, raw)
        return cls(**{name: int(v) for name, v in zip(MARKET_PARAMS_FIELDS, values, strict=True)},
                   asset_decimals=asset_decimals)

    def with_(self, **changes: Any) -> MarketParams:
        """A copy with some fields changed."""
        return replace(self, **changes)

    @classmethod
    def default(cls, decimals: int = 6) -> MarketParams:
        """Parameters for a liquid market such as ETH/USD (a settlement token of ``decimals``): 10x max
        leverage, 5 % maintenance (the struct only: no ``asset_decimals``)."""
        unit = 10**decimals
        return cls(
            initial_margin_wad=WAD // 10,
            maintenance_margin_wad=WAD // 20,
            liquidation_target_wad=WAD * 75 // 1000,
            keeper_bonus_wad=WAD // 100,
            liquidation_penalty_wad=WAD // 100,
            open_fee_wad=WAD // 1000,
            close_fee_wad=WAD // 1000,
            borrow_rate_wad=WAD // 10 // _SECONDS_PER_YEAR,
            max_profit_wad=5 * WAD,
            min_margin=10 * unit,
            min_notional=50 * unit,
            max_position_notional=1_000_000 * unit,
            max_open_interest=10_000_000 * unit,
            keeper_bonus_min=1 * unit,
            keeper_bonus_max=1_000 * unit,
        )


MARKET_PARAMS_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(MarketParams) if f.name != "asset_decimals")
"""The fields of the Solidity struct, in its order (:class:`MarketParams` without ``asset_decimals``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Position:
    """A position as the pool records it: the Solidity ``Position`` struct field for field. ``size``
    in index-asset WAD units, ``entry_price_wad`` and ``fee_base_wad`` in WAD, ``margin`` and
    ``max_profit`` in assets. The model's positions are open ones (``status`` :attr:`OPEN`); it does
    not track the vault's ``owner``, which equality ignores."""

    size: int
    entry_price_wad: int
    margin: int
    max_profit: int
    fee_base_wad: int
    is_long: bool
    status: int = 1  # 0 none, 1 open, 2 closed
    owner: str = field(default="", compare=False)  # the vault's owner (fixed for the vault's life)

    OPEN: ClassVar[int] = 1

    def __post_init__(self) -> None:
        _check_widths("Position", self)

    @property
    def is_open(self) -> bool:
        return self.status == self.OPEN

    @classmethod
    def from_chain(cls, raw: Any) -> Position:
        """From the struct as a contract returns it (camelCase attributes, or a tuple ``(size,
        entryPriceWad, margin, maxProfit, feeBaseWad, isLong[, status, owner])``)."""
        values = struct_values(POSITION_FIELDS, raw)
        size, entry, margin, max_profit, fee_base, is_long, *rest = values
        status = int(rest[0]) if rest else cls.OPEN
        owner = str(rest[1]) if len(rest) > 1 else ""
        return cls(size=int(size), entry_price_wad=int(entry), margin=int(margin), max_profit=int(max_profit),
                   fee_base_wad=int(fee_base), is_long=bool(is_long), status=status, owner=owner)


POSITION_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Position))
"""The fields of the Solidity struct, in its order."""
