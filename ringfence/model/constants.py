"""Constants of the reference model: the WAD unit, the integer bounds and the EVM panic codes."""

from __future__ import annotations

WAD: int = 10**18
"""Fixed-point one for prices and ratios."""

MAX_UINT256: int = 2**256 - 1
"""``type(uint256).max``; also the health of a position with no maintenance requirement."""

MAX_UINT128: int = 2**128 - 1
"""``type(uint128).max``: the bound of the pool's totals and of the amount parameters."""

MAX_UINT88: int = 2**88 - 1
"""``type(uint88).max``: the bound of a position's margin (``MarginPool.StoredPosition``)."""

_MAX_UINT64: int = 2**64 - 1
_INT256_MIN: int = -(2**255)
_INT256_MAX: int = 2**255 - 1

PANIC_UNDER_OVERFLOW: int = 0x11
"""Solidity ``Panic(uint256)`` code for checked-arithmetic under/overflow."""

PANIC_DIVISION_BY_ZERO: int = 0x12
"""Solidity ``Panic(uint256)`` code for division or modulo by zero."""
