"""How the keeper names a failure: a revert's contract error, or a transaction that ran out of gas."""

from __future__ import annotations

import contextlib

from ringfence.errors import RingfenceError, UnknownRevertError, translate

__all__ = ["describe_error", "gas_suspect"]


def describe_error(exc: BaseException) -> str:
    """A one-line description of a revert or failure, with the contract error's name when known."""
    if not isinstance(exc, RingfenceError):
        with contextlib.suppress(Exception):  # describing must never fail
            from ape.exceptions import ContractLogicError

            if isinstance(exc, ContractLogicError):
                exc = translate(exc)
    if isinstance(exc, RingfenceError):
        return f"{exc.name}: {exc.message}"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def gas_suspect(exc: BaseException) -> bool:
    """A failed transaction with no named contract error (empty revert data, out of gas)."""
    if "out of gas" in str(exc).lower() or type(exc).__name__ == "OutOfGasError":
        return True
    return isinstance(exc, UnknownRevertError) or not isinstance(exc, RingfenceError) and is_revert(exc)


def is_revert(exc: BaseException) -> bool:
    try:
        from ape.exceptions import ContractLogicError, TransactionError
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, (ContractLogicError, TransactionError))
