"""Failures as one line on stderr: contract errors (and the reference model's refusals, which are
the same errors) in the market's units, and reads and simulations that name the error."""

from __future__ import annotations

import json
from typing import Any

import click
from ape.exceptions import ContractLogicError
from eth_utils import is_address, to_checksum_address

from ringfence.cli.formatting import (
    distinct_places,
    fmt_amount,
    fmt_health,
    fmt_price,
    fmt_shares,
    fmt_time,
)
from ringfence.cli.receipts import json_mode, transactions
from ringfence.errors import (
    MESSAGES,
    UnknownRevertError,
    anvil_revert_data,
    format_value,
    project_decoder,
    translate,
)

__all__ = ["CliError", "first_line", "human_error", "read", "redecode"]

# Error arguments that are settlement-token amounts, and those that are WAD prices.
_AMOUNT_ARGS = {"margin", "minimum", "notional", "maximum", "openInterest", "cap", "available",
                "required", "free", "needed", "balance", "allowance", "assets", "max", "amount",
                "expected", "received", "fee", "budget"}
# Amount arguments that are requirements (shown rounded up; the others rounded down).
_REQUIREMENT_ARGS = {"minimum", "required", "needed"}
_PRICE_ARGS = {"priceWad", "acceptablePriceWad", "liquidationPriceWad"}
# Error arguments that are healths (WAD; the MarginGuard's).
_HEALTH_ARGS = {"health", "trigger", "target"}
# Errors whose arguments are not the market's amounts (ratios): shown raw.
_RAW_ERRORS = {"ParameterOutOfBounds"}
# Errors whose amounts are pool shares (shown with the pool's decimals when known, else raw).
_SHARE_ERRORS = {"ERC4626ExceededMaxRedeem": {"shares", "max"}, "ERC4626ExceededMaxMint": {"shares", "max"}}
# Error arguments that are timestamps (shown as UTC times).
_TIME_ARGS = {"requestedAt", "priceUpdatedAt", "updatedAt"}


class CliError(click.ClickException):
    """One line on stderr, exit status 1; with ``--json``, one JSON object on stdout instead
    (``error``: the contract error's name, else ``CliError``; ``message``; and the transactions
    mined before it, if any)."""

    def __init__(self, message: str, name: str | None = None):
        super().__init__(message)
        self.name = name or "CliError"

    def show(self, file: Any = None) -> None:
        if json_mode():
            data: dict[str, Any] = {"error": self.name, "message": self.format_message()}
            sent = transactions()
            if sent:
                data["transactions"] = sent
            click.echo(json.dumps(data, indent=2, default=str))
            return
        click.echo(f"error: {self.format_message()}", err=True)


def human_error(error: Any, decimals: int | None = None, symbol: str = "",
                share_decimals: int | None = None) -> str:
    """The one-line message of a :class:`ringfence.errors.RingfenceError`, with amounts, prices,
    times (and shares, given the pool's ``share_decimals``) in human units when the market's
    ``decimals`` are known."""
    template = MESSAGES.get(error.name)
    share_args = _SHARE_ERRORS.get(error.name, set())
    if decimals is None or template is None or error.name in _RAW_ERRORS or \
            (share_args and share_decimals is None):
        return str(error.message)
    values = {}
    # Enough decimals for two different amounts not to read the same ("300.00 < 300.00").
    places = distinct_places([v for k, v in error.inputs.items() if k in _AMOUNT_ARGS and isinstance(v, int)],
                             decimals)
    for key, value in error.inputs.items():
        if key in share_args and isinstance(value, int):
            values[key] = fmt_shares(value, share_decimals or 0)
        elif key in _TIME_ARGS and isinstance(value, int):
            values[key] = fmt_time(value)
        elif key in _AMOUNT_ARGS and isinstance(value, int):
            values[key] = fmt_amount(value, decimals, symbol, up=key in _REQUIREMENT_ARGS, places=places)
        elif key in _PRICE_ARGS and isinstance(value, int):
            values[key] = fmt_price(value)
        elif key in _HEALTH_ARGS and isinstance(value, int):
            values[key] = fmt_health(value)
        elif isinstance(value, str) and is_address(value):
            values[key] = to_checksum_address(value)
        else:
            values[key] = format_value(value)
    try:
        return template.format(**values)
    except (KeyError, IndexError):
        return str(error.message)


def redecode(error: Any) -> Any:
    """A better decoding of an error the SDK could not name: through a plain node provider, Anvil
    reports a custom error only as text (``custom error 0x<selector>: <args>``) in the provider
    error that caused it: that text is decoded against the errors of the project's contracts."""
    if not isinstance(error, UnknownRevertError):
        return error
    cause = error.__cause__ if error.__cause__ is not None else error
    base = getattr(cause, "base_err", None)
    data = anvil_revert_data(str(base)) if base is not None else None
    return project_decoder().decode(data) if data else error


def read(method: Any, *args: Any) -> Any:
    """A view call that may revert: named error, no call trace printed (``skip_trace``)."""
    try:
        return method(*args, skip_trace=True)
    except ContractLogicError as exc:
        raise redecode(_with_cause(translate(exc), exc)) from exc


def _with_cause(error: Any, cause: BaseException) -> Any:
    error.__cause__ = cause
    return error


def first_line(text: str) -> str:
    """The first non-blank line of ``text``, stripped (``""`` if none)."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else ""

