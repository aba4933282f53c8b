"""Off-chain figures reported next to the gas table (timed, never asserted).

The keeper (``ringfence.keeper``) is being written in another issue. Its decision time — how long it
takes, given a market and the vaults it watches, to decide which to liquidate — is measured here
once it exists. The hook looks for one of these callables in ``ringfence.keeper`` (first found wins)::

    decide(market, vaults) -> list[str]            # vaults to liquidate now
    plan_liquidations(market, vaults) -> Any
    Keeper(...).decide(vaults) / .plan(vaults)     # if Keeper(market) constructs

Until one exists, the figure is reported as skipped, with the reason.
"""

from __future__ import annotations

import importlib
import importlib.util
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence


@dataclass
class OffchainFigure:
    name: str
    value: float | None  # seconds (or None when skipped)
    unit: str
    detail: str

    def cell(self) -> str:
        if self.value is None:
            return "skipped"
        return f"{self.value * 1000:.1f} ms" if self.unit == "s" else f"{self.value:g} {self.unit}"


def _keeper_decider(market: Any) -> tuple[Callable[[Sequence[str]], Any] | None, str]:
    if importlib.util.find_spec("ringfence.keeper") is None:
        return None, "ringfence.keeper does not exist yet"
    try:
        keeper = importlib.import_module("ringfence.keeper")
    except Exception as exc:  # a keeper under construction may not import cleanly
        return None, f"ringfence.keeper failed to import: {exc!r}"
    for name in ("decide", "plan_liquidations"):
        fn = getattr(keeper, name, None)
        if callable(fn):
            return (lambda vaults, fn=fn: fn(market, list(vaults))), f"ringfence.keeper.{name}(market, vaults)"
    cls = getattr(keeper, "Keeper", None)
    if cls is not None:
        try:
            instance = cls(market)
        except Exception as exc:
            return None, f"ringfence.keeper.Keeper(market) failed: {exc!r}"
        for name in ("decide", "plan"):
            fn = getattr(instance, name, None)
            if callable(fn):
                return (lambda vaults, fn=fn: fn(list(vaults))), f"ringfence.keeper.Keeper(market).{name}(vaults)"
    return None, "ringfence.keeper has no decide()/plan_liquidations()/Keeper.decide() hook yet"


def keeper_decision_time(market: Any, vaults: Sequence[str], repeats: int = 3) -> OffchainFigure:
    """Best of `repeats` wall-clock times of the keeper deciding over `vaults` (read-only)."""
    decide, how = _keeper_decider(market)
    name = f"keeper decision time, {len(vaults)} vaults"
    if decide is None:
        return OffchainFigure(name, None, "s", how)
    best = float("inf")
    try:
        for _ in range(repeats):
            t0 = time.perf_counter()
            decide(vaults)
            best = min(best, time.perf_counter() - t0)
    except Exception as exc:
        return OffchainFigure(name, None, "s", f"{how} raised {exc!r}")
    return OffchainFigure(name, best, "s", f"best of {repeats}: {how}")
