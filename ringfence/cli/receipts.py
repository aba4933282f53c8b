"""The transactions a command sends, as it sends them: each step of the SDK
(:mod:`ringfence.progress`: simulating, approving, sending, confirmed in block N with the gas used)
as a line on stderr when progress is shown, and every mined transaction recorded for the command's
output (``transactions``, in human and JSON output alike) and for a JSON error.

Whether the command's output is JSON (``--json``) is kept here too: an error is then one JSON object
on stdout instead of the ``error: …`` line.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import click

from ringfence.progress import TxStep, observe

__all__ = ["Recorder", "current", "forget", "json_mode", "recording", "set_json_mode", "show_progress", "transactions"]

_json = {"on": False}


def set_json_mode(ctx: Any, param: Any, value: bool) -> bool:
    """The ``--json`` option's callback: remembers whether output (and errors) are JSON."""
    _json["on"] = bool(value)
    return value


def json_mode() -> bool:
    return _json["on"]


class Recorder:
    """Records the mined transactions and, when ``show``, prints each step on stderr. ``view`` (a
    :class:`ringfence.cli.view.MarketView`, set by the first one made) formats approval amounts."""

    def __init__(self, show: bool):
        self.show = show
        self.sent: list[dict[str, Any]] = []
        self.view: Any = None

    def __call__(self, step: TxStep) -> None:
        if step.stage == "confirmed":
            self.sent.append({"function": step.what, "tx_hash": step.tx_hash, "block": step.block,
                              "gas_used": step.gas_used})
        if self.show:
            click.echo(self.line(step), err=True)

    def line(self, step: TxStep) -> str:
        if step.stage == "simulating":
            return f"simulating {step.what} (eth_call)…"
        if step.stage == "approving":
            amount = step.amount or 0
            shown = "an unlimited amount" if amount >= 2**255 else (
                self.view.amount(amount, places=self.view.decimals) if self.view is not None else str(amount))
            return f"approving the pool to pull {shown}…"
        if step.stage == "sending":
            return f"sending {step.what}…"
        return f"sent {step.tx_hash}: {step.what} confirmed in block {step.block}, gas used {step.gas_used:,}"


_current: ContextVar[Recorder | None] = ContextVar("ringfence_cli_recorder", default=None)
_last: dict[str, Recorder | None] = {"recorder": None}  # the command's, for its error shown after it


def current() -> Recorder | None:
    return _current.get()


def forget() -> None:
    """A new command starts: no transactions yet, output not JSON until its ``--json``."""
    _last["recorder"] = None
    _json["on"] = False


@contextmanager
def recording(show: bool) -> Iterator[Recorder]:
    """A :class:`Recorder` observing the SDK's steps inside the ``with`` block."""
    recorder = Recorder(show)
    _last["recorder"] = recorder
    token = _current.set(recorder)
    try:
        with observe(recorder):
            yield recorder
    finally:
        _current.reset(token)


def transactions() -> list[dict[str, Any]]:
    """The transactions mined so far by the running (or just failed) command."""
    recorder = _current.get() or _last["recorder"]
    return list(recorder.sent) if recorder is not None else []


def show_progress(flag: bool | None, as_json: bool) -> bool:
    """Progress lines on stderr: with ``--progress``, never with ``--no-progress`` or ``--json``,
    else when stderr is a terminal."""
    if flag is not None:
        return flag and not as_json
    return not as_json and sys.stderr.isatty()
