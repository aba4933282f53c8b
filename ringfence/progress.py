"""What the SDK's transactions are doing, for whoever watches: a simulation, an approval, a
transaction sent and its receipt (hash, block, gas used). The SDK reports each step to the
observers registered with :func:`observe` in the current context (none by default: then nothing
happens); the command line prints them and lists the transactions in its output."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

__all__ = ["TxStep", "approve_when_short", "notify", "observe", "send", "tx_hash"]


@dataclass(frozen=True)
class TxStep:
    """One step: ``stage`` is ``simulating``, ``approving``, ``sending`` or ``confirmed`` (then
    ``tx_hash``, ``block`` and ``gas_used`` are set); ``what`` the contract function;
    ``amount`` an approval's amount (token units) and ``token`` its token."""

    stage: str
    what: str
    tx_hash: str | None = None
    block: int | None = None
    gas_used: int | None = None
    amount: int | None = None
    token: str | None = None


_observers: ContextVar[tuple[Callable[[TxStep], None], ...]] = ContextVar("ringfence_tx_observers", default=())


@contextmanager
def observe(callback: Callable[[TxStep], None]) -> Iterator[None]:
    """Calls ``callback`` with every :class:`TxStep` of the SDK inside the ``with`` block."""
    token = _observers.set((*_observers.get(), callback))
    try:
        yield
    finally:
        _observers.reset(token)


def notify(stage: str, what: str, **details: Any) -> None:
    """Tells the observers of a step (see :class:`TxStep`)."""
    observers = _observers.get()
    if observers:
        step = TxStep(stage, what, **details)
        for callback in observers:
            callback(step)


def tx_hash(receipt: Any) -> str:
    """A receipt's transaction hash as ``0x…`` text."""
    value = receipt.txn_hash
    if isinstance(value, str):
        return value if value.startswith("0x") else "0x" + value
    return "0x" + bytes(value).hex()


def send(what: str, method: Any, *args: Any, **kwargs: Any) -> Any:
    """``method(*args, **kwargs)`` (a contract transaction, ``what`` its name), the observers told
    before it is sent and once it is mined; returns the receipt."""
    notify("sending", what)
    receipt = method(*args, **kwargs)
    notify("confirmed", what, tx_hash=tx_hash(receipt), block=int(receipt.block_number),
           gas_used=int(receipt.gas_used))
    return receipt


def approve_when_short(token: Any, owner: Any, spender: str, amount: int, *, asset: str,
                       allowance: int | None = None) -> None:
    """Lets ``spender`` pull ``owner``'s ``token`` when its allowance is below ``amount``: exactly
    ``amount`` unless an ``allowance`` is given; the observers told as for any transaction."""
    if int(token.allowance(owner, spender)) < amount:
        value = amount if allowance is None else allowance
        notify("approving", "approve", amount=value, token=asset)
        send("approve", token.approve, spender, value, sender=owner)
