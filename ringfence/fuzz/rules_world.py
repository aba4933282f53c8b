"""The rules of the world around the market machine's traders and LPs: the oracle (small steps, jumps,
a move just past a vault's liquidation price), time passing, the guardian pausing a pool, and the owner
changing a pool's risk parameters (queued, applied after the factory's delay)."""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from ringfence.fuzz.base import PICK, WAD, MachineBase
from ringfence.fuzz.calls import EXECUTE_PARAMS, QUEUE_PARAMS, SET_PAUSED
from ringfence.fuzz.env import FEED_DECIMALS
from ringfence.fuzz.stats import Stats


class WorldRules(MachineBase):
    @rule(market=st.integers(0, 1), bp=st.integers(-300, 300))
    def price_step(self, market: int, bp: int) -> None:
        self._move(market, bp)

    @rule(market=st.integers(0, 1), bp=st.sampled_from([-3500, -2000, -1000, 1000, 2000, 3500]))
    def price_jump(self, market: int, bp: int) -> None:
        self._move(market, bp)

    def _move(self, market: int, bp: int) -> None:
        self._pre()
        self.answers[market] = max(10**FEED_DECIMALS, self.answers[market] * (10_000 + bp) // 10_000)
        self._set_answer(market)
        Stats.count("price")

    @precondition(lambda self: self._open_vaults())
    @rule(pick=PICK, beyond_bp=st.integers(0, 40))
    def price_to_liquidation(self, pick: int, beyond_bp: int) -> None:
        """The price just past one open vault's liquidation price (0-0.4 %): the boundary where a small
        position is liquidated fully with equity left for its owner (a credit) and a large one partly."""
        self._price_past_liquidation(pick, beyond_bp)

    @rule(seconds=st.integers(1, 3_000))
    def time_passes(self, seconds: int) -> None:
        # the fee index grows, the mark with it: exactly as the model's mark at the later time
        self._neutral("time", self._pre(), list(range(len(self.world.pools))))
        self.world.mine(seconds)
        self._refresh_feeds()
        Stats.count("time")

    @rule(market=st.integers(0, 1), paused=st.booleans())
    def guardian_pause(self, market: int, paused: bool) -> None:
        world = self.world
        pre = self._pre()
        if self._try("pause", world.guardian, world.factory, SET_PAUSED(world.pools[market], paused)) is None:
            self._neutral("pause", pre, [market])

    @rule(market=st.integers(0, 1), mm_bp=st.integers(300, 600), fee_bp=st.integers(0, 30))
    def set_params(self, market: int, mm_bp: int, fee_bp: int) -> None:
        world = self.world
        pre = self._pre()
        current = self.params[market]
        params = current.with_(maintenance_margin_wad=mm_bp * WAD // 10_000,
                               liquidation_target_wad=max(mm_bp + 100, 750) * WAD // 10_000,
                               keeper_bonus_wad=min(100, mm_bp // 3) * WAD // 10_000,
                               liquidation_penalty_wad=min(100, mm_bp // 3) * WAD // 10_000,
                               close_fee_wad=fee_bp * WAD // 10_000)
        self.touched |= set(self._open_vaults(market))  # parameters move every vault's health
        if params != current:
            # the mark reads neither margins nor fees' rates but the borrow rate (unchanged here)
            self._neutral("set params", pre, list(range(len(world.pools))))
            # Queued, applied once the factory's delay has passed (the feeds answer again after it).
            world.node.send(world.owner, world.factory, QUEUE_PARAMS(world.pools[market], params.as_tuple()))
            world.mine(world.delay)
            self._refresh_feeds()
            world.node.send(world.owner, world.factory, EXECUTE_PARAMS(world.pools[market]))
            self.params[market] = params
        Stats.count("set_params")
