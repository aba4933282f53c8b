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
  :func:`add_margin`, :func:`remove_margin` / :func:`remove_margin_allowed` (and
  :func:`max_removable`, the most it accepts),
  :func:`close_position` and :func:`settle_close`, with the contract's checks in the contract's
  order, raising its custom errors (all :class:`ModelError`, each a subclass of the contract
  error's class ``ringfence.errors.error_class(name)``, with the ABI's arguments); and
  liquidation: :func:`partial_size`, :func:`keeper_bonus`, :func:`liquidate` (the Liquidator's
  single form), :func:`liquidate_batch` / :func:`liquidate_one` and :func:`keeper_payment` (the
  pool's one keeper payment per batch), every token move of each path included.
* **LP accounting**: the LPs' marked assets (``MarginPool.totalAssets`` / ``_markedAssets``:
  :func:`marking`, :func:`marked_assets`, :func:`fee_weight`, :func:`fees_owed`), OpenZeppelin's
  ERC-4626 conversions with the pool's decimals offset (:func:`convert_to_shares`,
  :func:`convert_to_assets`, :func:`share_price`), the worse-of settlement of LP requests
  (:func:`settle_deposit_shares`, :func:`settle_redeem_assets`) and the rounding bounds of
  realization neutrality (:func:`realization_bounds`).
* **Exact rationals** (``exact_*``, :class:`fractions.Fraction`) of the formulas in
  ``docs/design.md``, with no rounding and no profit cap unless asked for, so that tests can show
  that the integer versions are within their documented rounding of the exact values and always
  round in the protocol's favour: what a trader receives rounds down, what a trader owes or must
  hold rounds up, and a liquidation or bankruptcy boundary rounds towards danger.
  :func:`exact_partial_liquidation_check` measures a partial liquidation against the target of
  ``docs/design.md``, ``e' >= T * N'``.

Units: prices and ratios are WAD (1e18); sizes are index-asset units in WAD; margins, fees and
PnL are settlement-token units ("assets"); ``scale = 10**(36 - asset_decimals)`` so that the
notional in assets is ``size * price / scale``.

Every formula, with its rounding and worked examples, is in ``docs/maths.md``.

The package's modules, each importing only from those above it:

* :mod:`~ringfence.model.constants`: ``WAD``, the integer bounds, the panic codes;
* :mod:`~ringfence.model.errors`: :class:`ModelError` and the contracts' errors;
* :mod:`~ringfence.model.evm`: Solidity 0.8 checked arithmetic and casts (private helpers);
* :mod:`~ringfence.model.margin_math`: the mirrors of ``MarginMath.sol`` on plain integers;
* :mod:`~ringfence.model.helpers`: the scale, the fee index, equity and health;
* :mod:`~ringfence.model.structs`: :class:`MarketParams` and :class:`Position`, the contracts'
  structs (the SDK's types too);
* :mod:`~ringfence.model.position`: the ``MarginMath.sol`` mirrors on a whole position;
* :mod:`~ringfence.model.flows`: open, add and remove margin, close;
* :mod:`~ringfence.model.outcomes` and :mod:`~ringfence.model.liquidation`: liquidation;
* :mod:`~ringfence.model.exact`: the exact rationals;
* :mod:`~ringfence.model.lp`: LP accounting;
* :mod:`~ringfence.model.guard`: the MarginGuard's policy, top-up amount (:func:`top_up_quote`) and trigger price
  (:func:`top_up_price`).

Code outside the package imports from ``ringfence.model`` itself (``from ringfence import model``),
not from these modules.
"""

from __future__ import annotations

from ringfence.model.constants import (
    MAX_UINT88,
    MAX_UINT128,
    MAX_UINT256,
    PANIC_DIVISION_BY_ZERO,
    PANIC_UNDER_OVERFLOW,
    WAD,
)
from ringfence.model.errors import (
    EvmPanic,
    HealthyPosition,
    InsufficientLiquidity,
    InsufficientMargin,
    LeverageTooHigh,
    MarginBelowMinimum,
    ModelError,
    NotionalBelowMinimum,
    OpenInterestCapExceeded,
    PositionNotOpen,
    PositionTooLarge,
    SafeCastOverflowedUintDowncast,
    ZeroAmount,
    ZeroSize,
)
from ringfence.model.exact import (
    PartialLiquidationCheck,
    exact_available_margin,
    exact_bankruptcy_price,
    exact_equity,
    exact_fees,
    exact_health,
    exact_is_liquidatable,
    exact_liquidation_price,
    exact_margin_sufficient,
    exact_max_profit,
    exact_notional,
    exact_partial_liquidation_check,
    exact_pnl,
    exact_requirement,
)
from ringfence.model.flows import (
    CloseSettlement,
    OpenResult,
    add_margin,
    close_position,
    max_removable,
    open_position,
    remove_margin,
    remove_margin_allowed,
    settle_close,
)
from ringfence.model.guard import (
    MAX_FEE_BPS,
    POLICY_FIELDS,
    GuardPolicy,
    TopUpQuote,
    top_up_price,
    top_up_quote,
)
from ringfence.model.helpers import (
    available_margin,
    equity,
    fee_index_at,
    health_wad,
    scale_for,
)
from ringfence.model.liquidation import (
    PARTIAL_SLACK,
    keeper_bonus,
    keeper_payment,
    liquidate,
    liquidate_batch,
    liquidate_one,
    partial_size,
)
from ringfence.model.lp import (
    SHARE_DECIMALS_OFFSET,
    Marking,
    convert_to_assets,
    convert_to_shares,
    fee_weight,
    fees_owed,
    marked_assets,
    marking,
    realization_bounds,
    settle_deposit_shares,
    settle_redeem_assets,
    share_price,
)
from ringfence.model.margin_math import (
    bankruptcy_price,
    fees_on_notional_up,
    fees_up,
    is_liquidatable,
    liquidation_price,
    mul_div_down,
    mul_div_up,
    notional_down,
    notional_ratio_down,
    notional_ratio_up,
    notional_up,
    pnl_down,
    profit_cap_down,
    requirement_up,
)
from ringfence.model.outcomes import (
    BatchOutcome,
    KeeperPayment,
    LiquidationOutcome,
    VaultKey,
)
from ringfence.model.position import (
    closing_fees_up,
    entry_notional_up,
    equity_down,
    health_down,
    initial_margin_test,
    liquidation_test,
    position_fees_up,
    position_liquidation_price,
)
from ringfence.model.structs import (
    MARKET_PARAMS_FIELDS,
    POSITION_FIELDS,
    MarketParams,
    Position,
)

__all__ = [
    "MARKET_PARAMS_FIELDS",
    "MAX_FEE_BPS",
    "MAX_UINT88",
    "MAX_UINT128",
    "MAX_UINT256",
    "PANIC_DIVISION_BY_ZERO",
    "PANIC_UNDER_OVERFLOW",
    "PARTIAL_SLACK",
    "POLICY_FIELDS",
    "POSITION_FIELDS",
    "SHARE_DECIMALS_OFFSET",
    "WAD",
    "BatchOutcome",
    "CloseSettlement",
    "EvmPanic",
    "GuardPolicy",
    "HealthyPosition",
    "InsufficientLiquidity",
    "InsufficientMargin",
    "KeeperPayment",
    "LeverageTooHigh",
    "LiquidationOutcome",
    "MarginBelowMinimum",
    "MarketParams",
    "Marking",
    "ModelError",
    "NotionalBelowMinimum",
    "OpenInterestCapExceeded",
    "OpenResult",
    "PartialLiquidationCheck",
    "Position",
    "PositionNotOpen",
    "PositionTooLarge",
    "SafeCastOverflowedUintDowncast",
    "TopUpQuote",
    "VaultKey",
    "ZeroAmount",
    "ZeroSize",
    "add_margin",
    "available_margin",
    "bankruptcy_price",
    "close_position",
    "closing_fees_up",
    "convert_to_assets",
    "convert_to_shares",
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
    "fee_weight",
    "fees_on_notional_up",
    "fees_owed",
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
    "liquidation_test",
    "marked_assets",
    "marking",
    "max_removable",
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
    "realization_bounds",
    "remove_margin",
    "remove_margin_allowed",
    "requirement_up",
    "scale_for",
    "settle_close",
    "settle_deposit_shares",
    "settle_redeem_assets",
    "share_price",
    "top_up_price",
    "top_up_quote",
]
