"""Errors (the contracts' custom errors, and the EVM panic): every one a :class:`ModelError`,
raised by the model where the contracts revert.

They are the contract errors of :mod:`ringfence.errors`: each custom error's class is a subclass of
``error_class(name)`` (so ``except error_class("LeverageTooHigh")`` and ``except RingfenceError``
catch what the model raises as well as what a contract call reverts with), with the same ``name``,
the same ``inputs`` (by the ABI's argument names, readable as snake_case attributes:
``error.open_interest``) and the same message (the error's ``@notice``). The model raises them with
positional arguments in the ABI's order; ``tests/unit/test_chain_layer.py`` holds every one to the
compiled ABI.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, ClassVar

from ringfence.errors import RingfenceError, UnknownRevertError, error_class


class ModelError(RingfenceError):
    """Base of every error the model raises in place of an on-chain revert. ``argument_names``: the
    contract error's arguments, as its ABI names them, in order."""

    argument_names: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *values: Any, message: str | None = None) -> None:
        if len(values) == 1 and isinstance(values[0], dict):  # error_class(name)(inputs) form
            super().__init__(values[0], message)
            return
        if len(values) != len(self.argument_names):
            raise TypeError(f"{self.name} takes {len(self.argument_names)} arguments "
                            f"({', '.join(self.argument_names)}), got {len(values)}")
        super().__init__(dict(zip(self.argument_names, values)), message)


class EvmPanic(ModelError, UnknownRevertError):
    """A Solidity ``Panic(code)`` revert: ``0x11`` under/overflow, ``0x12`` division by zero."""

    name = "Panic"
    argument_names = ("code",)

    def __init__(self, code: int) -> None:
        super().__init__(code, message=f"the contract would revert (Panic(0x{code:02x}))")


class SafeCastOverflowedUintDowncast(ModelError, error_class("SafeCastOverflowedUintDowncast")):  # type: ignore[misc]
    """OpenZeppelin ``SafeCast``: ``value`` does not fit in ``bits`` bits."""

    argument_names = ("bits", "value")


class ZeroAmount(ModelError, error_class("ZeroAmount")):  # type: ignore[misc]
    """A margin amount of zero."""


class ZeroSize(ModelError, error_class("ZeroSize")):  # type: ignore[misc]
    """A position size of zero."""


class MarginBelowMinimum(ModelError, error_class("MarginBelowMinimum")):  # type: ignore[misc]
    """The margin (at open, or left after a withdrawal) is below the market's minimum."""

    argument_names = ("margin", "minimum")


class NotionalBelowMinimum(ModelError, error_class("NotionalBelowMinimum")):  # type: ignore[misc]
    """The entry notional is below the market's minimum position notional."""

    argument_names = ("notional", "minimum")


class PositionTooLarge(ModelError, error_class("PositionTooLarge")):  # type: ignore[misc]
    """The entry notional is above the market's maximum position notional."""

    argument_names = ("notional", "maximum")


class OpenInterestCapExceeded(ModelError, error_class("OpenInterestCapExceeded")):  # type: ignore[misc]
    """The side's open interest (sum of entry notionals) after the open would exceed the cap."""

    argument_names = ("openInterest", "cap")


class LeverageTooHigh(ModelError, error_class("LeverageTooHigh")):  # type: ignore[misc]
    """Opening would leave ``available = m - open_fee`` below ``required = IM * N``."""

    argument_names = ("available", "required")


class InsufficientMargin(ModelError, error_class("InsufficientMargin")):  # type: ignore[misc]
    """Removing margin would leave ``m + min(pnl, 0) - f`` below ``IM * N``."""

    argument_names = ("available", "required")


class InsufficientLiquidity(ModelError, error_class("InsufficientLiquidity")):  # type: ignore[misc]
    """The pool's free liquidity cannot reserve the new position's maximum profit."""

    argument_names = ("free", "needed")


class HealthyPosition(ModelError, error_class("HealthyPosition")):  # type: ignore[misc]
    """A strict liquidation of ``vault``, a position that is not liquidatable at ``price_wad``: a
    long needs ``price < liquidation_price``, a short ``price > liquidation_price``."""

    argument_names = ("vault", "priceWad", "liquidationPriceWad")


class PositionNotOpen(ModelError, error_class("PositionNotOpen")):  # type: ignore[misc]
    """A strict liquidation of a vault without an open position (the pool says ``UnknownVault``
    for a vault it never created, ``PositionNotOpen`` for a closed one)."""

    argument_names = ("vault",)

    def __init__(self, vault: Hashable | dict[str, Any]) -> None:
        super().__init__(vault)


CONTRACT_ERRORS: tuple[type[ModelError], ...] = (
    SafeCastOverflowedUintDowncast, ZeroAmount, ZeroSize, MarginBelowMinimum, NotionalBelowMinimum,
    PositionTooLarge, OpenInterestCapExceeded, LeverageTooHigh, InsufficientMargin,
    InsufficientLiquidity, HealthyPosition, PositionNotOpen,
)
"""Every model error that stands for a custom error of the contracts (all but :class:`EvmPanic`,
Solidity's built-in ``Panic(uint256)``)."""
