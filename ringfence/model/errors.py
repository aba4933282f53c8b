"""Errors (the contracts' custom errors, and the EVM panic): every one a :class:`ModelError`,
raised by the model where the contracts revert."""

from __future__ import annotations

from collections.abc import Hashable


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
