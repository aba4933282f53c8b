"""Watching: a command's report re-read and re-printed every few seconds until Ctrl-C (``status
--watch``), each preceded by the block it was read at; with ``--json``, one JSON object a line."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from typing import Any

import click

from ringfence.cli.formatting import emit, fmt_time

__all__ = ["watch"]


def _head() -> tuple[int, int]:
    from ape import chain

    head = chain.blocks.head
    return int(head.number), int(head.timestamp)


def watch(report: Callable[[], tuple[dict[str, Any], list[tuple[str, str]]]], as_json: bool,
          interval: float, max_iterations: int | None = None) -> int:
    """Prints ``report()`` (JSON data and lines) every ``interval`` seconds until Ctrl-C (or
    ``max_iterations`` reports); returns how many were printed. Ctrl-C ends it with exit status 0."""
    count = 0
    # `import ape` makes SIGINT exit with status 130 at once (sys.exit in its handler): restore Python's
    # KeyboardInterrupt for the loop, so that Ctrl-C ends the watch as documented, with status 0.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        while True:
            block, timestamp = _head()
            data, lines = report()
            if as_json:
                click.echo(json.dumps({"block": block, "timestamp": timestamp, **data}, default=str))
            else:
                if count:
                    click.echo()
                click.echo(f"--- block {block}, {fmt_time(timestamp)} (Ctrl-C to stop)")
                emit(False, data, lines)
            count += 1
            if max_iterations is not None and count >= max_iterations:
                return count
            time.sleep(interval)
    except KeyboardInterrupt:
        return count
    finally:
        signal.signal(signal.SIGINT, previous)
