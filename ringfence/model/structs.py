"""Market parameters and positions: the Solidity ``MarketParams`` and ``Position`` structs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ringfence.model.constants import MAX_UINT128, WAD
from ringfence.model.evm import _uint
from ringfence.model.helpers import scale_for

_PARAM_FIELDS: tuple[tuple[str, str, int], ...] = (
    ("initial_margin_wad", "initialMarginWad", 64),
    ("maintenance_margin_wad", "maintenanceMarginWad", 64),
    ("liquidation_target_wad", "liquidationTargetWad", 64),
    ("keeper_bonus_wad", "keeperBonusWad", 64),
    ("liquidation_penalty_wad", "liquidationPenaltyWad", 64),
    ("open_fee_wad", "openFeeWad", 64),
    ("close_fee_wad", "closeFeeWad", 64),
    ("borrow_rate_wad", "borrowRateWad", 64),
    ("max_profit_wad", "maxProfitWad", 64),
    ("min_margin", "minMargin", 128),
    ("min_notional", "minNotional", 128),
    ("max_position_notional", "maxPositionNotional", 128),
    ("max_open_interest", "maxOpenInterest", 128),
    ("keeper_bonus_min", "keeperBonusMin", 128),
    ("keeper_bonus_max", "keeperBonusMax", 128),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketParams:
    """A market: the Solidity ``MarketParams`` struct field for field (snake_case, same widths:
    ratios and the per-second borrow rate are uint64 WAD, amounts uint128 assets) plus the
    settlement token's ``asset_decimals``, which fixes :attr:`scale`.

    The liquidation fields (target ``T``, keeper bonus rate ``b`` with its floor and cap,
    penalty rate ``q``) are used by the liquidation flows only (:func:`liquidate`).
    """

    asset_decimals: int
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

    def __post_init__(self) -> None:
        scale_for(self.asset_decimals)
        for name, _, bits in _PARAM_FIELDS:
            _uint(name, getattr(self, name), bits)
        if not self.maintenance_margin_wad < self.initial_margin_wad <= WAD:
            raise ValueError("need maintenance_margin_wad < initial_margin_wad <= WAD")

    @property
    def scale(self) -> int:
        """``10**(36 - asset_decimals)``."""
        return scale_for(self.asset_decimals)

    @classmethod
    def from_struct(cls, raw: Any, asset_decimals: int) -> MarketParams:
        """From the struct as a contract returns it (camelCase attributes or a 15-tuple in
        declaration order) or any object with the snake_case fields (such as the SDK's)."""
        values: dict[str, int] = {}
        for index, (name, solidity_name, _) in enumerate(_PARAM_FIELDS):
            if hasattr(raw, name):
                values[name] = int(getattr(raw, name))
            elif hasattr(raw, solidity_name):
                values[name] = int(getattr(raw, solidity_name))
            else:
                values[name] = int(raw[index])
        return cls(asset_decimals=asset_decimals, **values)


@dataclass(frozen=True, slots=True, kw_only=True)
class Position:
    """An open position as the pool stores it (the Solidity ``Position`` struct without its
    status): ``size`` in index-asset WAD units, ``entry_price`` and ``fee_base`` in WAD,
    ``margin`` and ``max_profit`` in assets; every amount a uint128, the fee base a uint80."""

    size: int
    entry_price: int
    margin: int
    max_profit: int
    fee_base: int
    is_long: bool

    def __post_init__(self) -> None:
        for name in ("size", "entry_price", "margin", "max_profit"):
            _uint(name, getattr(self, name), 128)
        _uint("fee_base", self.fee_base, 80)

    @classmethod
    def from_struct(cls, raw: Any) -> Position:
        """From the struct as a contract returns it (camelCase attributes or a tuple
        ``(size, entryPriceWad, margin, maxProfit, feeBaseWad, isLong, ...)``)."""
        if hasattr(raw, "entryPriceWad"):
            return cls(
                size=int(raw.size),
                entry_price=int(raw.entryPriceWad),
                margin=int(raw.margin),
                max_profit=int(raw.maxProfit),
                fee_base=int(raw.feeBaseWad),
                is_long=bool(raw.isLong),
            )
        items: Sequence[Any] = tuple(raw)
        return cls(
            size=int(items[0]),
            entry_price=int(items[1]),
            margin=int(items[2]),
            max_profit=int(items[3]),
            fee_base=int(items[4]),
            is_long=bool(items[5]),
        )
