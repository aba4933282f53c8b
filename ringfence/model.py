"""The exact Python reference model of Ringfence's position maths.

Three layers live here:

* **Integer mirrors** of every function in ``contracts/libraries/MarginMath.sol``, bit for bit,
  under the same names in snake_case: the same rounding (its direction is in every name),
  OpenZeppelin ``Math.mulDiv`` semantics (full 512-bit precision, panic when the result does not
  fit in a uint256), Solidity 0.8 checked arithmetic and its unchecked ``int256(uint256)``
  casts. Where the EVM would revert with a panic the model raises :class:`EvmPanic` with the
  same code (``0x11`` under/overflow, ``0x12`` division by zero). Arguments that the Solidity
  parameter type could not hold raise :class:`ValueError`.
* **Protocol flows** of ``MarginPool`` built on them: :func:`open_position`,
  :func:`add_margin`, :func:`remove_margin` / :func:`remove_margin_allowed`,
  :func:`close_position` and :func:`settle_close`, with the contract's checks in the contract's
  order, raising typed errors that mirror its custom errors (all :class:`ModelError`); and
  liquidation: :func:`partial_size`, :func:`keeper_bonus`, :func:`liquidate` (the Liquidator's
  single form), :func:`liquidate_batch` / :func:`liquidate_one` and :func:`keeper_payment` (the
  pool's one keeper payment per batch), every token move of each path included.
* **LP accounting**: the LPs' marked assets (``MarginPool.totalAssets`` / ``_markedAssets``:
  :func:`marking`, :func:`marked_assets`, :func:`fee_weight`, :func:`fees_owed`), OpenZeppelin's
  ERC-4626 conversions with the pool's decimals offset (:func:`convert_to_shares`,
  :func:`convert_to_assets`, :func:`share_price`), the worse-of settlement of LP requests
  (:func:`settle_deposit_shares`, :func:`settle_redeem_assets`) and the rounding bounds of
  realization neutrality (:func:`realization_bounds`).
* **Exact rationals** (``exact_*``, :class:`fractions.Fraction`) of the DESIGN formulas, with no
  rounding and no profit cap unless asked for, so that tests can show that the integer versions
  are within their documented rounding of the exact values and always round in the protocol's
  favour: what a trader receives rounds down, what a trader owes or must hold rounds up, and a
  liquidation or bankruptcy boundary rounds towards danger.
  :func:`exact_partial_liquidation_check` measures a partial liquidation against the DESIGN's
  ``e' >= T * N'``.

Units: prices and ratios are WAD (1e18); sizes are index-asset units in WAD; margins, fees and
PnL are settlement-token units ("assets"); ``scale = 10**(36 - asset_decimals)`` so that the
notional in assets is ``size * price / scale``.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any, Generic, TypeVar

__all__ = [
    "Marking",
    "SHARE_DECIMALS_OFFSET",
    "convert_to_assets",
    "convert_to_shares",
    "fee_weight",
    "fees_owed",
    "marked_assets",
    "marking",
    "realization_bounds",
    "settle_deposit_shares",
    "settle_redeem_assets",
    "share_price",
    "MAX_UINT128",
    "MAX_UINT256",
    "PANIC_DIVISION_BY_ZERO",
    "PANIC_UNDER_OVERFLOW",
    "WAD",
    "BatchOutcome",
    "CloseSettlement",
    "EvmPanic",
    "HealthyPosition",
    "InsufficientLiquidity",
    "InsufficientMargin",
    "KeeperPayment",
    "LeverageTooHigh",
    "LiquidationOutcome",
    "MarginBelowMinimum",
    "MarketParams",
    "ModelError",
    "NotionalBelowMinimum",
    "OpenInterestCapExceeded",
    "OpenResult",
    "PartialLiquidationCheck",
    "Position",
    "PositionNotOpen",
    "PositionTooLarge",
    "SafeCastOverflowedUintDowncast",
    "VaultKey",
    "ZeroAmount",
    "ZeroSize",
    "add_margin",
    "available_margin",
    "bankruptcy_price",
    "close_position",
    "entry_notional_up",
    "equity",
    "equity_down",
    "exact_available_margin",
    "exact_bankruptcy_price",
    "exact_equity",
    "exact_fees",
    "exact_health",
    "exact_is_liquidatable",
    "exact_liquidation_price",
    "exact_margin_sufficient",
    "exact_max_profit",
    "exact_notional",
    "exact_partial_liquidation_check",
    "exact_pnl",
    "exact_requirement",
    "fee_index_at",
    "closing_fees_up",
    "fees_on_notional_up",
    "fees_up",
    "health_down",
    "health_wad",
    "initial_margin_test",
    "is_liquidatable",
    "keeper_bonus",
    "keeper_payment",
    "liquidate",
    "liquidate_batch",
    "liquidate_one",
    "liquidation_price",
    "mul_div_down",
    "mul_div_up",
    "notional_down",
    "notional_ratio_down",
    "notional_ratio_up",
    "notional_up",
    "open_position",
    "partial_size",
    "pnl_down",
    "position_fees_up",
    "position_liquidation_price",
    "profit_cap_down",
    "remove_margin",
    "remove_margin_allowed",
    "requirement_up",
    "scale_for",
    "settle_close",
]

WAD: int = 10**18
"""Fixed-point one for prices and ratios."""

MAX_UINT256: int = 2**256 - 1
"""``type(uint256).max``; also the health of a position with no maintenance requirement."""

MAX_UINT128: int = 2**128 - 1
"""``type(uint128).max``: the bound of every stored position field and amount parameter."""

_MAX_UINT64: int = 2**64 - 1
_INT256_MIN: int = -(2**255)
_INT256_MAX: int = 2**255 - 1

PANIC_UNDER_OVERFLOW: int = 0x11
"""Solidity ``Panic(uint256)`` code for checked-arithmetic under/overflow."""

PANIC_DIVISION_BY_ZERO: int = 0x12
"""Solidity ``Panic(uint256)`` code for division or modulo by zero."""


# --------------------------------------------------------------------------------------------
# Errors (the contracts' custom errors, and the EVM panic)
# --------------------------------------------------------------------------------------------


class ModelError(Exception):
    """Base of every error the model raises in place of an on-chain revert."""


class EvmPanic(ModelError):
    """A Solidity ``Panic(code)`` revert: ``0x11`` under/overflow, ``0x12`` division by zero."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code

    def __str__(self) -> str:
        return f"Panic(0x{self.code:02x})"


class SafeCastOverflowedUintDowncast(ModelError):
    """OpenZeppelin ``SafeCast``: ``value`` does not fit in ``bits`` bits."""

    def __init__(self, bits: int, value: int) -> None:
        super().__init__(bits, value)
        self.bits = bits
        self.value = value


class ZeroAmount(ModelError):
    """A margin amount of zero."""


class ZeroSize(ModelError):
    """A position size of zero."""


class MarginBelowMinimum(ModelError):
    """The margin (at open, or left after a withdrawal) is below the market's minimum."""

    def __init__(self, margin: int, minimum: int) -> None:
        super().__init__(margin, minimum)
        self.margin = margin
        self.minimum = minimum


class NotionalBelowMinimum(ModelError):
    """The entry notional is below the market's minimum position notional."""

    def __init__(self, notional: int, minimum: int) -> None:
        super().__init__(notional, minimum)
        self.notional = notional
        self.minimum = minimum


class PositionTooLarge(ModelError):
    """The entry notional is above the market's maximum position notional."""

    def __init__(self, notional: int, maximum: int) -> None:
        super().__init__(notional, maximum)
        self.notional = notional
        self.maximum = maximum


class OpenInterestCapExceeded(ModelError):
    """The side's open interest (sum of entry notionals) after the open would exceed the cap."""

    def __init__(self, open_interest: int, cap: int) -> None:
        super().__init__(open_interest, cap)
        self.open_interest = open_interest
        self.cap = cap


class LeverageTooHigh(ModelError):
    """Opening would leave ``available = m - open_fee`` below ``required = IM * N``."""

    def __init__(self, available: int, required: int) -> None:
        super().__init__(available, required)
        self.available = available
        self.required = required


class InsufficientMargin(ModelError):
    """Removing margin would leave ``m + min(pnl, 0) - f`` below ``IM * N``."""

    def __init__(self, available: int, required: int) -> None:
        super().__init__(available, required)
        self.available = available
        self.required = required


class InsufficientLiquidity(ModelError):
    """The pool's free liquidity cannot reserve the new position's maximum profit."""

    def __init__(self, free: int, needed: int) -> None:
        super().__init__(free, needed)
        self.free = free
        self.needed = needed


class HealthyPosition(ModelError):
    """A strict liquidation of a position that is not liquidatable at ``price_wad``: a long needs
    ``price < liquidation_price``, a short ``price > liquidation_price``."""

    def __init__(self, price_wad: int, liquidation_price_wad: int) -> None:
        super().__init__(price_wad, liquidation_price_wad)
        self.price_wad = price_wad
        self.liquidation_price_wad = liquidation_price_wad


class PositionNotOpen(ModelError):
    """A strict liquidation of a vault without an open position (the pool says ``UnknownVault``
    for a vault it never created, ``PositionNotOpen`` for a closed one)."""

    def __init__(self, vault: Hashable) -> None:
        super().__init__(vault)
        self.vault = vault


# --------------------------------------------------------------------------------------------
# EVM arithmetic (Solidity 0.8 semantics)
# --------------------------------------------------------------------------------------------


def _uint(name: str, value: int, bits: int = 256) -> int:
    """Reject what a ``uint<bits>`` parameter could not hold (an ABI encoder would refuse it)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if not 0 <= value < 1 << bits:
        raise ValueError(f"{name} = {value} is not a uint{bits}")
    return value


def _int256(name: str, value: int) -> int:
    """Reject what an ``int256`` parameter could not hold."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if not _INT256_MIN <= value <= _INT256_MAX:
        raise ValueError(f"{name} = {value} is not an int256")
    return value


def _checked(value: int) -> int:
    """A checked uint256 result: panic 0x11 outside ``[0, 2**256)``."""
    if not 0 <= value <= MAX_UINT256:
        raise EvmPanic(PANIC_UNDER_OVERFLOW)
    return value


def _checked_i(value: int) -> int:
    """A checked int256 result: panic 0x11 outside ``[-2**255, 2**255)``."""
    if not _INT256_MIN <= value <= _INT256_MAX:
        raise EvmPanic(PANIC_UNDER_OVERFLOW)
    return value


def _div(a: int, b: int) -> int:
    """Solidity ``a / b`` on uint256: floor, panic 0x12 on zero."""
    if b == 0:
        raise EvmPanic(PANIC_DIVISION_BY_ZERO)
    return a // b


def _ceil_div(a: int, b: int) -> int:
    """OpenZeppelin ``Math.ceilDiv``: ``ceil(a / b)``, panic 0x12 on zero."""
    if b == 0:
        raise EvmPanic(PANIC_DIVISION_BY_ZERO)
    return -(-a // b)


def _to_int256(value: int) -> int:
    """Solidity ``int256(uint256)``: an unchecked two's-complement reinterpretation."""
    return value - 2**256 if value > _INT256_MAX else value


def _to_uint128(value: int) -> int:
    """OpenZeppelin ``SafeCast.toUint128``."""
    if value > MAX_UINT128:
        raise SafeCastOverflowedUintDowncast(128, value)
    return value


# --------------------------------------------------------------------------------------------
# Market parameters and positions
# --------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------
# Integer mirrors of MarginMath.sol
# --------------------------------------------------------------------------------------------


def mul_div_down(x: int, y: int, d: int) -> int:
    """``floor(x * y / d)`` with full precision (``Math.mulDiv``).

    Rounds **down**. Panics 0x12 when ``d == 0`` and 0x11 when the result exceeds uint256.
    """
    _uint("x", x)
    _uint("y", y)
    _uint("d", d)
    if d == 0:
        raise EvmPanic(PANIC_DIVISION_BY_ZERO)
    return _checked(x * y // d)


def mul_div_up(x: int, y: int, d: int) -> int:
    """``ceil(x * y / d)`` with full precision (``Math.mulDiv(.., Rounding.Ceil)``).

    Rounds **up**. Panics as :func:`mul_div_down`, and 0x11 when the floor is ``2**256 - 1`` and
    the remainder is non-zero (the checked ``+ 1`` overflows).
    """
    down = mul_div_down(x, y, d)
    return _checked(down + (1 if (x * y) % d else 0))


def notional_down(size: int, price_wad: int, scale: int) -> int:
    """Notional ``size * price`` in assets, rounded **down** (what a trader is credited)."""
    return mul_div_down(size, price_wad, scale)


def notional_up(size: int, price_wad: int, scale: int) -> int:
    """Notional ``size * price`` in assets, rounded **up** (what requirements and fees use)."""
    return mul_div_up(size, price_wad, scale)


def pnl_down(
    is_long: bool, size: int, entry_wad: int, price_wad: int, scale: int, max_profit: int
) -> int:
    """The trader's PnL in assets: a profit rounds **down** and is capped at ``max_profit``; a
    loss rounds **up** (away from zero). Either way the result never exceeds the exact PnL.

    Mirrors the Solidity casts exactly: ``int256(uint256)`` is an unchecked reinterpretation and
    the negation of ``type(int256).min`` panics 0x11; outside ``|pnl| < 2**255`` neither is
    reachable with sane inputs.
    """
    _uint("size", size)
    _uint("entry_wad", entry_wad)
    _uint("price_wad", price_wad)
    _uint("scale", scale)
    _uint("max_profit", max_profit)
    profit = price_wad >= entry_wad if is_long else price_wad <= entry_wad
    move = price_wad - entry_wad if price_wad >= entry_wad else entry_wad - price_wad
    if profit:
        return _to_int256(min(mul_div_down(size, move, scale), max_profit))
    loss = _to_int256(mul_div_up(size, move, scale))
    if loss == _INT256_MIN:
        raise EvmPanic(PANIC_UNDER_OVERFLOW)
    return -loss


def fees_up(size: int, entry_wad: int, fee_index_wad: int, fee_base_wad: int, scale: int) -> int:
    """Fees owed in assets, rounded **up** once:
    ``ceil(size * entry * (index - base) / (scale * WAD))`` (within one unit of the exact fee).

    The open fee is folded into ``fee_base_wad`` (set below the index at open), so the one
    difference carries the open fee and the borrow fee accrued since. Panics 0x11 when
    ``fee_base_wad > fee_index_wad``.
    """
    _uint("fee_index_wad", fee_index_wad)
    _uint("fee_base_wad", fee_base_wad)
    per_size = _checked(entry_wad * _checked(fee_index_wad - fee_base_wad))
    return mul_div_up(size, per_size, _checked(scale * WAD))


def fees_on_notional_up(entry_notional: int, fee_index_wad: int, fee_base_wad: int) -> int:
    """An estimate of the fees owed from an entry notional in assets (no size at hand):
    ``ceil(entry_notional * (index - base) / WAD)``; at most one unit above :func:`fees_up`
    of the same position plus its entry notional's rounding. For off-chain ranking only."""
    return mul_div_up(entry_notional, _checked(fee_index_wad - fee_base_wad), WAD)


def notional_ratio_up(size: int, price_wad: int, ratio_wad: int, scale: int) -> int:
    """``ratio * size * price`` in assets, rounded **up** once (a requirement or a fee)."""
    return mul_div_up(size, _checked(price_wad * ratio_wad), _checked(scale * WAD))


def notional_ratio_down(size: int, price_wad: int, ratio_wad: int, scale: int) -> int:
    """``ratio * size * price`` in assets, rounded **down** once (paid out of the equity)."""
    return mul_div_down(size, _checked(price_wad * ratio_wad), _checked(scale * WAD))


def profit_cap_down(margin: int, size: int, entry_wad: int, scale: int, max_profit_wad: int) -> int:
    """A position's profit cap ``k * min(margin, size * entry)``, each side rounded **down** once
    (``MarginMath.profitCapDown``): over-collateralising cannot reserve more than the cap multiple
    of the notional."""
    return min(
        mul_div_down(margin, max_profit_wad, WAD),
        notional_ratio_down(size, entry_wad, max_profit_wad, scale),
    )


def closing_fees_up(
    position: "Position", fee_index_wad: int, price_wad: int, close_fee_wad: int, scale: int
) -> int:
    """Fees owed plus the close fee on ``size * price``, rounded **up** once
    (``MarginMath.closingFeesUp``)."""
    per_size = _checked(
        position.entry_price * _checked(fee_index_wad - position.fee_base)
        + _checked(price_wad * close_fee_wad)
    )
    return mul_div_up(position.size, per_size, _checked(scale * WAD))


def requirement_up(notional: int, ratio_wad: int) -> int:
    """A requirement ``ratio * notional`` in assets, rounded **up**."""
    return mul_div_up(notional, ratio_wad, WAD)


def _long_bankruptcy_numerator(
    size: int, entry_wad: int, margin: int, fees: int, scale: int
) -> tuple[bool, int]:
    """Long: ``s*E - (m - f)*scale`` with its sign (``(False, 0)`` when not positive)."""
    debt = _checked(size * entry_wad)
    if fees >= margin:
        return True, _checked(debt + _checked((fees - margin) * scale))
    collateral = _checked((margin - fees) * scale)
    return (False, 0) if collateral >= debt else (True, debt - collateral)


def _short_bankruptcy_numerator(
    size: int, entry_wad: int, margin: int, fees: int, scale: int
) -> tuple[bool, int]:
    """Short: ``s*E + (m - f)*scale`` with its sign (``(False, 0)`` when not positive)."""
    credit = _checked(size * entry_wad)
    if margin >= fees:
        return True, _checked(credit + _checked((margin - fees) * scale))
    shortfall = _checked((fees - margin) * scale)
    return (False, 0) if shortfall >= credit else (True, credit - shortfall)


def _check_position_args(size: int, entry_wad: int, margin: int, fees: int, scale: int) -> None:
    _uint("size", size)
    _uint("entry_wad", entry_wad)
    _uint("margin", margin)
    _uint("fees", fees)
    _uint("scale", scale)


def liquidation_price(
    is_long: bool,
    size: int,
    entry_wad: int,
    margin: int,
    fees: int,
    scale: int,
    mm_wad: int,
) -> int:
    """The exact integer liquidation boundary, in WAD.

    The position is liquidatable iff ``e < MM * N`` in exact rational arithmetic (uncapped,
    loss-side PnL, fees as given), which for an integer price is ``price < liq`` for a long and
    ``price > liq`` for a short.

    * Long: ``ceil((s*E - (m - f)*scale) * WAD / (s * (WAD - MM)))`` (rounded **up**, towards
      danger); 0 when the numerator is not positive (never liquidatable).
    * Short: ``floor((s*E + (m - f)*scale) * WAD / (s * (WAD + MM)))`` (rounded **down**,
      towards danger); 0 when the numerator is not positive (liquidatable at every price > 0;
      at price 0 :func:`is_liquidatable` says no, where the exact test says yes if the numerator
      is negative: the one place the two differ).
    """
    _check_position_args(size, entry_wad, margin, fees, scale)
    _uint("mm_wad", mm_wad)
    if is_long:
        positive, k = _long_bankruptcy_numerator(size, entry_wad, margin, fees, scale)
        if not positive:
            return 0
        return mul_div_up(k, WAD, _checked(size * _checked(WAD - mm_wad)))
    positive_short, k_short = _short_bankruptcy_numerator(size, entry_wad, margin, fees, scale)
    if not positive_short:
        return 0
    return mul_div_down(k_short, WAD, _checked(size * _checked(WAD + mm_wad)))


def bankruptcy_price(
    is_long: bool, size: int, entry_wad: int, margin: int, fees: int, scale: int
) -> int:
    """The bankruptcy price (equity zero) in WAD, rounded towards danger.

    Long ``ceil(E - (m - f)*scale/s)`` (rounded **up**), short ``floor(E + (m - f)*scale/s)``
    (rounded **down**); 0 when there is none (the numerator is not positive).
    """
    _check_position_args(size, entry_wad, margin, fees, scale)
    if is_long:
        positive, k = _long_bankruptcy_numerator(size, entry_wad, margin, fees, scale)
        return _ceil_div(k, size) if positive else 0
    positive_short, k_short = _short_bankruptcy_numerator(size, entry_wad, margin, fees, scale)
    return _div(k_short, size) if positive_short else 0


def is_liquidatable(is_long: bool, price_wad: int, liq_price_wad: int) -> bool:
    """Whether a position is liquidatable at ``price_wad``: long ``price < liq``, short
    ``price > liq`` (exact, see :func:`liquidation_price`)."""
    _uint("price_wad", price_wad)
    _uint("liq_price_wad", liq_price_wad)
    return price_wad < liq_price_wad if is_long else price_wad > liq_price_wad


# --------------------------------------------------------------------------------------------
# Protocol-level integer formulas (DESIGN), built from the mirrors above
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# Integer mirrors of MarginMath.sol: a position as a whole
# --------------------------------------------------------------------------------------------


def entry_notional_up(position: Position, scale: int) -> int:
    """The entry notional ``notional_up(size, entry_price)`` in assets, rounded **up**: fees are
    owed on it and the side's open interest counts it."""
    return notional_up(position.size, position.entry_price, scale)


def position_fees_up(position: Position, fee_index_wad: int, scale: int) -> int:
    """Fees the position owes at ``fee_index_wad`` (open fee plus borrow fee), rounded **up**."""
    return fees_up(position.size, position.entry_price, fee_index_wad, position.fee_base, scale)


def _pnl_of(position: Position, price_wad: int, scale: int) -> int:
    return pnl_down(
        position.is_long,
        position.size,
        position.entry_price,
        price_wad,
        scale,
        position.max_profit,
    )


def equity_down(position: Position, price_wad: int, fees: int, scale: int) -> int:
    """Equity ``margin + pnl_down - fees`` in assets (int256, checked). With ``fees`` from
    :func:`position_fees_up` it is never above the exact equity."""
    _uint("fees", fees)
    pnl = _pnl_of(position, price_wad, scale)
    return _checked_i(_checked_i(position.margin + pnl) - _to_int256(fees))


def health_down(position: Position, price_wad: int, fees: int, scale: int, mm_wad: int) -> int:
    """Health ``equity / (MM * notional)`` in WAD, rounded **down**: see :func:`health_wad`.

    The requirement is ``notional_ratio_up(size, price, MM)``; ``2**256 - 1`` when it
    is zero (checked first), 0 when the equity is not positive.
    """
    requirement = notional_ratio_up(position.size, price_wad, mm_wad, scale)
    if requirement == 0:
        return MAX_UINT256
    return health_wad(equity_down(position, price_wad, fees, scale), requirement)


def initial_margin_test(
    position: Position, price_wad: int, fees: int, scale: int, im_wad: int
) -> tuple[int, int]:
    """``(available, required)`` of the initial-margin test, which passes iff
    ``available >= required``:

    * ``available = margin + min(pnl_down, 0) - fees`` (int256, checked; unrealised profit never
      counts), never above the exact value;
    * ``required = notional_ratio_up(size, price, IM)``, rounded **up** once.
    """
    _uint("fees", fees)
    pnl = _pnl_of(position, price_wad, scale)
    available = _checked_i(_checked_i(position.margin + min(pnl, 0)) - _to_int256(fees))
    required = notional_ratio_up(position.size, price_wad, im_wad, scale)
    return available, required


def position_liquidation_price(position: Position, fees: int, scale: int, mm_wad: int) -> int:
    """:func:`liquidation_price` of the position given the ``fees`` it owes."""
    return liquidation_price(
        position.is_long,
        position.size,
        position.entry_price,
        position.margin,
        fees,
        scale,
        mm_wad,
    )


# --------------------------------------------------------------------------------------------
# Integer helpers of the protocol
# --------------------------------------------------------------------------------------------


def scale_for(asset_decimals: int) -> int:
    """``10**(36 - asset_decimals)``: turns ``size * price`` (WAD * WAD) into assets."""
    if not 0 <= asset_decimals <= 36:
        raise ValueError(f"asset_decimals = {asset_decimals} is not in [0, 36]")
    return int(10 ** (36 - asset_decimals))


def fee_index_at(borrow_rate_wad: int, seconds: int, start_index_wad: int = WAD) -> int:
    """The fee index ``seconds`` after ``start_index_wad`` at a per-second WAD borrow rate:
    linear and exact, ``start + rate * seconds`` (the pool's index starts at ``WAD``)."""
    _uint("borrow_rate_wad", borrow_rate_wad)
    _uint("seconds", seconds)
    _uint("start_index_wad", start_index_wad)
    return _checked(start_index_wad + _checked(borrow_rate_wad * seconds))


def equity(margin: int, pnl: int, fees: int) -> int:
    """Equity ``e = m + pnl - f`` in assets, exact on integers: the rounding is in the inputs
    (pass :func:`pnl_down` and :func:`fees_up`), so ``e`` never exceeds the exact equity.
    :func:`equity_down` is the checked on-chain form for a position."""
    return margin + pnl - fees


def available_margin(margin: int, pnl: int, fees: int) -> int:
    """``m + min(pnl, 0) - f``: the collateral the initial-margin test counts (unrealised profit
    never does). See :func:`initial_margin_test` for the on-chain form."""
    return margin + min(pnl, 0) - fees


def health_wad(equity_assets: int, requirement: int) -> int:
    """Display health ``floor(equity * WAD / requirement)`` in WAD, rounded **down**.

    ``requirement`` is the maintenance requirement ``requirement_up(notional_up(s, P), MM)``.
    As on chain (``healthDown``) a zero requirement is checked first and gives ``2**256 - 1``;
    otherwise a non-positive equity gives 0. Below ``WAD`` the position is under maintenance
    by the rounded figures; the binding test is :func:`is_liquidatable`.
    """
    _int256("equity_assets", equity_assets)
    _uint("requirement", requirement)
    if requirement == 0:
        return MAX_UINT256
    if equity_assets <= 0:
        return 0
    return mul_div_down(equity_assets, WAD, requirement)


# --------------------------------------------------------------------------------------------
# Flows of MarginPool
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenResult:
    """What :func:`open_position` books."""

    position: Position
    entry_notional: int
    """``notional_up(size, price)``: the base of fees, limits and open interest."""
    open_fee: int
    """``notional_ratio_up(size, price, open_fee_wad)``, rounded up once: owed from the open."""
    max_profit: int
    """:func:`profit_cap_down` of the margin and the notional: reserved in the pool."""
    open_interest_after: int
    """The side's open interest (sum of entry notionals) including this position."""


def open_position(
    params: MarketParams,
    *,
    is_long: bool,
    size: int,
    price_wad: int,
    margin: int,
    fee_index_wad: int,
    open_interest: int,
    free_liquidity: int,
) -> OpenResult:
    """Open a position at the oracle price ``price_wad`` (``MarginPool._open``/``_checkOpen``).

    ``open_interest`` is the side's open interest before the open, ``free_liquidity`` the pool's
    liquidity net of reserves. The checks, in the contract's order:

    1. ``size > 0``                                       else :class:`ZeroSize`
    2. ``margin >= min_margin``                           else :class:`MarginBelowMinimum`
    3. ``notional >= min_notional``                       else :class:`NotionalBelowMinimum`
    4. ``notional <= max_position_notional``              else :class:`PositionTooLarge`
    5. ``open_interest + notional <= max_open_interest``  else :class:`OpenInterestCapExceeded`
    6. ``margin - open_fee >= notional_ratio_up(size, price, IM)``  else :class:`LeverageTooHigh`
    7. ``max_profit <= free_liquidity``                   else :class:`InsufficientLiquidity`

    with ``notional = notional_up(size, price)`` (rounded **up**), ``open_fee`` rounded **up**,
    ``max_profit`` rounded **down**. The open fee is folded into
    ``fee_base = fee_index - open_fee_wad``, so ``fees_up`` at open equals ``open_fee``. The
    stored fields are ``SafeCast.toUint128`` (:class:`SafeCastOverflowedUintDowncast`); the
    side's size total is not modelled.
    """
    _uint("size", size)
    _uint("price_wad", price_wad)
    _uint("margin", margin)
    _uint("fee_index_wad", fee_index_wad)
    _uint("open_interest", open_interest)
    _uint("free_liquidity", free_liquidity)
    scale = params.scale
    if size == 0:
        raise ZeroSize()
    notional = notional_up(size, price_wad, scale)
    if margin < params.min_margin:
        raise MarginBelowMinimum(margin, params.min_margin)
    if notional < params.min_notional:
        raise NotionalBelowMinimum(notional, params.min_notional)
    if notional > params.max_position_notional:
        raise PositionTooLarge(notional, params.max_position_notional)
    open_interest_after = _checked(open_interest + notional)
    if open_interest_after > params.max_open_interest:
        raise OpenInterestCapExceeded(open_interest_after, params.max_open_interest)
    open_fee = notional_ratio_up(size, price_wad, params.open_fee_wad, scale)
    required = notional_ratio_up(size, price_wad, params.initial_margin_wad, scale)
    available = _checked_i(_to_int256(margin) - _to_int256(open_fee))
    if available < _to_int256(required):
        raise LeverageTooHigh(available, required)
    max_profit = profit_cap_down(margin, size, price_wad, scale, params.max_profit_wad)
    if max_profit > free_liquidity:
        raise InsufficientLiquidity(free_liquidity, max_profit)

    _to_uint128(open_interest_after)
    fee_base = _checked(fee_index_wad - params.open_fee_wad) & MAX_UINT128  # uint128(feeBase)
    position = Position(
        size=_to_uint128(size),
        entry_price=_to_uint128(price_wad),
        margin=_to_uint128(margin),
        max_profit=_to_uint128(max_profit),
        fee_base=fee_base,
        is_long=is_long,
    )
    return OpenResult(
        position=position,
        entry_notional=notional,
        open_fee=open_fee,
        max_profit=max_profit,
        open_interest_after=open_interest_after,
    )


def add_margin(position: Position, amount: int) -> Position:
    """The position with ``amount`` more margin (``max_profit`` never rises: adding margin keeps the cap).
    Raises :class:`ZeroAmount` or :class:`SafeCastOverflowedUintDowncast` as the pool does."""
    _uint("amount", amount)
    if amount == 0:
        raise ZeroAmount()
    return replace(position, margin=_to_uint128(position.margin + amount))


def remove_margin(
    params: MarketParams,
    position: Position,
    amount: int,
    price_wad: int,
    fee_index_wad: int,
) -> Position:
    """The position with ``amount`` less margin, after the pool's checks, in its order:

    1. ``amount > 0``                                      else :class:`ZeroAmount`
    2. ``amount <= m`` and ``m - amount >= min_margin``    else :class:`MarginBelowMinimum`
       ``(margin_after, min_margin)`` (``margin_after`` is 0 when ``amount > m``)
    3. :func:`initial_margin_test` of the updated position at ``price_wad`` with the fees at
       ``fee_index_wad``: ``available >= required``    else :class:`InsufficientMargin`

    Both sides of the last test are rounded against the trader, so it never passes where the
    exact test (:func:`exact_margin_sufficient`) fails. ``max_profit`` is lowered to
    :func:`profit_cap_down` of the margin left when that is smaller (the reserve follows the margin).
    """
    _uint("amount", amount)
    if amount == 0:
        raise ZeroAmount()
    margin_after = 0 if amount > position.margin else position.margin - amount
    if margin_after < params.min_margin or amount > position.margin:
        raise MarginBelowMinimum(margin_after, params.min_margin)
    cap = profit_cap_down(
        margin_after, position.size, position.entry_price, params.scale, params.max_profit_wad
    )
    updated = replace(position, margin=margin_after, max_profit=min(position.max_profit, cap))
    fees = position_fees_up(updated, fee_index_wad, params.scale)
    available, required = initial_margin_test(
        updated, price_wad, fees, params.scale, params.initial_margin_wad
    )
    if available < _to_int256(required):
        raise InsufficientMargin(available, required)
    return updated


def remove_margin_allowed(
    params: MarketParams,
    position: Position,
    amount: int,
    price_wad: int,
    fee_index_wad: int,
) -> bool:
    """``True`` when :func:`remove_margin` would succeed; otherwise raises its error
    (:class:`InsufficientMargin` ``(available, required)`` when the initial margin fails)."""
    remove_margin(params, position, amount, price_wad, fee_index_wad)
    return True


@dataclass(frozen=True, slots=True, kw_only=True)
class CloseSettlement:
    """The token flows of a close, in assets (``MarginPool._settle`` and ``_coverBadDebt``).

    ``result`` is ``X = m + pnl - fees - close_fee``; ``payout = max(X, 0)`` is what the
    position's receiver gets (the contract's return value). The vault releases exactly the
    margin, the pool pays any payout above it, and a negative ``X`` is bad debt, covered first by
    the insurance fund, the rest borne by the LPs. Conservation (tokens move, none appear)::

        vault_to_owner + vault_to_pool             == margin
        vault_to_owner + pool_to_owner             == payout == max(X, 0)
        payout + pool_net                          == margin + insurance_to_pool
        pool_net                                   == fees + close_fee - pnl - lp_loss
        insurance_to_pool + lp_loss                == bad_debt == max(-X, 0)

    where ``pool_net = vault_to_pool + insurance_to_pool - pool_to_owner`` is the change of the
    pool's accounted (realized) liquidity (``liquidity()``; ``totalAssets()`` is marked to market:
    :func:`marking`).
    """

    result: int
    payout: int
    vault_to_owner: int
    vault_to_pool: int
    pool_to_owner: int
    bad_debt: int
    insurance_to_pool: int
    lp_loss: int

    @property
    def pool_net(self) -> int:
        """The pool's net change: ``vault_to_pool + insurance_to_pool - pool_to_owner``."""
        return self.vault_to_pool + self.insurance_to_pool - self.pool_to_owner


def settle_close(
    margin: int, pnl: int, fees: int, close_fee: int, insurance_fund: int
) -> CloseSettlement:
    """Split a close into token flows (the identities are on :class:`CloseSettlement`).

    ``X = m + pnl - (fees + close_fee)`` (checked, as the contract sums the two fees first).
    If ``X >= 0``: vault -> owner ``min(X, m)``, vault -> pool ``m - min(X, m)``, pool -> owner
    ``X - min(X, m)``. If ``X < 0``: vault -> pool ``m``, the owner gets 0, and the shortfall
    ``-X`` is bad debt: the insurance fund (balance ``insurance_fund``) pays
    ``min(insurance_fund, shortfall)`` to the pool and the LPs bear the rest. Pass
    :func:`pnl_down` and :func:`fees_up` amounts so every rounding already favours the protocol.
    """
    _uint("margin", margin)
    _int256("pnl", pnl)
    _uint("fees", fees)
    _uint("close_fee", close_fee)
    _uint("insurance_fund", insurance_fund)
    total_fees = _checked(fees + close_fee)
    result = _checked_i(_checked_i(_to_int256(margin) + pnl) - _to_int256(total_fees))
    if result >= 0:
        vault_to_owner = min(result, margin)
        return CloseSettlement(
            result=result,
            payout=result,
            vault_to_owner=vault_to_owner,
            vault_to_pool=margin - vault_to_owner,
            pool_to_owner=result - vault_to_owner,
            bad_debt=0,
            insurance_to_pool=0,
            lp_loss=0,
        )
    shortfall = -result
    covered = min(insurance_fund, shortfall)
    return CloseSettlement(
        result=result,
        payout=0,
        vault_to_owner=0,
        vault_to_pool=margin,
        pool_to_owner=0,
        bad_debt=shortfall,
        insurance_to_pool=covered,
        lp_loss=shortfall - covered,
    )


def close_position(
    params: MarketParams,
    position: Position,
    price_wad: int,
    fee_index_wad: int,
    insurance_fund: int,
) -> CloseSettlement:
    """Close at ``price_wad`` (``MarginPool.closePosition``): the fees owed at ``fee_index_wad``
    plus the close fee on ``s * P``, rounded **up** once (:func:`closing_fees_up`), ``pnl_down``
    capped at ``max_profit``, then :func:`settle_close`."""
    scale = params.scale
    fees = closing_fees_up(position, fee_index_wad, price_wad, params.close_fee_wad, scale)
    pnl = _pnl_of(position, price_wad, scale)
    return settle_close(position.margin, pnl, fees, 0, insurance_fund)


# --------------------------------------------------------------------------------------------
# Liquidation (MarginPool.liquidate, _liquidateOne, _partialSize, _liquidatePartially,
# _liquidateFully, _keeperBonus, _pay, _coverBadDebt)
# --------------------------------------------------------------------------------------------


def keeper_bonus(params: MarketParams, closed_size: int, price_wad: int) -> int:
    """The keeper bonus on a closed size (``MarginPool._keeperBonus``):
    ``floor(b * closed_size * P)`` (rounded **down** once), then raised to ``keeper_bonus_min``
    and lowered to ``keeper_bonus_max``, in that order (so the cap wins if ``min > max``)."""
    bonus = notional_ratio_down(closed_size, price_wad, params.keeper_bonus_wad, params.scale)
    return min(max(bonus, params.keeper_bonus_min), params.keeper_bonus_max)


PARTIAL_SLACK = 3
"""Assets added to a partial liquidation's shortfall (``MarginPool.PARTIAL_SLACK``)."""


def partial_size(params: MarketParams, position: Position, price_wad: int, equity: int) -> int:
    """The size a partial liquidation closes (``MarginPool._partialSize``), 0 when only a full
    liquidation will do.

    With ``N = notional_up(s, P)`` and ``e`` the :func:`equity_down` of the position, the
    smallest fraction that restores ``e' >= T * N'`` once the keeper bonus ``b`` and the penalty
    ``q`` are paid out of the closed notional is ``phi = (T*N - e) / (N * (T - b - q))``; the size
    is ``ceil(s * (N*T - e*WAD + PARTIAL_SLACK*WAD) / (N * (T - b - q)))`` with the ratios in WAD,
    rounded **up** (against the liquidated position); the slack of ``PARTIAL_SLACK`` assets absorbs
    the other roundings. 0 when ``e <= 0`` (bankrupt), when ``T*N <= e`` (not
    below the target: cannot happen for a liquidatable position) and when the size rounds to the
    whole position or beyond.
    """
    _int256("equity", equity)
    if equity <= 0:
        return 0
    notional = notional_up(position.size, price_wad, params.scale)
    target_wad = params.liquidation_target_wad
    equity_scaled = _checked(equity * WAD)
    target = _checked(notional * target_wad)
    if target <= equity_scaled:
        return 0
    rate = _checked(_checked(target_wad - params.keeper_bonus_wad) - params.liquidation_penalty_wad)
    shortfall = _checked(target - equity_scaled + PARTIAL_SLACK * WAD)
    closed = mul_div_up(position.size, shortfall, _checked(notional * rate))
    return closed if closed < position.size else 0


@dataclass(frozen=True, slots=True, kw_only=True)
class LiquidationOutcome:
    """What one liquidation does (``MarginPool._liquidateOne``), every amount in assets.

    The ``LiquidationResult`` fields (``full``, ``closed_size``, ``equity_before``,
    ``keeper_bonus``, ``penalty``, ``owner_credit``, ``bad_debt``) are those of the pool's
    ``Liquidated`` event. The token moves, all non-negative::

        vault:   pool_to_vault - vault_to_pool
        pool:    vault_to_pool - pool_to_vault + fund_cover
                 - keeper_from_equity - keeper_from_pool - penalty
        keeper:  keeper_from_equity + keeper_from_fund + keeper_from_pool
        fund:    penalty - fund_cover - keeper_from_fund

    sum to zero (:attr:`net_flow`); the pool's token balance moves by ``liquidity_delta +
    owner_credit`` (the owner's credit is held by the pool, outside the LPs' liquidity).

    The keeper is paid once per batch (``_pay``): the equity's share of every bonus, then what
    the insurance fund holds after the batch's bad-debt covers, then the pool's free liquidity
    after the batch. :func:`liquidate_batch` attributes the fund's and the pool's payments to the
    batch's liquidations in list order (the sums are the contract's ``KeeperPaid`` amounts); an
    outcome of :func:`liquidate` is a batch of one. ``liquidity_delta`` includes
    ``-keeper_from_pool``.
    """

    full: bool
    """The whole position was closed (the vault's position is no longer open)."""
    closed_size: int
    """Size closed, index units (WAD): the whole size when ``full``."""
    price_wad: int
    liquidation_price_wad: int
    """:func:`position_liquidation_price` before the liquidation (with ``fees``)."""
    fees: int
    """:func:`position_fees_up` owed before the liquidation: all settled to the pool now."""
    equity_before: int
    """:func:`equity_down` before the liquidation (negative: bankrupt)."""
    closed_notional: int
    """``notional_up(closed_size, P)`` (the bonus and the penalty are taken on ``closed_size * P``
    exactly, each rounded once)."""
    pnl_closed: int
    """:func:`pnl_down` of the closed size (its profit cap prorated, rounded down, if partial)."""
    keeper_bonus: int
    """What the keeper is owed: :func:`keeper_bonus` of the closed size in a partial liquidation (all
    from the equity); in a full one the equity's share plus a top-up up to ``min(bonus, floor, fees)``."""
    keeper_from_equity: int
    """The bonus paid out of the vault's equity (all of it in a partial liquidation)."""
    keeper_from_fund: int
    """The bonus paid by the insurance fund (attributed in batch order, see above)."""
    keeper_from_pool: int
    """The bonus paid by the pool's free liquidity, i.e. the LPs (attributed likewise)."""
    penalty: int
    """To the insurance fund, out of the equity only."""
    owner_credit: int
    """Credited to the owner, claimable from the pool (full liquidation only)."""
    bad_debt: int
    """``-equity_before`` when negative (full liquidation only), else 0."""
    fund_cover: int
    """What the insurance fund paid the pool towards ``bad_debt``."""
    position: Position | None
    """What remains of the position (partial), or ``None`` (full)."""
    liquidity_delta: int
    """Change of the pool's ``liquidity()`` (the LPs' realized liquidity; the old ``totalAssets``)."""
    reserved_released: int
    """Decrease of the pool's ``reserved``: the closed part's profit cap, plus what the cap rule takes
    off the rest for the margin it keeps (partial), or the whole cap (full)."""
    open_interest_size_released: int
    """Decrease of the side's open-interest size."""
    open_interest_notional_released: int
    """Decrease of the side's open-interest entry notional."""
    vault_to_pool: int
    """Tokens the vault pays the pool."""
    pool_to_vault: int
    """Tokens the pool pays the vault (a partial liquidation whose closed profit exceeds the
    fees, bonus and penalty)."""

    @property
    def keeper_unfunded(self) -> int:
        """The bonus the equity could not pay (owed by the fund, then the pool)."""
        return self.keeper_bonus - self.keeper_from_equity

    @property
    def keeper_paid(self) -> int:
        """What the keeper received for this liquidation."""
        return self.keeper_from_equity + self.keeper_from_fund + self.keeper_from_pool

    @property
    def keeper_shortfall(self) -> int:
        """The bonus nobody could pay (an empty fund and no free liquidity)."""
        return self.keeper_bonus - self.keeper_paid

    @property
    def lp_loss(self) -> int:
        """The part of the bad debt the fund could not cover: borne by the LPs."""
        return self.bad_debt - self.fund_cover

    @property
    def vault_delta(self) -> int:
        """Change of the vault's token balance."""
        return self.pool_to_vault - self.vault_to_pool

    @property
    def pool_delta(self) -> int:
        """Change of the pool's token balance: ``liquidity_delta + owner_credit``."""
        return (
            self.vault_to_pool
            - self.pool_to_vault
            + self.fund_cover
            - self.keeper_from_equity
            - self.keeper_from_pool
            - self.penalty
        )

    @property
    def fund_delta(self) -> int:
        """Change of the insurance fund's token balance."""
        return self.penalty - self.fund_cover - self.keeper_from_fund

    @property
    def net_flow(self) -> int:
        """Vault + pool + keeper + fund balance changes: always 0 (nothing is minted or lost)."""
        return self.vault_delta + self.pool_delta + self.keeper_paid + self.fund_delta


@dataclass(frozen=True, slots=True, kw_only=True)
class KeeperPayment:
    """One batch's payments (``MarginPool._pay``), the ``KeeperPaid`` event's amounts.

    ``from_fund = min(unfunded, fund)`` in one ``payTo`` call (the fund's balance after the
    batch's bad-debt covers; the batch's penalties reach it only afterwards), then
    ``from_pool = min(unfunded - from_fund, free liquidity after the batch)``. The pool then makes
    at most two transfers: ``penalties`` to the fund and ``from_equity + from_pool`` to the
    keeper."""

    from_equity: int
    unfunded: int
    from_fund: int
    from_pool: int
    penalties: int

    @property
    def paid(self) -> int:
        """What the keeper received in all."""
        return self.from_equity + self.from_fund + self.from_pool

    @property
    def shortfall(self) -> int:
        """The bonus left unpaid (empty fund, no free liquidity)."""
        return self.unfunded - self.from_fund - self.from_pool

    @property
    def emits_keeper_paid(self) -> bool:
        """Whether the pool emits ``KeeperPaid`` (only when the keeper receives something)."""
        return self.paid != 0

    @property
    def pool_to_keeper(self) -> int:
        """The pool's one transfer to the keeper."""
        return self.from_equity + self.from_pool


def keeper_payment(
    outcomes: Sequence[LiquidationOutcome], insurance_fund: int, free_liquidity: int
) -> KeeperPayment:
    """Sum a batch's keeper payments as ``MarginPool._pay`` does: one fund call and one pool
    top-up for the whole batch.

    ``insurance_fund`` is the fund's balance after the batch's bad-debt covers and
    ``free_liquidity`` the pool's ``liquidity() - reserved()`` after the batch's liquidations (may
    be negative: then nothing is free). The outcomes' own ``keeper_from_fund`` and
    ``keeper_from_pool`` are ignored.
    """
    _uint("insurance_fund", insurance_fund)
    from_equity = sum(o.keeper_from_equity for o in outcomes)
    unfunded = sum(o.keeper_unfunded for o in outcomes)
    penalties = sum(o.penalty for o in outcomes)
    from_fund = from_pool = 0
    if unfunded != 0:
        from_fund = min(unfunded, insurance_fund)
        from_pool = min(unfunded - from_fund, max(free_liquidity, 0))
    return KeeperPayment(
        from_equity=from_equity,
        unfunded=unfunded,
        from_fund=from_fund,
        from_pool=from_pool,
        penalties=penalties,
    )


VaultKey = TypeVar("VaultKey", bound=Hashable)
"""How a batch names its vaults (addresses on chain; anything hashable in a model)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchOutcome(Generic[VaultKey]):
    """What ``MarginPool.liquidate`` does to a list of vaults at one price: the liquidations in
    order (skipped vaults are left out, as in the contract's return value), the positions after,
    the batch's keeper payment and the state the batch leaves."""

    results: tuple[LiquidationOutcome, ...]
    vaults: tuple[VaultKey, ...]
    """The vault of each result (a vault listed twice may be liquidated twice)."""
    positions: dict[VaultKey, Position]
    """The open positions after the batch (liquidated fully: removed)."""
    payment: KeeperPayment
    insurance_fund: int
    """The fund's balance after the batch (penalties in, covers and keeper payment out)."""
    free_liquidity: int
    """The pool's ``liquidity() - reserved()`` after the batch (signed)."""

    @property
    def liquidity_delta(self) -> int:
        """Change of the pool's ``liquidity()``."""
        return sum(r.liquidity_delta for r in self.results)

    @property
    def reserved_released(self) -> int:
        return sum(r.reserved_released for r in self.results)

    @property
    def owner_credits(self) -> int:
        """Change of the pool's ``totalClaimable``."""
        return sum(r.owner_credit for r in self.results)

    @property
    def fund_cover(self) -> int:
        return sum(r.fund_cover for r in self.results)

    @property
    def pool_delta(self) -> int:
        """Change of the pool's token balance."""
        return sum(r.pool_delta for r in self.results)


def _liquidate_partially(
    params: MarketParams,
    position: Position,
    price_wad: int,
    fees: int,
    fee_index_wad: int,
    closed_size: int,
    common: dict[str, Any],
) -> LiquidationOutcome | None:
    """``MarginPool._liquidatePartially``: ``None`` (nothing done) when the remaining notional
    is below ``min_notional``, the margin left below ``min_margin``, or the equity left below the
    target ``T * notional'`` (the keeper bonus floor can cost more than the rate)."""
    scale = params.scale
    remaining = _checked(position.size - closed_size)
    remaining_notional = notional_up(remaining, price_wad, scale)
    if remaining_notional < params.min_notional:
        return None
    closed_notional = notional_up(closed_size, price_wad, scale)
    cap_closed = mul_div_down(position.max_profit, closed_size, position.size)
    pnl_closed = pnl_down(
        position.is_long, closed_size, position.entry_price, price_wad, scale, cap_closed
    )
    bonus = keeper_bonus(params, closed_size, price_wad)
    penalty = notional_ratio_up(closed_size, price_wad, params.liquidation_penalty_wad, scale)
    charges = _to_int256(_checked(_checked(fees + bonus) + penalty))
    margin_after = _checked_i(_checked_i(position.margin + pnl_closed) - charges)
    if margin_after < _to_int256(params.min_margin):
        return None
    cap_remaining = min(
        position.max_profit - cap_closed,
        profit_cap_down(margin_after, remaining, position.entry_price, scale, params.max_profit_wad),
    )
    equity_after = margin_after + pnl_down(
        position.is_long, remaining, position.entry_price, price_wad, scale, cap_remaining
    )
    target = notional_ratio_up(remaining, price_wad, params.liquidation_target_wad, scale)
    if equity_after <= 0 or equity_after < target:
        return None

    entry_before = notional_up(position.size, position.entry_price, scale)
    entry_after = notional_up(remaining, position.entry_price, scale)
    after = Position(
        size=remaining,
        entry_price=position.entry_price,
        margin=margin_after & MAX_UINT128,  # uint128(uint256(marginAfter))
        max_profit=cap_remaining,
        fee_base=fee_index_wad & MAX_UINT128,  # uint128(feeIndex): every fee is settled
        is_long=position.is_long,
    )
    return LiquidationOutcome(
        **common,
        full=False,
        closed_size=closed_size,
        closed_notional=closed_notional,
        pnl_closed=pnl_closed,
        keeper_bonus=bonus,
        keeper_from_equity=bonus,
        keeper_from_fund=0,
        keeper_from_pool=0,
        penalty=penalty,
        owner_credit=0,
        bad_debt=0,
        fund_cover=0,
        position=after,
        liquidity_delta=fees - pnl_closed,
        reserved_released=position.max_profit - cap_remaining,
        open_interest_size_released=closed_size,
        open_interest_notional_released=_checked(entry_before - entry_after),
        vault_to_pool=max(position.margin - margin_after, 0),
        pool_to_vault=max(margin_after - position.margin, 0),
    )


def _liquidate_fully(
    params: MarketParams,
    position: Position,
    price_wad: int,
    insurance_fund: int,
    common: dict[str, Any],
) -> LiquidationOutcome:
    """``MarginPool._liquidateFully`` and ``_coverBadDebt``: the margin goes to the pool, which
    pays the keeper out of the equity first, then the penalty, and credits the owner with the
    rest; a negative equity is bad debt, covered by the fund as far as it can."""
    scale = params.scale
    equity_before: int = common["equity_before"]
    notional = notional_up(position.size, price_wad, scale)
    bonus = keeper_bonus(params, position.size, price_wad)
    penalty_due = notional_ratio_up(position.size, price_wad, params.liquidation_penalty_wad, scale)
    available = max(0, equity_before)
    from_equity = min(bonus, available)
    available -= from_equity
    penalty = min(penalty_due, available)
    owner_credit = available - penalty
    # The fund and the LPs top the keeper up to the floor at most, and to no more than the fees the
    # position was charged (no farming of bankrupt vaults).
    floor = min(bonus, params.keeper_bonus_min, common["fees"])
    owed = from_equity + max(0, floor - from_equity)
    bad_debt = max(0, -equity_before)
    cover = min(bad_debt, insurance_fund)
    return LiquidationOutcome(
        **common,
        full=True,
        closed_size=position.size,
        closed_notional=notional,
        pnl_closed=_pnl_of(position, price_wad, scale),
        keeper_bonus=owed,
        keeper_from_equity=from_equity,
        keeper_from_fund=0,
        keeper_from_pool=0,
        penalty=penalty,
        owner_credit=owner_credit,
        bad_debt=bad_debt,
        fund_cover=cover,
        position=None,
        liquidity_delta=position.margin - from_equity - penalty - owner_credit + cover,
        reserved_released=position.max_profit,
        open_interest_size_released=position.size,
        open_interest_notional_released=entry_notional_up(position, scale),
        vault_to_pool=position.margin,
        pool_to_vault=0,
    )


def liquidate_one(
    params: MarketParams,
    position: Position,
    price_wad: int,
    fee_index_wad: int,
    insurance_fund: int,
    *,
    check: bool = True,
) -> LiquidationOutcome | None:
    """One vault's liquidation step inside a batch (``MarginPool._liquidateOne`` with the
    pool's liquidatability test), before the batch's keeper payment: ``keeper_from_fund`` and
    ``keeper_from_pool`` are 0 and ``liquidity_delta`` excludes the pool's top-up of the bonus.

    ``None`` when the position is not liquidatable at ``price_wad`` (``check=False`` skips the
    test). Partial when :func:`partial_size` is non-zero and what would remain is at least
    ``min_notional`` with at least ``min_margin``; otherwise full. ``insurance_fund`` is the
    fund's balance at this step (it pays bad debt before anything else in the batch).
    """
    _uint("price_wad", price_wad)
    _uint("fee_index_wad", fee_index_wad)
    _uint("insurance_fund", insurance_fund)
    scale = params.scale
    fees = position_fees_up(position, fee_index_wad, scale)
    liq_price = position_liquidation_price(position, fees, scale, params.maintenance_margin_wad)
    if check and not is_liquidatable(position.is_long, price_wad, liq_price):
        return None
    equity_before = equity_down(position, price_wad, fees, scale)
    common: dict[str, Any] = {
        "price_wad": price_wad,
        "liquidation_price_wad": liq_price,
        "fees": fees,
        "equity_before": equity_before,
    }
    closed = partial_size(params, position, price_wad, equity_before)
    if closed != 0:
        outcome = _liquidate_partially(
            params, position, price_wad, fees, fee_index_wad, closed, common
        )
        if outcome is not None:
            return outcome
    return _liquidate_fully(params, position, price_wad, insurance_fund, common)


def liquidate_batch(
    params: MarketParams,
    vaults: Sequence[VaultKey],
    positions: Mapping[VaultKey, Position],
    price_wad: int,
    fee_index_wad: int,
    insurance_fund: int,
    free_liquidity: int,
    *,
    strict: bool = False,
) -> BatchOutcome[VaultKey]:
    """``MarginPool.liquidate(vaults, keeper, strict)`` at one price and fee index.

    ``positions`` holds the open positions by vault (a vault absent from it is not open);
    ``insurance_fund`` is the fund's balance and ``free_liquidity`` the pool's
    ``liquidity() - reserved()`` before the batch (pass the signed difference: the contract's
    ``freeLiquidity()`` clamps it at 0, which loses nothing unless the pool is under-reserved).
    Vaults are liquidated in order, each seeing the positions and the fund the previous ones
    left (a vault listed twice is liquidated again if still liquidatable). Then the keeper is
    paid once (:func:`keeper_payment`) and the fund's and the pool's shares of the payment are
    attributed to the results in order.

    ``strict`` (the Liquidator's single form): raise :class:`PositionNotOpen` or
    :class:`HealthyPosition` instead of skipping.
    """
    _uint("insurance_fund", insurance_fund)
    _int256("free_liquidity", free_liquidity)
    book = dict(positions)
    fund = insurance_fund
    free = free_liquidity
    steps: list[LiquidationOutcome] = []
    done: list[VaultKey] = []
    for vault in vaults:
        position = book.get(vault)
        if position is None:
            if strict:
                raise PositionNotOpen(vault)
            continue
        outcome = liquidate_one(params, position, price_wad, fee_index_wad, fund)
        if outcome is None:
            if strict:
                fees = position_fees_up(position, fee_index_wad, params.scale)
                raise HealthyPosition(
                    price_wad,
                    position_liquidation_price(
                        position, fees, params.scale, params.maintenance_margin_wad
                    ),
                )
            continue
        fund -= outcome.fund_cover
        free += outcome.liquidity_delta + outcome.reserved_released
        if outcome.position is None:
            del book[vault]
        else:
            book[vault] = outcome.position
        steps.append(outcome)
        done.append(vault)

    payment = keeper_payment(steps, fund, free)
    fund_left, pool_left = payment.from_fund, payment.from_pool
    results: list[LiquidationOutcome] = []
    for step in steps:
        from_fund = min(step.keeper_unfunded, fund_left)
        from_pool = min(step.keeper_unfunded - from_fund, pool_left)
        fund_left -= from_fund
        pool_left -= from_pool
        results.append(
            replace(
                step,
                keeper_from_fund=from_fund,
                keeper_from_pool=from_pool,
                liquidity_delta=step.liquidity_delta - from_pool,
            )
        )
    return BatchOutcome(
        results=tuple(results),
        vaults=tuple(done),
        positions=book,
        payment=payment,
        insurance_fund=fund - payment.from_fund + payment.penalties,
        free_liquidity=free - payment.from_pool,
    )


def liquidate(
    params: MarketParams,
    position: Position,
    price_wad: int,
    fee_index_wad: int,
    insurance_fund: int,
    free_liquidity: int,
) -> LiquidationOutcome:
    """``Liquidator.liquidate(vault)``: a strict batch of one (:func:`liquidate_batch`), the
    keeper paid from the equity, then the fund, then the pool's free liquidity, as far as each
    goes (:attr:`LiquidationOutcome.keeper_shortfall` is what none of them could pay).

    ``insurance_fund`` is the fund's balance and ``free_liquidity`` the pool's
    ``liquidity() - reserved()`` before the liquidation. Raises :class:`HealthyPosition`
    ``(price, liquidation_price)`` when the position is not liquidatable.
    """
    batch = liquidate_batch(
        params,
        (0,),
        {0: position},
        price_wad,
        fee_index_wad,
        insurance_fund,
        free_liquidity,
        strict=True,
    )
    return batch.results[0]


# --------------------------------------------------------------------------------------------
# Exact rationals (DESIGN formulas, no rounding)
# --------------------------------------------------------------------------------------------


def exact_notional(size: int, price_wad: int, scale: int) -> Fraction:
    """``N = s * P`` in assets, exactly."""
    return Fraction(size * price_wad, scale)


def exact_pnl(
    is_long: bool,
    size: int,
    entry_wad: int,
    price_wad: int,
    scale: int,
    max_profit: int | None = None,
) -> Fraction:
    """PnL in assets, exactly: long ``s(P - E)``, short ``s(E - P)``; a profit is capped at
    ``max_profit`` when one is given (``None``: uncapped)."""
    move = price_wad - entry_wad if is_long else entry_wad - price_wad
    pnl = Fraction(size * move, scale)
    if max_profit is not None and pnl > max_profit:
        return Fraction(max_profit)
    return pnl


def exact_fees(entry_notional: int | Fraction, fee_index_wad: int, fee_base_wad: int) -> Fraction:
    """Fees in assets, exactly: ``entry_notional * (index - base) / WAD``."""
    return Fraction(entry_notional) * (fee_index_wad - fee_base_wad) / WAD


def exact_requirement(notional: int | Fraction, ratio_wad: int) -> Fraction:
    """A requirement ``ratio * notional`` in assets, exactly."""
    return Fraction(notional) * ratio_wad / WAD


def exact_max_profit(
    margin: int, max_profit_wad: int, notional: int | Fraction | None = None
) -> Fraction:
    """The profit cap ``k * min(m, N)`` exactly (``k * m`` when no notional is given)."""
    base = Fraction(margin) if notional is None else min(Fraction(margin), Fraction(notional))
    return base * Fraction(max_profit_wad, WAD)


def exact_equity(margin: int | Fraction, pnl: int | Fraction, fees: int | Fraction) -> Fraction:
    """Equity ``e = m + PnL - f``, exactly."""
    return Fraction(margin) + Fraction(pnl) - Fraction(fees)


def exact_available_margin(
    margin: int | Fraction, pnl: int | Fraction, fees: int | Fraction
) -> Fraction:
    """``m + min(PnL, 0) - f``, exactly."""
    return Fraction(margin) + min(Fraction(pnl), Fraction(0)) - Fraction(fees)


def exact_margin_sufficient(
    is_long: bool,
    size: int,
    entry_wad: int,
    price_wad: int,
    margin: int | Fraction,
    fees: int | Fraction,
    scale: int,
    im_wad: int,
) -> bool:
    """The DESIGN open / remove-margin test: ``m + min(PnL, 0) - f >= IM * N``, exactly."""
    pnl = exact_pnl(is_long, size, entry_wad, price_wad, scale)
    available = exact_available_margin(margin, pnl, fees)
    return available >= exact_requirement(exact_notional(size, price_wad, scale), im_wad)


def exact_is_liquidatable(
    is_long: bool,
    size: int,
    entry_wad: int,
    price_wad: int,
    margin: int | Fraction,
    fees: int | Fraction,
    scale: int,
    mm_wad: int,
) -> bool:
    """The DESIGN liquidation test ``e < MM * N``, exactly, with the uncapped PnL."""
    pnl = exact_pnl(is_long, size, entry_wad, price_wad, scale)
    e = exact_equity(margin, pnl, fees)
    return e < exact_requirement(exact_notional(size, price_wad, scale), mm_wad)


def exact_liquidation_price(
    is_long: bool,
    size: int,
    entry_wad: int,
    margin: int | Fraction,
    fees: int | Fraction,
    scale: int,
    mm_wad: int,
) -> Fraction:
    """The liquidation price in WAD, exactly: long ``(E - (m - f)/s) / (1 - MM)``, short
    ``(E + (m - f)/s) / (1 + MM)`` (with ``(m - f)/s`` converted to WAD price units). May be
    zero or negative, meaning no liquidation price exists on that side of zero."""
    cushion = (Fraction(margin) - Fraction(fees)) * scale / size
    if is_long:
        return (entry_wad - cushion) * WAD / (WAD - mm_wad)
    return (entry_wad + cushion) * WAD / (WAD + mm_wad)


def exact_bankruptcy_price(
    is_long: bool,
    size: int,
    entry_wad: int,
    margin: int | Fraction,
    fees: int | Fraction,
    scale: int,
) -> Fraction:
    """The bankruptcy price (equity zero) in WAD, exactly: long ``E - (m - f)/s``, short
    ``E + (m - f)/s``. May be zero or negative (none)."""
    cushion = (Fraction(margin) - Fraction(fees)) * scale / size
    return entry_wad - cushion if is_long else entry_wad + cushion


def exact_health(
    equity_assets: int | Fraction, size: int, price_wad: int, scale: int, mm_wad: int
) -> Fraction:
    """Health ``e / (MM * N)`` as a plain ratio (1 is the maintenance boundary), exactly.
    Raises :class:`ZeroDivisionError` when the requirement is zero."""
    return Fraction(equity_assets) / exact_requirement(
        exact_notional(size, price_wad, scale), mm_wad
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class PartialLiquidationCheck:
    """A partial liquidation in exact rationals: the position's equity and notional before and
    after at the liquidation price (exact PnL, profit capped; fees as owed before, none after as
    they are settled), against the target ``T`` (DESIGN: ``e' >= T * N'``, healthier than
    before)."""

    equity_before: Fraction
    notional_before: Fraction
    equity_after: Fraction
    notional_after: Fraction
    target_wad: int

    @property
    def target_after(self) -> Fraction:
        """``T * N'``."""
        return exact_requirement(self.notional_after, self.target_wad)

    @property
    def slack(self) -> Fraction:
        """``e' - T * N'`` in assets: not negative when the target is restored."""
        return self.equity_after - self.target_after

    @property
    def restores_target(self) -> bool:
        """``e' >= T * N'``."""
        return self.slack >= 0

    @property
    def healthier(self) -> bool:
        """``e' / N' > e / N`` (strictly healthier than before)."""
        return self.equity_after * self.notional_before > self.equity_before * self.notional_after


def exact_partial_liquidation_check(
    params: MarketParams, before: Position, outcome: LiquidationOutcome
) -> PartialLiquidationCheck:
    """:class:`PartialLiquidationCheck` of a partial ``outcome`` of ``before`` (raises
    :class:`ValueError` for a full liquidation)."""
    after = outcome.position
    if outcome.full or after is None:
        raise ValueError("not a partial liquidation")
    scale = params.scale
    price = outcome.price_wad

    def exact_equity_of(position: Position, fees: int) -> Fraction:
        pnl = exact_pnl(
            position.is_long,
            position.size,
            position.entry_price,
            price,
            scale,
            position.max_profit,
        )
        return exact_equity(position.margin, pnl, fees)

    return PartialLiquidationCheck(
        equity_before=exact_equity_of(before, outcome.fees),
        notional_before=exact_notional(before.size, price, scale),
        equity_after=exact_equity_of(after, 0),
        notional_after=exact_notional(after.size, price, scale),
        target_wad=params.liquidation_target_wad,
    )


# --------------------------------------------------------------------------------------------
# LP accounting: the marked share price and the worse-of settlement of LP requests
# --------------------------------------------------------------------------------------------

SHARE_DECIMALS_OFFSET: int = 6
"""``MarginPool._decimalsOffset()``: shares carry 6 more decimals than the asset (OpenZeppelin's
ERC-4626 virtual shares ``10**6`` and virtual asset ``1``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Marking:
    """The parts of ``MarginPool._markedAssets`` at one price and fee index (see
    :func:`marking`): ``total_assets = max(0, liquidity - min(trader_gain, reserved))``."""

    liquidity: int
    fees_owed: int  # floor((index * (EN_long + EN_short) - fee_weight) / WAD)
    long_value: int  # ceil(long size * price / scale)
    short_value: int  # floor(short size * price / scale)
    trader_gain: int  # long_value - EN_long + EN_short - short_value - fees_owed (signed, unclamped)
    reserved: int
    total_assets: int

    @property
    def clamped(self) -> bool:
        """The traders' net gain is above the reserve: it counts as the reserve."""
        return self.trader_gain > self.reserved

    @property
    def floored(self) -> bool:
        """``liquidity - min(gain, reserved)`` is negative: ``totalAssets`` is 0. Unreachable while the
        pool keeps ``liquidity >= reserved`` (then the result is at least ``liquidity - reserved``)."""
        return self.liquidity - min(self.trader_gain, self.reserved) < 0


def fee_weight(positions: Sequence[Position], scale: int) -> int:
    """``MarginPool._feeWeight`` rebuilt from the open positions: ``Σ notional_up(size, entry) *
    fee_base`` (the pool keeps it as this sum through opens, closes and partial liquidations, which
    reset the fee base to the index of the liquidation)."""
    return sum(_checked(entry_notional_up(p, scale) * p.fee_base) for p in positions)


def fees_owed(fee_index_wad: int, long_notional: int, short_notional: int, weight: int) -> int:
    """The fees all open positions owe, as the pool marks them: ``floor((index * Σ EN - weight) /
    WAD)`` (rounded **down**: in the traders' favour, against the LPs' mark). Panics 0x11 when the
    weight exceeds ``index * Σ EN`` (a fee base above the index)."""
    _uint("fee_index_wad", fee_index_wad)
    total = _checked(fee_index_wad * _checked(long_notional + short_notional))
    return _checked(total - weight) // WAD


def marking(
    liquidity: int,
    longs: tuple[int, int],
    shorts: tuple[int, int],
    fee_index_wad: int,
    weight: int,
    reserved: int,
    price_wad: int,
    scale: int,
) -> Marking:
    """``MarginPool._markedAssets(price)`` with its parts. ``longs`` and ``shorts`` are the sides'
    ``(size, entry notional)`` as ``openInterest`` returns them; ``weight`` is the private
    ``_feeWeight`` (:func:`fee_weight` of the open positions); ``fee_index_wad`` is
    ``currentFeeIndex()`` at the block the mark is for.

    Rounding, all against the LPs: the long side's value rounds **up**, the short side's value
    **down** (each side's gain up), the fees owed round **down**; the traders' net gain is clamped
    at ``reserved`` (their payouts can never exceed it) and the result is floored at 0.
    """
    for name, value in (("liquidity", liquidity), ("reserved", reserved), ("price_wad", price_wad),
                        ("weight", weight), ("long size", longs[0]), ("long notional", longs[1]),
                        ("short size", shorts[0]), ("short notional", shorts[1])):
        _uint(name, value)
    owed = fees_owed(fee_index_wad, longs[1], shorts[1], weight)
    long_value = mul_div_up(longs[0], price_wad, scale)
    short_value = mul_div_down(shorts[0], price_wad, scale)
    gain = long_value - longs[1] + shorts[1] - short_value - owed
    assets = liquidity - min(gain, reserved)
    return Marking(
        liquidity=liquidity, fees_owed=owed, long_value=long_value, short_value=short_value,
        trader_gain=gain, reserved=reserved, total_assets=max(assets, 0),
    )


def marked_assets(
    liquidity: int,
    longs: tuple[int, int],
    shorts: tuple[int, int],
    fee_index_wad: int,
    weight: int,
    reserved: int,
    price_wad: int,
    scale: int,
) -> int:
    """``MarginPool.totalAssets()``: the LPs' assets marked to ``price_wad`` (see :func:`marking`)."""
    return marking(liquidity, longs, shorts, fee_index_wad, weight, reserved, price_wad, scale).total_assets


def convert_to_shares(assets: int, total_assets: int, total_supply: int,
                      offset: int = SHARE_DECIMALS_OFFSET) -> int:
    """OpenZeppelin ERC-4626 ``_convertToShares(assets, Floor)``:
    ``floor(assets * (supply + 10**offset) / (total_assets + 1))``."""
    return mul_div_down(assets, _checked(total_supply + 10**offset), _checked(total_assets + 1))


def convert_to_assets(shares: int, total_assets: int, total_supply: int,
                      offset: int = SHARE_DECIMALS_OFFSET) -> int:
    """OpenZeppelin ERC-4626 ``_convertToAssets(shares, Floor)``:
    ``floor(shares * (total_assets + 1) / (supply + 10**offset))``."""
    return mul_div_down(shares, _checked(total_assets + 1), _checked(total_supply + 10**offset))


def share_price(total_assets: int, total_supply: int, offset: int = SHARE_DECIMALS_OFFSET) -> Fraction:
    """The exact assets per share both conversions round: ``(total_assets + 1) / (supply + 10**offset)``
    (``convert_to_assets(s) = floor(s * price)``, ``convert_to_shares(a) = floor(a / price)``)."""
    return Fraction(total_assets + 1, total_supply + 10**offset)


def settle_deposit_shares(assets: int, quote_shares: int, total_assets: int, total_supply: int) -> int:
    """``settleDeposit``: the worse of the quote (shares the assets bought at the request) and what
    they buy at the settlement's marked ``total_assets`` and ``total_supply`` (escrowed shares
    included), both rounded down."""
    return min(quote_shares, convert_to_shares(assets, total_assets, total_supply))


def settle_redeem_assets(shares: int, quote_assets: int, total_assets: int, total_supply: int) -> int:
    """``settleRedeem``: the worse of the quote (assets the shares were worth at the request) and what
    they are worth at the settlement's marked ``total_assets`` and ``total_supply``, rounded down."""
    return min(quote_assets, convert_to_assets(shares, total_assets, total_supply))


def realization_bounds(fee_index_gaps: Sequence[int]) -> tuple[Fraction, Fraction]:
    """Exclusive bounds of what closing or liquidating positions at one price and one fee index may
    move ``totalAssets()`` by, besides the realization's documented effects:

        ΔtotalAssets - close fee (exact) + keeper pay from the pool + bad debt borne by the LPs

    lies strictly between the bounds, with one ``index - fee_base`` per position closed or
    liquidated (``fee_index_gaps``, in WAD), when the closed part of each position is below its
    profit cap and the traders' gain is below the reserve before and after (no clamp).

    Derivation, per position (``π`` its exact PnL, ``φ = s * E * (index - base) / (scale * WAD)`` its
    exact fees owed, ``κ`` its exact close fee; ``ε = (index - base) / WAD``): the pool books
    ``fees - pnl`` into ``liquidity`` while the mark drops the position's PnL and fees, so the change
    is ``a - b + c - d`` with ``a = fees - φ - κ`` in ``[0, 1)`` (fees rounded up once), ``b = pnl - π``
    in ``(-1, 0]`` (``pnl_down``), ``c`` = the side aggregate's PnL drop minus ``π`` in ``(-2, 2)``
    (a side value rounded once before and once after, the entry notional rounded up; for a partial
    liquidation the closed part's entry notional is a difference of two roundings up) and ``d`` = the
    aggregate fee drop minus ``φ`` in ``(-1, 1 + ε)`` (two floors of the aggregate, and the weight
    counts the rounded-up entry notional, at most ``ε`` above ``φ``). Hence ``(-3 - ε, 5)`` per
    position, summed over the positions of a batch.
    """
    lo = -sum((3 + Fraction(gap, WAD) for gap in fee_index_gaps), Fraction(0))
    return lo, Fraction(5 * len(fee_index_gaps))
