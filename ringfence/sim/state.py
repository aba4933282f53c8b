"""The simulation's plain data: each market as deployed (:class:`SimMarket`) and the record of a run
(:class:`SimRun`) that :mod:`ringfence.sim.report` turns into figures, a report and plots."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ringfence import model
from ringfence.sdk import Market
from ringfence.sim.agents import PlannedPosition, Trader
from ringfence.sim.cross import Action
from ringfence.sim.oracle import Round
from ringfence.sim.scenario import Scenario

__all__ = ["SimMarket", "SimRun"]


@dataclass
class SimMarket:
    spec: Any
    market: Market
    token: str
    feed: str
    fund: str
    rounds: list[Round]
    path: list[float]
    scale: int
    params: model.MarketParams
    created_ts: int
    share_unit: int
    answer: int = 0
    deposits: int = 0
    lp_requests: list[str] = field(default_factory=list)  # LPs whose deposit request awaits block 0's round
    last_round_ts: int = 0
    heartbeats: int = 0  # extra heartbeat rounds the chain's clock needed (see keep_fresh)


@dataclass
class SimRun:
    """Everything a report needs (plain data)."""

    scenario: Scenario
    network: str
    chain_id: int
    markets: list[SimMarket]
    traders: list[Trader]
    positions: list[PlannedPosition]
    samples: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    transactions: int = 0
    keeper_reports: list[dict[str, Any]] = field(default_factory=list)
    block_map: list[tuple[int, int]] = field(default_factory=list)  # (chain block at a step's end, step)
    guard: str | None = None  # the MarginGuard, when some traders hold policies
    reserves: dict[int, tuple[int, int, int]] = field(default_factory=dict)  # reserve id -> (trader, market, deposit)
    keeper_income: dict[str, int] = field(default_factory=dict)  # "bonus", "top_up_fees", "top_ups", ...

    def step_of(self, chain_block: int) -> int:
        """The scenario block (step) in which a chain block was mined."""
        from bisect import bisect_left

        i = bisect_left(self.block_map, (chain_block, -1))
        return self.block_map[i][1] if i < len(self.block_map) else self.scenario.blocks
