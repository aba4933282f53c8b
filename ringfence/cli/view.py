"""A market as the commands show it: its token's symbol and decimals, its errors in those units, the
pool's assets, and the token checks, approvals and simulations that come before a transaction."""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import TracebackType
from typing import Any, Literal, TypeVar

import click

from ringfence.cli import receipts
from ringfence.cli.errors import CliError, first_line, human_error, redecode
from ringfence.cli.formatting import fmt_amount, fmt_shares
from ringfence.errors import RingfenceError

__all__ = [
    "MarketView",
    "after_sent",
    "assets_text",
    "check",
    "ensure_balance",
    "marked_assets",
    "price_refusal",
    "warn",
]

T = TypeVar("T")


class MarketView:
    """A Market with its token's symbol and decimals, and contract errors in human units."""

    def __init__(self, market: Any):
        self.market = market
        self.decimals: int = market.decimals
        try:
            self.symbol = str(market.token().symbol())
        except Exception:  # noqa: BLE001
            self.symbol = ""
        recorder = receipts.current()
        if recorder is not None and recorder.view is None:
            recorder.view = self  # formats the amounts of the approvals it reports

    def amount(self, value: int, *, up: bool = False, places: int = 2) -> str:
        """``value`` in tokens, rounded down (held, received) or ``up`` (owed, required)."""
        return fmt_amount(value, self.decimals, self.symbol, up=up, places=places)

    @functools.cached_property
    def share_decimals(self) -> int:
        return self.market.share_decimals()

    def shares(self, value: int) -> str:
        return fmt_shares(value, self.share_decimals)

    def message(self, error: Any) -> str:
        """A contract error's one line in this market's units."""
        return human_error(redecode(error), self.decimals, self.symbol, self.share_decimals)

    def guard(self) -> Any:
        """A context manager turning contract and model errors into human one-liners."""
        return _Guard(self)


class _Guard:
    """See :meth:`MarketView.guard`."""

    def __init__(self, view: MarketView):
        self.view = view

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> Literal[False]:
        if exc is None:
            return False
        if isinstance(exc, RingfenceError):
            raise CliError(self.view.message(exc), redecode(exc).name) from None
        return False


def warn(text: str) -> None:
    """One ``warning: …`` line on stderr (never "error": what it follows went through)."""
    click.echo(f"warning: {text}", err=True)


def after_sent(view: MarketView, what: str, read: Callable[[], T]) -> T | None:
    """``read()`` after a mined transaction: its result, or ``None`` with one warning line saying
    that ``what`` could not be read. The transaction went through: nothing after it is an error."""
    try:
        return read()
    except Exception as exc:  # noqa: BLE001 - any failure of a read after the transaction
        reason = view.message(exc) if isinstance(exc, RingfenceError) else (
            first_line(str(exc)) or type(exc).__name__)
        warn(f"the transaction went through, but {what} could not be read: {reason}")
        return None


def price_refusal(view: MarketView) -> str | None:
    """Why the market's oracle refuses the price now, in one line (``None`` when it gives one)."""
    try:
        view.market.price()
    except RingfenceError as exc:
        return view.message(exc)
    return None


def marked_assets(view: MarketView, snapshot: Any) -> dict[str, Any]:
    """The pool's realized liquidity and its marked assets of a ``snapshot``
    (:meth:`ringfence.sdk.Market.snapshot`; ``None`` with the reason when the oracle refuses the
    price: ``totalAssets`` reads it)."""
    data: dict[str, Any] = {"liquidity": snapshot.liquidity, "total_assets": snapshot.total_assets,
                            "price_refused": None}
    if snapshot.total_assets is None:
        data["price_refused"] = price_refusal(view)
    return data


def assets_text(view: MarketView, data: dict[str, Any]) -> str:
    """The pool's assets of :func:`marked_assets` (with its free liquidity) as one line."""
    free = view.amount(data["free_liquidity"])
    if data["total_assets"] is None:
        return (f"{view.amount(data['liquidity'])} realized ({free} free); marked value unavailable: "
                f"the oracle refuses the price")
    return (f"{view.amount(data['total_assets'])} marked to the oracle price "
            f"({view.amount(data['liquidity'])} realized, {free} free)")


def ensure_balance(view: MarketView, owner: Any, amount: int) -> None:
    """Refuses, before any transaction, an ``amount`` of the market's token ``owner`` does not hold."""
    balance = int(view.market.token().balanceOf(owner))
    if balance < amount:
        raise CliError(f"balance {view.amount(balance)} of {owner.address} is below {view.amount(amount)}")


def check(view: MarketView, function: str, *args: Any, sender: Any, before_approval: bool = False) -> None:
    """Runs the pool's transaction ``function(*args)`` as an ``eth_call`` first
    (:meth:`ringfence.sdk.Market.check`), so that a revert costs nothing: local networks send without
    estimating gas (the reverted transaction would be mined). ``before_approval``: the token's
    allowance error is expected (the simulation runs before the exact approval, and the pool pulls
    tokens after all its checks; the SDK then approves the exact amount), anything else is raised."""
    try:
        view.market.check(function, *args, sender=sender)
    except RingfenceError as exc:
        error = redecode(exc)
        if before_approval and ("Allowance" in error.name or "allowance" in str(error.message)):
            return
        raise error from exc
