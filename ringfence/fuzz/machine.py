"""A hypothesis state machine that drives the protocol on a local chain and checks the invariants
after every step. Actors: traders with several vaults each, two LP actors (the LP, and an attacker who
also liquidates for keeper pay) requesting and settling deposits and redemptions, a keeper, an oracle
moving in small steps, jumps and crashes, time passing, a guardian pausing, an owner changing parameters.

LP accounting: after every step the pools' marked ``totalAssets`` must equal the reference model; each
request's quote, each settlement's worse-of, each action's effect on the mark (realization neutrality)
and each LP actor's wealth bound are checked against the state read just before the action (the
previous step's read), at the action's block time (:mod:`ringfence.fuzz.invariants`, L1-L5).

Speed: actions go to the node as raw JSON-RPC (:mod:`ringfence.fuzz.rpc`): a dry run on the pending
block (a revert raises its decoded :class:`RingfenceError`, nothing is sent), then the transaction. The
per-step read is one call to the test-only FuzzReader (:mod:`ringfence.fuzz.reader`), liquidation dry
runs included. On Anvil the block interval is fixed (1 s), so a run's chain history depends on its
actions only and a saved sequence of steps replays exactly (:mod:`ringfence.fuzz.replay`).

Every rule takes plain integers and booleans (vaults are picked by index, in the order they were
first opened), so the steps hypothesis prints for a failure are runnable as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any, ClassVar

from eth_abi import decode
from eth_utils import keccak
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from ringfence import model
from ringfence.errors import RingfenceError
from ringfence.fuzz.env import FEED_DECIMALS, USDC, FuzzEnv
from ringfence.fuzz.invariants import (
    Ghost,
    LpLedger,
    MarkChange,
    Quote,
    Settlement,
    InvariantViolation,
    Snapshot,
    VaultRow,
    check_conservation,
    check_lp_net,
    check_marking,
    check_neutrality,
    check_quote,
    check_worse_of,
    mark_change,
    mark_of,
    check_isolation,
    check_liveness,
    check_losses,
    check_refusals,
    check_safety,
    check_profit_caps,
    check_solvency,
    check_sums,
)
from ringfence.fuzz.reader import Probes, Reader
from ringfence.fuzz.rpc import Fn, Node, logs_of
from ringfence.sdk import MarketParams

WAD = 10**18
# Errors an action may meet in normal life; anything else fails the run.
EXPECTED = {
    "LeverageTooHigh", "PositionAlreadyOpen", "MarketPaused", "InsufficientLiquidity",
    "OpenInterestCapExceeded", "PositionTooLarge", "NotionalBelowMinimum", "MarginBelowMinimum",
    "InsufficientMargin", "PositionNotOpen", "NothingToClaim", "ZeroAmount", "PausedUnchanged",
    # LP requests: one pending per controller; settled after a later oracle round, from free liquidity
    "RequestPending", "NoRequest", "RequestNotReady", "ERC20InsufficientBalance",
}
PICK = st.integers(0, 255)  # a vault, by index modulo the candidates
BLOCK_INTERVAL = 1  # seconds between blocks on Anvil while the fuzzer runs

PARAMS = "(uint64,uint64,uint64,uint64,uint64,uint64,uint64,uint64,uint64,uint128,uint128,uint128,uint128,uint128,uint128)"
OPEN = Fn("openPosition", ["uint96", "bool", "uint256", "uint256", "uint256"])
ADD_MARGIN = Fn("addMargin", ["address", "uint256"])
REMOVE_MARGIN = Fn("removeMargin", ["address", "uint256", "address"])
CLOSE = Fn("closePosition", ["address", "address", "uint256"])
CLAIM = Fn("claim", ["address", "address"])
RECOVER = Fn("recoverDonation", ["address", "address", "address"])
LIQUIDATION_PRICE = Fn("liquidationPrice", [], ["uint256"])
DEPOSIT = Fn("deposit", ["uint256", "address"])
MINT = Fn("mint", ["uint256", "address"])
WITHDRAW = Fn("withdraw", ["uint256", "address", "address"])
REDEEM = Fn("redeem", ["uint256", "address", "address"])
REQUEST_DEPOSIT = Fn("requestDeposit", ["uint256", "address"])
REQUEST_REDEEM = Fn("requestRedeem", ["uint256", "address", "address"])
SETTLE_DEPOSIT = Fn("settleDeposit", ["address"])
SETTLE_REDEEM = Fn("settleRedeem", ["address"])
TRANSFER = Fn("transfer", ["address", "uint256"])
LIQUIDATE = Fn("liquidate", ["address"])
LIQUIDATE_BATCH = Fn("liquidateBatch", ["(address,address[])[]"])
SET_ANSWER = Fn("setAnswer", ["int256"])
LATEST_ANSWER = Fn("latestAnswer", [])
SET_PAUSED = Fn("setPaused", ["address", "bool"])
QUEUE_PARAMS = Fn("queueParams", ["address", PARAMS])
EXECUTE_PARAMS = Fn("executeParams", ["address"])
HEALTHY_POSITION = Fn("HealthyPosition", ["address", "uint256", "uint256"]).selector  # the error's selector
KEEPER_PAID = keccak(text="KeeperPaid(address,uint256,uint256,uint256)")  # keeper indexed
BAD_DEBT_COVERED = keccak(text="BadDebtCovered(address,uint256,uint256,uint256)")  # vault indexed
# The sync ERC-4626 paths once the pool has shares: refused by name (LPs use requests)
SYNC_REFUSALS = (("deposit", DEPOSIT, "ERC4626ExceededMaxDeposit"), ("mint", MINT, "ERC4626ExceededMaxMint"))
EXIT_REFUSALS = (("withdraw", WITHDRAW, "ERC4626ExceededMaxWithdraw"), ("redeem", REDEEM, "ERC4626ExceededMaxRedeem"))


class Stats:
    """Counts across a whole run (all examples). ``on_step``, when set, is called after every action."""

    steps: ClassVar[int] = 0
    actions: ClassVar[dict[str, int]] = {}  # attempts, by action
    succeeded: ClassVar[dict[str, int]] = {}  # the attempts that met no error
    errors: ClassVar[dict[str, int]] = {}
    examples: ClassVar[int] = 0
    on_step: ClassVar[Callable[[], None] | None] = None

    @classmethod
    def reset(cls) -> None:
        cls.steps = 0
        cls.examples = 0
        cls.actions = {}
        cls.succeeded = {}
        cls.errors = {}

    @classmethod
    def count(cls, action: str, error: str | None = None) -> None:
        cls.steps += 1
        cls.actions[action] = cls.actions.get(action, 0) + 1
        if error:
            cls.errors[error] = cls.errors.get(error, 0) + 1
        else:
            cls.succeeded[action] = cls.succeeded.get(action, 0) + 1
        if cls.on_step is not None:
            cls.on_step()


class World:
    """A deployed :class:`FuzzEnv` seen by address, with the fast path to its node and the FuzzReader."""

    def __init__(self, env: FuzzEnv, chain: Any, project: Any):
        self.env = env
        self.chain = chain
        self.node = Node.connect(chain.provider)
        reader = env.owner.deploy(project.FuzzReader)
        self.owner, self.guardian = str(env.owner.address), str(env.guardian.address)
        self.lp, self.keeper = str(env.lp.address), str(env.keeper.address)
        self.attacker = str(env.attacker.address)
        self.lps = [self.lp, self.attacker]  # the LP actors, in the reader's order
        self.traders = [str(t.address) for t in env.traders]
        self.token = str(env.token.address)
        self.feeds = [str(f.address) for f in env.feeds]
        self.pools = [m.address for m in env.markets]
        self.factory = str(env.protocol.factory.address)
        self.delay = int(env.protocol.factory.delay())  # the owner's parameter changes wait this long
        self.liquidator = str(env.protocol.liquidator.address)
        self.scales = [int(m.pool.priceScale()) for m in env.markets]
        self.params = [m.params() for m in env.markets]
        self.mined = 0  # blocks mined outside transactions (a read is fresh while this and the tx count hold)
        # vault address of (market, trader, nonce), known before the vault exists
        self.vault_of = {(i, t, n): m.vault_address(env.traders[t], n)
                         for i, m in enumerate(env.markets) for t in range(len(env.traders)) for n in range(3)}
        self.reader = Reader(self.node, str(reader.address), token=self.token, lens=str(env.protocol.lens.address),
                             liquidator=self.liquidator, lps=self.lps, holders=env.holders(), pools=self.pools,
                             scales=self.scales)
        if self.node.anvil:
            self.node.fix_block_interval(BLOCK_INTERVAL)

    def close(self) -> None:
        """Gives the node its wall clock back (other tests may share it)."""
        try:
            if self.node.anvil:
                self.node.release_block_interval()
        except OSError:  # the node is gone already (an interrupted run)
            pass
        finally:
            self.node.transport.close()

    # chain control that works on Anvil (raw) and on Ape's embedded chain (through Ape)
    def snapshot(self) -> Any:
        return self.node.snapshot() if self.node.anvil else self.chain.snapshot()

    def restore(self, snapshot_id: Any) -> None:
        if self.node.anvil:
            self.node.revert(snapshot_id)
        else:
            self.chain.restore(snapshot_id)

    def mine(self, seconds: int) -> None:
        self.mined += 1
        if self.node.anvil:
            self.node.mine(self.node.head_timestamp() + seconds)
        else:
            self.chain.mine(timestamp=self.chain.blocks.head.timestamp + seconds)


def build_machine(env: FuzzEnv, chain: Any, project: Any, check_every: int = 1) -> type:
    """A RuleBasedStateMachine class bound to a deployed environment. Each example starts from a chain
    snapshot and restores it at teardown. ``ProtocolMachine.world`` holds the node and addresses."""
    world = World(env, chain, project)
    node = world.node

    class ProtocolMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.snapshot_id = world.snapshot()
            Stats.examples += 1
            self.touched: set[str] = set()
            self.vaults: dict[str, tuple[int, int]] = {}  # vault -> (market, trader), in order of first open
            self.params: list[MarketParams] = list(world.params)
            self.answers = [int.from_bytes(node.call(f, LATEST_ANSWER()), "big", signed=True) for f in world.feeds]
            self.ghost = Ghost(minted=env.minted)
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
            world.restore(self.snapshot_id)

        # ------------------------------------------------------------ helpers
        def _try(self, action: str, sender: str, to: str, data: bytes) -> str | None:
            self.receipt = None
            try:
                self.receipt = node.send(sender, to, data)
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
            node.send_unchecked(world.owner, world.feeds[market], SET_ANSWER(self.answers[market]))
            self.rounds[market] += 1

        def _refresh_feeds(self) -> None:
            for market in range(len(world.feeds)):
                self._set_answer(market)

        def _paid(self, who: str, amount: int) -> None:
            self.ghost.paid_in[who] = self.ghost.paid_in.get(who, 0) + amount

        # ------------------------------------------------------------ LP accounting: before and after
        def _pre(self) -> Snapshot:
            """The state just before the coming action: the last read if nothing happened since, else a new
            read, which is also the state just after the previous action when no invariant check ran in
            between (rules called one after another): the previous action's checks run on it. Every rule
            calls it before it changes anything."""
            key = (node.transactions, world.mined)
            if self.last_snap is None or self.snap_key != key:
                self._after(self.read())
            return self.last_snap

        def _after(self, snap: Snapshot) -> None:
            """The LP accounting checks of the last action (L2-L4) and the LP actors' net (L5) on ``snap``,
            the state right after it."""
            self.last_snap, self.snap_key = snap, (node.transactions, world.mined)
            checks, self.checks = self.checks, []
            for check in checks:
                check(snap)
            for ledger in self.ledgers:
                ledger.observe(snap)
                check_lp_net(ledger, snap)

        def _neutral(self, action: str, pre: Snapshot, markets: list[int], **kw: int) -> None:
            """After the action: each of ``markets``' marks moved only by what the action realized (L4)."""
            def check(post: Snapshot) -> None:
                for market in markets:
                    p = self.params[market]  # a close pays the close fee; a liquidation does not
                    check_neutrality(mark_change(action, pre, post, market, world.scales[market], p.borrow_rate_wad,
                                                 open_fee_wad=p.open_fee_wad,
                                                 close_fee_wad=p.close_fee_wad if action == "close" else 0, **kw))
            self.checks.append(check)

        def _liquidated(self, action: str, pre: Snapshot, keeper: str, markets: list[int]) -> None:
            """After a liquidation sent by ``keeper``: per pool, the mark moved by minus the keeper pay the
            pool added and the bad debt the LPs bear (L4); an LP actor's keeper pay goes to its ledger."""
            receipt = self.receipt or {}
            for market in markets:
                pool = world.pools[market]
                from_pool = borne = 0
                for topics, data in logs_of(receipt, pool, KEEPER_PAID):
                    from_equity, from_fund, from_pool_here = decode(["uint256"] * 3, data)
                    from_pool += from_pool_here
                    paid_to = "0x" + topics[1][-20:].hex()
                    for ledger in self.ledgers:
                        if ledger.actor.lower() == paid_to:
                            ledger.keeper_pay += from_equity + from_fund + from_pool_here
                for _, data in logs_of(receipt, pool, BAD_DEBT_COVERED):
                    borne += decode(["uint256"] * 3, data)[2]
                self._neutral(action, pre, [market], from_pool=from_pool, borne=borne)

        # ------------------------------------------------------------ traders
        @rule(trader=st.integers(0, 3), market=st.integers(0, 1), nonce=st.integers(0, 2),
              is_long=st.booleans(), size_centi=st.one_of(st.integers(1, 4), st.integers(1, 2_000)), lev_tenths=st.integers(10, 120))
        def open(self, trader: int, market: int, nonce: int, is_long: bool, size_centi: int,
                 lev_tenths: int) -> None:
            who = world.traders[trader]
            size = size_centi * WAD // 100
            price = self.answers[market] * 10 ** (18 - FEED_DECIMALS)
            notional = model.notional_up(size, price, world.scales[market])
            margin = notional * 10 // lev_tenths + model.requirement_up(notional, WAD // 1000) + 1
            vault = world.vault_of[(market, trader, nonce)]
            self.touched |= {vault}
            pre = self._pre()
            if self._try("open", who, world.pools[market], OPEN(nonce, is_long, size, margin, 0)) is None:
                self.vaults[vault] = (market, trader)
                self._paid(who, margin)
                self._neutral("open", pre, [market])

        @rule(trader=st.integers(0, 3), market=st.integers(0, 1), nonce=st.integers(0, 2),
              is_long=st.booleans(), size_centi=st.integers(1, 4), margin_k=st.integers(1, 50))
        def open_overcollateralised(self, trader: int, market: int, nonce: int, is_long: bool,
                                    size_centi: int, margin_k: int) -> None:
            """A small position with a large margin: the LP-freeze shape (its reserve must follow the notional)."""
            who = world.traders[trader]
            margin = margin_k * 1_000 * USDC
            vault = world.vault_of[(market, trader, nonce)]
            self.touched |= {vault}
            size = size_centi * WAD // 100
            pre = self._pre()
            if self._try("open_overcollateralised", who, world.pools[market],
                         OPEN(nonce, is_long, size, margin, 0)) is None:
                self.vaults[vault] = (market, trader)
                self._paid(who, margin)
                self._neutral("open", pre, [market])

        @precondition(lambda self: self.vaults)
        @rule(pick=PICK, keep=st.integers(10, 500))
        def remove_down_to(self, pick: int, keep: int) -> None:
            """Removes all of a vault's margin but ``keep`` USDC (the LP-freeze's second step)."""
            vault = self._pick(pick)
            row = self.last_rows.get(vault)
            if row is None or row.status != 1 or row.margin <= keep * USDC:
                return
            market, owner_index = self.vaults[vault]
            self.touched |= {vault}
            pre = self._pre()
            if self._try("remove_down_to", world.traders[owner_index], world.pools[market],
                         REMOVE_MARGIN(vault, row.margin - keep * USDC, world.traders[owner_index])) is None:
                self._neutral("remove margin", pre, [market])

        @precondition(lambda self: self.vaults)
        @rule(pick=PICK, payer=st.integers(0, 3), amount=st.integers(1, 2_000))
        def add_margin(self, pick: int, payer: int, amount: int) -> None:
            vault = self._pick(pick)
            market, _ = self.vaults[vault]
            who = world.traders[payer]
            self.touched |= {vault}
            pre = self._pre()
            if self._try("add_margin", who, world.pools[market], ADD_MARGIN(vault, amount * USDC)) is None:
                self._paid(who, amount * USDC)
                self._neutral("add margin", pre, [market])

        @precondition(lambda self: self.vaults)
        @rule(pick=PICK, amount=st.integers(1, 1_000), stranger=st.integers(0, 3))
        def remove_margin(self, pick: int, amount: int, stranger: int) -> None:
            vault = self._pick(pick)
            market, owner_index = self.vaults[vault]
            owner, pool = world.traders[owner_index], world.pools[market]
            self.touched |= {vault}
            other = world.traders[stranger]
            if other != owner and vault in self._open_vaults():
                # 5. Safety: nobody but the owner moves margin out (dry runs: a success is the finding).
                for what, data in (("removed margin from", REMOVE_MARGIN(vault, amount * USDC, other)),
                                   ("closed", CLOSE(vault, other, 0)),
                                   ("recovered a donation of", RECOVER(vault, world.token, other))):
                    try:
                        node.dry_run(other, pool, data)
                    except RingfenceError as exc:
                        assert exc.name == "NotVaultOwner", exc
                    else:
                        raise AssertionError(f"a stranger {what} {vault}")
            pre = self._pre()
            if self._try("remove_margin", owner, pool, REMOVE_MARGIN(vault, amount * USDC, owner)) is None:
                self._neutral("remove margin", pre, [market])

        @precondition(lambda self: self.vaults)
        @rule(pick=PICK)
        def close(self, pick: int) -> None:
            vault = self._pick(pick)
            market, owner_index = self.vaults[vault]
            owner = world.traders[owner_index]
            self.touched |= {vault}
            pre = self._pre()
            if self._try("close", owner, world.pools[market], CLOSE(vault, owner, 0)) is None:
                borne = sum(decode(["uint256"] * 3, data)[2]
                            for _, data in logs_of(self.receipt or {}, world.pools[market], BAD_DEBT_COVERED))
                self._neutral("close", pre, [market], borne=borne)

        @rule(trader=st.integers(0, 3), market=st.integers(0, 1), nonce=st.integers(0, 2))
        def claim(self, trader: int, market: int, nonce: int = 0) -> None:
            # A liquidation's credit stays in the vault's record until its owner claims it: claim one when
            # there is one (by its owner, or by a stranger, who must fail), else a vault that may have none.
            credited = [v for v, row in self.last_rows.items() if row.status == 2 and row.margin > 0]
            if credited:
                vault = credited[(trader * 3 + nonce) % len(credited)]
                market, owner_index = self.vaults[vault]
                owner, stranger = world.traders[owner_index], world.traders[trader]
                if stranger != owner:
                    try:
                        node.dry_run(stranger, world.pools[market], CLAIM(vault, stranger))
                    except RingfenceError as exc:
                        assert exc.name == "NotVaultOwner", exc
                    else:
                        raise AssertionError(f"a stranger claimed the credit of {vault}")
                who = owner
            else:
                who, vault = world.traders[trader], world.vault_of[(market, trader, nonce)]
            self.touched |= {vault}
            pre = self._pre()
            if self._try("claim", who, world.pools[market], CLAIM(vault, who)) is None:
                self._neutral("claim", pre, [market])

        @precondition(lambda self: self.vaults)
        @rule(pick=PICK, market=st.integers(0, 1), amount=st.integers(1, 500), to_pool=st.booleans())
        def donate(self, pick: int, market: int, amount: int, to_pool: bool) -> None:
            donor = world.traders[0]
            self._neutral("donation", self._pre(), list(range(len(world.pools))))
            if to_pool:
                node.send(donor, world.token, TRANSFER(world.pools[market], amount))
                self.ghost.pool_donations[market] += amount
            else:
                vault = self._pick(pick)
                node.send(donor, world.token, TRANSFER(vault, amount))
                self.ghost.vault_donations[vault] = self.ghost.vault_donations.get(vault, 0) + amount
                self.touched |= {vault}
            self._paid(donor, amount)
            Stats.count("donate")

        @precondition(lambda self: any(self.ghost.vault_donations.values()))
        @rule(pick=PICK)
        def recover_donation(self, pick: int) -> None:
            vault = self._pick(pick, [v for v in self.vaults if self.ghost.vault_donations.get(v)])
            market, owner_index = self.vaults[vault]
            owner = world.traders[owner_index]
            self.touched |= {vault}
            self._neutral("recover donation", self._pre(), [market])
            node.send(owner, world.pools[market], RECOVER(vault, world.token, owner))
            amount = self.ghost.vault_donations.pop(vault)
            self.ghost.paid_in[owner] = self.ghost.paid_in.get(owner, 0) - amount
            Stats.count("recover_donation")

        # ------------------------------------------------------------ keepers
        @precondition(lambda self: self.vaults)
        @rule(pick=PICK)
        def liquidate_one(self, pick: int) -> None:
            self._liquidate_one(pick, world.keeper, "liquidate")

        def _liquidate_one(self, pick: int, keeper: str, action: str) -> None:
            vault = self._pick(pick)
            row = self.last_rows.get(vault)
            self.touched |= {vault}
            pre = self._pre()
            try:
                self.receipt = node.send(keeper, world.liquidator, LIQUIDATE(vault))
                Stats.count(action)
            except RingfenceError as exc:
                assert exc.name in {"HealthyPosition", "PositionNotOpen"}, exc
                assert row is None or not (row.status == 1 and row.liquidatable), \
                    f"liquidatable {vault} could not be liquidated: {exc}"
                Stats.count(action, exc.name)
                return
            self._liquidated("liquidation", pre, keeper, [self.vaults[vault][0]])

        @rule(market=st.integers(0, 1))
        def liquidate_all(self, market: int) -> None:
            self._liquidate_all(market, world.keeper, "liquidate_batch")

        def _liquidate_all(self, market: int, keeper: str, action: str) -> None:
            pre = self._pre()
            vaults = self._open_vaults(market)
            self.touched |= set(vaults)
            if vaults:
                self.receipt = node.send(keeper, world.liquidator, LIQUIDATE_BATCH([(world.pools[market], vaults)]))
                self._liquidated("batch liquidation", pre, keeper, [market])
            Stats.count(action)

        @precondition(lambda self: self.vaults)
        @rule(pick=PICK, batch=st.booleans())
        def attacker_liquidates(self, pick: int, batch: bool) -> None:
            """The attacker as keeper (it may hold LP shares or have requests pending: its keeper pay is
            the one gain L5 adds to its pro-rata share of the mark's changes): a batch over a pool's open
            vaults, or one vault it sees liquidatable, or one it makes liquidatable with the next round."""
            if batch:
                self._liquidate_all(self.vaults[self._pick(pick)][0], world.attacker, "attacker_liquidate_batch")
                return
            # it goes for a liquidatable vault when it sees one (the last read); else it races the keeper on
            # the next oracle round that crosses an open vault's liquidation price
            targets = [v for v in self._open_vaults() if v in self.last_rows and self.last_rows[v].liquidatable]
            vaults = list(self.vaults)
            if not targets and self._open_vaults():
                targets = [self._pick(pick, self._open_vaults())]
                self.price_to_liquidation(pick, beyond_bp=0)  # the same vault
            self._liquidate_one(vaults.index(self._pick(pick, targets)) if targets else pick, world.attacker,
                                "attacker_liquidate")

        # ------------------------------------------------------------ LPs
        @rule(actor=st.integers(0, 1), market=st.integers(0, 1),
              amount=st.one_of(st.integers(1, 1_000), st.integers(1, 200_000)))
        def lp_request_deposit(self, actor: int, market: int, amount: int) -> None:
            """An LP actor pays ``amount`` USDC for shares settled after the next oracle round (L2: quoted at
            the mark of its block)."""
            who, pool = world.lps[actor], world.pools[market]
            pre = self._pre()
            if self._try("lp_request_deposit", who, pool, REQUEST_DEPOSIT(amount * USDC, who)) is not None:
                return
            self.requested[(market, actor, True)] = self.rounds[market]

            def check(post: Snapshot) -> None:
                mark = mark_of(pre, market, world.scales[market], self.params[market].borrow_rate_wad, at=post.timestamp)
                row = post.markets[market].lps[actor]
                check_quote(Quote(True, amount * USDC, row.deposit_quote, mark.total_assets,
                                  pre.markets[market].total_supply))
                check_neutrality(MarkChange(market, "deposit request", mark.total_assets,
                                            post.markets[market].total_assets, Fraction(0), Fraction(0), Fraction(0)))
            self.checks.append(check)

        @rule(actor=st.integers(0, 1), market=st.integers(0, 1), bp=st.one_of(st.integers(1, 10_000),
                                                                              st.just(10_000)))
        def lp_request_redeem(self, actor: int, market: int, bp: int) -> None:
            """An LP actor (the other one if it holds no shares) hands ``bp`` / 10,000 of its shares to the
            pool, redeemed after the next round (L2: quoted at the mark of its block)."""
            pre = self._pre()
            if not pre.markets[market].lps[actor].shares:  # the other actor, when it holds shares
                actor = 1 - actor
            who, pool = world.lps[actor], world.pools[market]
            shares = pre.markets[market].lps[actor].shares * bp // 10_000
            if shares == 0:
                Stats.count("lp_request_redeem", "no shares")
                return
            if self._try("lp_request_redeem", who, pool, REQUEST_REDEEM(shares, who, who)) is not None:
                return
            self.requested[(market, actor, False)] = self.rounds[market]

            def check(post: Snapshot) -> None:
                mark = mark_of(pre, market, world.scales[market], self.params[market].borrow_rate_wad, at=post.timestamp)
                row = post.markets[market].lps[actor]
                check_quote(Quote(False, shares, row.redeem_quote, mark.total_assets, pre.markets[market].total_supply))
                check_neutrality(MarkChange(market, "redeem request", mark.total_assets,
                                            post.markets[market].total_assets, Fraction(0), Fraction(0), Fraction(0)))
            self.checks.append(check)

        @rule(pick=PICK, caller=st.integers(0, 2))
        def lp_settle(self, pick: int, caller: int) -> None:
            """Anyone (an LP actor or the keeper) settles a pending request of an LP actor (``pick`` among
            them; among all, pending or not, when none is). It must settle exactly when the oracle has
            published a round since the request (else RequestNotReady); then L3 (worse-of) and the mark
            moves by exactly the assets it adds or pays."""
            pre = self._pre()
            every = [(market, actor, deposit) for market in range(len(world.pools)) for actor in range(len(world.lps))
                     for deposit in (True, False)]
            pending = [(m, a, d) for m, a, d in every
                       if (pre.markets[m].lps[a].deposit_assets if d else pre.markets[m].lps[a].redeem_shares)]
            market, controller, deposit = (pending or every)[pick % len(pending or every)]
            who, pool = world.lps[controller], world.pools[market]
            sender = [world.lp, world.attacker, world.keeper][caller]
            row = pre.markets[market].lps[controller]
            amount, quote = (row.deposit_assets, row.deposit_quote) if deposit else (row.redeem_shares, row.redeem_quote)
            action = "lp_settle_deposit" if deposit else "lp_settle_redeem"
            error = self._try(action, sender, pool, (SETTLE_DEPOSIT if deposit else SETTLE_REDEEM)(who))
            if amount == 0:
                assert error == "NoRequest", f"{action} without a request: {error}"
                return
            rounds_since = self.rounds[market] - self.requested[(market, controller, deposit)]
            if (error == "RequestNotReady") != (rounds_since == 0) and error in (None, "RequestNotReady"):
                raise InvariantViolation("settle-liveness", f"{action} {error or 'succeeded'} with {rounds_since} "
                                                            f"oracle rounds since the request")
            if error is not None:
                assert error == "RequestNotReady" or (error == "InsufficientLiquidity" and not deposit), \
                    f"{action}: {error}"
                return
            del self.requested[(market, controller, deposit)]

            def check(post: Snapshot) -> None:
                mark = mark_of(pre, market, world.scales[market], self.params[market].borrow_rate_wad, at=post.timestamp)
                later = post.markets[market].lps[controller]
                if deposit:
                    result = later.shares - row.shares
                    assert (later.deposit_assets, later.deposit_quote) == (0, 0), later
                else:
                    result = post.holder_balances[who] - pre.holder_balances[who]
                    assert (later.redeem_shares, later.redeem_quote) == (0, 0), later
                check_worse_of(Settlement(deposit, amount, quote, result, mark.total_assets,
                                          pre.markets[market].total_supply))
                moved = Fraction(amount if deposit else -result)
                check_neutrality(MarkChange(market, action, mark.total_assets, post.markets[market].total_assets,
                                            moved, Fraction(0), Fraction(0)))
            self.checks.append(check)

        @rule(actor=st.integers(0, 1), market=st.integers(0, 1), amount=st.integers(1, 100_000))
        def lp_sync_paths(self, actor: int, market: int, amount: int) -> None:
            """The sync ERC-4626 entries are refused by name while the pool has shares (a bootstrap deposit
            is made when it has none); the sync exits always are."""
            who, pool = world.lps[actor], world.pools[market]
            pre = self._pre()
            refusals = EXIT_REFUSALS + (SYNC_REFUSALS if pre.markets[market].total_supply else ())
            for name, fn, expected in refusals:
                try:
                    node.dry_run(who, pool, fn(amount * USDC, who) if fn in (DEPOSIT, MINT) else
                                 fn(amount * USDC, who, who))
                except RingfenceError as exc:
                    assert exc.name == expected, f"sync {name}: {exc}"
                else:
                    raise AssertionError(f"sync {name} of {amount} accepted by pool {market}")
            if pre.markets[market].total_supply == 0:
                self._try("lp_bootstrap_deposit", who, pool, DEPOSIT(amount * USDC, who))
            else:
                Stats.count("lp_sync_paths")

        # ------------------------------------------------------------ the world
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
            self._pre()
            vault = self._pick(pick, self._open_vaults())
            market, _ = self.vaults[vault]
            row = self.last_rows.get(vault)
            if row is None:  # not read yet (the invariants read after every step)
                return
            (liquidation_wad,) = decode(["uint256"], node.call(vault, LIQUIDATION_PRICE()))
            answer = liquidation_wad // 10 ** (18 - FEED_DECIMALS)
            if row.is_long:
                answer = answer * (10_000 - beyond_bp) // 10_000 - 1
            else:
                answer = (answer + 1) * (10_000 + beyond_bp) // 10_000 + 1
            self.answers[market] = max(10**FEED_DECIMALS, answer)
            self._set_answer(market)
            Stats.count("price")

        @rule(seconds=st.integers(1, 3_000))
        def time_passes(self, seconds: int) -> None:
            # the fee index grows, the mark with it: exactly as the model's mark at the later time
            self._neutral("time", self._pre(), list(range(len(world.pools))))
            world.mine(seconds)
            self._refresh_feeds()
            Stats.count("time")

        @rule(market=st.integers(0, 1), paused=st.booleans())
        def guardian_pause(self, market: int, paused: bool) -> None:
            pre = self._pre()
            if self._try("pause", world.guardian, world.factory, SET_PAUSED(world.pools[market], paused)) is None:
                self._neutral("pause", pre, [market])

        @rule(market=st.integers(0, 1), mm_bp=st.integers(300, 600), fee_bp=st.integers(0, 30))
        def set_params(self, market: int, mm_bp: int, fee_bp: int) -> None:
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
                node.send(world.owner, world.factory, QUEUE_PARAMS(world.pools[market], params.as_tuple()))
                world.mine(world.delay)
                self._refresh_feeds()
                node.send(world.owner, world.factory, EXECUTE_PARAMS(world.pools[market]))
                self.params[market] = params
            Stats.count("set_params")

        # ------------------------------------------------------------ invariants
        def _vault_lists(self) -> list[list[str]]:
            lists: list[list[str]] = [[] for _ in world.pools]
            for v, (m, _) in self.vaults.items():
                lists[m].append(v)
            return lists

        def read_all(self, probe: bool = True) -> tuple[Snapshot, Probes]:
            """The snapshot and the liquidation dry runs, in one call."""
            return world.reader.read(self._vault_lists(), probe=probe)

        def read(self) -> Snapshot:
            return self.read_all(probe=False)[0]

        @invariant()
        def invariants_hold(self) -> None:
            self.step += 1
            if self.step % check_every and not self.checks:
                return
            snap, probes = self.read_all()
            check_conservation(snap, self.ghost)
            check_sums(snap)
            check_profit_caps(snap, [p.max_profit_wad for p in self.params])
            check_solvency(snap)
            # LP accounting: the mark is the model's (L1); the action's own checks (L2-L4); the LP actors' net (L5)
            check_marking(snap, world.scales, [p.borrow_rate_wad for p in self.params])
            self._after(snap)
            stored = {v: _stored(r) for v, r in self.last_rows.items()}
            check_isolation(stored, {v: _stored(r) for v, r in snap.vaults.items()}, self.touched)
            check_losses(snap.holder_balances, self.ghost, world.traders)
            decode = node.decoder.decode
            for i, batch in enumerate(probes.batches):
                bad = [v for v, r in snap.vaults.items() if r.market == i and r.status == 1 and r.liquidatable]
                if bad:
                    # 4. one batch liquidates them all, and each one alone can be liquidated
                    why = f" (the batch reverted: {decode(batch.error)})" if batch.reverted else ""
                    check_liveness(bad, batch.liquidated if batch.probed else 0, why)
                    stuck = {v: probes.single_error.get(v, b"") for v in bad if not probes.single.get(v)}
                    check_liveness(bad, len(bad) - len(stuck),
                                   "; alone: " + ", ".join(f"{v}: {decode(e)}" for v, e in stuck.items()))
            # 5. no healthy vault can be liquidated (every one is tried, alone), and each says why
            healthy = [v for v, r in snap.vaults.items() if r.status == 1 and not r.liquidatable]
            check_safety([v for v in healthy if probes.single.get(v)])
            check_refusals({v: decode(probes.single_error[v]).name for v in healthy if not probes.single.get(v)
                            and probes.single_error.get(v, b"")[:4] != HEALTHY_POSITION})
            self.last_rows = snap.vaults
            self.last_probes = probes
            self.touched = set()

    ProtocolMachine.world = world  # type: ignore[attr-defined]
    return ProtocolMachine


def _stored(row: VaultRow) -> tuple:
    """What an action on another vault must not change (health moves with price and time)."""
    return (row.status, row.is_long, row.size, row.margin, row.max_profit, row.balance)
