"""The state of the market machine and the helpers its rules share: sending an action (a dry run, then
the transaction), picking vaults, moving the test feeds, and the before/after bookkeeping of the LP
accounting checks (L1-L5 of docs/design.md, "Invariants and their ids")."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, cast

from eth_abi import decode
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine

from ringfence.errors import RingfenceError
from ringfence.fuzz.calls import EXPECTED, LATEST_ANSWER, LIQUIDATION_PRICE, SET_ANSWER
from ringfence.fuzz.env import FEED_DECIMALS
from ringfence.fuzz.guard_invariants import GuardGhost
from ringfence.fuzz.invariants import (
    Ghost,
    LpLedger,
    Snapshot,
    VaultRow,
    check_lp_net,
    check_neutrality,
    mark_change,
    mark_of,
)
from ringfence.fuzz.reader import Probes
from ringfence.fuzz.stats import Stats
from ringfence.fuzz.world import World
from ringfence.sdk import MarketParams

if TYPE_CHECKING:
    from typing_extensions import Self

WAD = 10**18
PICK = st.integers(0, 255)  # a vault, by index modulo the candidates


class MachineBase(RuleBasedStateMachine):
    """Each example starts from a chain snapshot of ``world`` and restores it at teardown. Subclasses are
    bound to a deployed world by :meth:`bind`; ``check_every`` > 1 runs the invariant checks on every
    n-th step only (and whenever an action's own checks are pending)."""

    world: ClassVar[World]
    check_every: ClassVar[int] = 1
    guard_rules: ClassVar[bool] = False  # hypothesis draws the MarginGuard's rules too

    @classmethod
    def bind(cls, world: World, check_every: int = 1, guard: bool = False) -> type[Self]:
        """A subclass of ``cls`` (of the same name) bound to ``world``; with ``guard``, hypothesis draws
        the MarginGuard's rules too (:mod:`ringfence.fuzz.rules_guard`)."""
        attributes = {"world": world, "check_every": check_every, "guard_rules": guard,
                      "__module__": cls.__module__, "__qualname__": cls.__qualname__, "__doc__": cls.__doc__}
        return cast("type[Self]", type(cls.__name__, (cls,), attributes))

    def __init__(self) -> None:
        super().__init__()
        world, node = self.world, self.world.node
        self.snapshot_id = world.snapshot()
        Stats.examples += 1
        self.touched: set[str] = set()
        self.vaults: dict[str, tuple[int, int]] = {}  # vault -> (market, trader), in order of first open
        self.params: list[MarketParams] = list(world.params)
        self.answers = [int.from_bytes(node.call(f, LATEST_ANSWER()), "big", signed=True) for f in world.feeds]
        self.ghost = Ghost(minted=world.env.minted)
        self.guard_ghost = GuardGhost()
        self.ledgers = [LpLedger(actor, k) for k, actor in enumerate(world.lps)]
        self.checks: list[Callable[[Snapshot], None]] = []  # run on the read after the action
        self.rounds = [0] * len(world.feeds)  # oracle rounds published per market
        self.requested: dict[tuple[int, int, bool], int] = {}  # (market, LP actor, deposit) -> rounds then
        self.last_snap: Snapshot | None = None
        self.snap_key: tuple[int, int] | None = None
        snap, _ = world.reader.read([[] for _ in world.pools], probe=False)
        for t in world.traders:
            self.ghost.start_balance[t] = snap.holder_balances[t]
        for ledger in self.ledgers:
            ledger.observe(snap)
        self.last_rows: dict[str, VaultRow] = {}
        self.last_probes: Probes | None = None
        self.receipt: dict[str, Any] | None = None
        self.step = 0

    def teardown(self) -> None:
        self.world.restore(self.snapshot_id)

    # ------------------------------------------------------------ actions, vaults, feeds
    def _try(self, action: str, sender: str, to: str, data: bytes) -> str | None:
        """Sends ``data`` (dry run first) and counts the action; returns the expected error it met, if any
        (an unexpected one is raised)."""
        self.receipt = None
        try:
            self.receipt = self.world.node.send(sender, to, data)
        except RingfenceError as exc:
            if exc.name not in EXPECTED:
                raise
            Stats.count(action, exc.name)
            return exc.name
        Stats.count(action)
        return None

    def _pick(self, pick: int, among: list[str] | None = None) -> str:
        candidates = list(self.vaults) if among is None else among
        return candidates[pick % len(candidates)]

    def _open_vaults(self, market: int | None = None) -> list[str]:
        rows = self.last_rows
        return [v for v, (m, _) in self.vaults.items()
                if (market is None or m == market) and (v not in rows or rows[v].status == 1)]

    def _set_answer(self, market: int) -> None:
        # a test feed's setter cannot revert: no dry run (the receipt is still checked)
        world = self.world
        world.node.send_unchecked(world.owner, world.feeds[market], SET_ANSWER(self.answers[market]))
        self.rounds[market] += 1

    def _refresh_feeds(self) -> None:
        for market in range(len(self.world.feeds)):
            self._set_answer(market)

    def _price_past_liquidation(self, pick: int, beyond_bp: int) -> None:
        """The price just past one open vault's liquidation price, by ``beyond_bp`` / 10,000 (the
        ``price_to_liquidation`` rule; the attacker's race uses it too)."""
        self._pre()
        vault = self._pick(pick, self._open_vaults())
        market, _ = self.vaults[vault]
        row = self.last_rows.get(vault)
        if row is None:  # not read yet (the invariants read after every step)
            return
        (liquidation_wad,) = decode(["uint256"], self.world.node.call(vault, LIQUIDATION_PRICE()))
        answer = liquidation_wad // 10 ** (18 - FEED_DECIMALS)
        if row.is_long:
            answer = answer * (10_000 - beyond_bp) // 10_000 - 1
        else:
            answer = (answer + 1) * (10_000 + beyond_bp) // 10_000 + 1
        self.answers[market] = max(10**FEED_DECIMALS, answer)
        self._set_answer(market)
        Stats.count("price")

    def _paid(self, who: str, amount: int) -> None:
        self.ghost.paid_in[who] = self.ghost.paid_in.get(who, 0) + amount

    # ------------------------------------------------------------ LP accounting: before and after
    def _pre(self) -> Snapshot:
        """The state just before the coming action: the last read if nothing happened since, else a new
        read, which is also the state just after the previous action when no invariant check ran in
        between (rules called one after another): the previous action's checks run on it. Every rule
        calls it before it changes anything."""
        key = (self.world.node.transactions, self.world.mined)
        snap = self.last_snap
        if snap is None or self.snap_key != key:
            snap = self.read()
            self._after(snap)
        return snap

    def _after(self, snap: Snapshot) -> None:
        """The LP accounting checks of the last action (L2-L4) and the LP actors' net (L5) on ``snap``,
        the state right after it."""
        self.last_snap, self.snap_key = snap, (self.world.node.transactions, self.world.mined)
        checks, self.checks = self.checks, []
        for check in checks:
            check(snap)
        for ledger in self.ledgers:
            ledger.observe(snap)
            check_lp_net(ledger, snap)

    def _neutral(self, action: str, pre: Snapshot, markets: list[int], **kw: int) -> None:
        """After the action: each of ``markets``' marks moved only by what the action realized (L4)."""
        scales = self.world.scales

        def check(post: Snapshot) -> None:
            for market in markets:
                p = self.params[market]  # a close pays the close fee; a liquidation does not
                check_neutrality(mark_change(action, pre, post, market, scales[market], p.borrow_rate_wad,
                                             open_fee_wad=p.open_fee_wad,
                                             close_fee_wad=p.close_fee_wad if action == "close" else 0, **kw))
        self.checks.append(check)

    def _marks(self, pre: Snapshot, post: Snapshot, market: int) -> tuple[int, int]:
        """``market``'s mark before an action (the model's, on ``pre``'s books at ``post``'s block time)
        and after it (``post``'s totalAssets). The fuzz's feeds always answer: both are priced."""
        mark = mark_of(pre, market, self.world.scales[market], self.params[market].borrow_rate_wad,
                       at=post.timestamp)
        after = post.markets[market].total_assets
        assert mark is not None and after is not None, f"pool {market} has no price"
        return mark.total_assets, after

    # ------------------------------------------------------------ reads
    def _vault_lists(self) -> list[list[str]]:
        lists: list[list[str]] = [[] for _ in self.world.pools]
        for v, (m, _) in self.vaults.items():
            lists[m].append(v)
        return lists

    def read_all(self, probe: bool = True) -> tuple[Snapshot, Probes]:
        """The snapshot and the liquidation dry runs, in one call."""
        return self.world.reader.read(self._vault_lists(), probe=probe)

    def read(self) -> Snapshot:
        return self.read_all(probe=False)[0]
