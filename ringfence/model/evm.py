"""EVM arithmetic (Solidity 0.8 semantics): parameter-range checks, checked results, divisions
and the casts the contracts use."""

from __future__ import annotations

from ringfence.model.constants import (
    _INT256_MAX,
    _INT256_MIN,
    MAX_UINT256,
    PANIC_DIVISION_BY_ZERO,
    PANIC_UNDER_OVERFLOW,
)
from ringfence.model.errors import EvmPanic, SafeCastOverflowedUintDowncast


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
    return _to_uint(128, value)


def _to_uint(bits: int, value: int) -> int:
    """OpenZeppelin ``SafeCast.toUint<bits>``: the pool's position fields (``MarginPool.StoredPosition``)
    are 120 (size, entry price), 88 (margin) and 72 (fee base) bits."""
    if value >= 1 << bits:
        raise SafeCastOverflowedUintDowncast(bits, value)
    return value
