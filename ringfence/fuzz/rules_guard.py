"""The MarginGuard's rules of the market machine: traders (and the attacker, on their vaults) set,
change and cancel top-up policies (a wallet source with an exact or a capped allowance, or a reserve),
approve and revoke the guard's allowance, open reserves earmarked to some of their vaults, earmark,
fund and drain them; the keeper and the attacker execute top-ups one by one or in batches, on any vault
(other owners', healthy ones, unopened or closed ones, expired or cancelled policies, emptied reserves,
revoked allowances).

The ghost (:class:`~ringfence.fuzz.guard_invariants.GuardGhost`) predicts every outcome before the action is
sent: the policy checks with :meth:`ringfence.model.GuardPolicy.check`, the top-ups with
:func:`ringfence.fuzz.guard_model.predict_top_ups` (the reference model's ``top_up_quote``). Each top-up
action checks U3 (its outcomes are the model's) at once and queues U2 (no money moves between owners)
for the state read right after it; the machine checks U1 (the reserves' ledgers) after every step (the
ids are those of docs/design.md, "Invariants and their ids")."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from eth_abi import decode
from eth_utils import to_checksum_address
from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from ringfence.chain.rpc import logs_of
from ringfence.errors import RingfenceError
from ringfence.fuzz.base import PICK, WAD
from ringfence.fuzz.calls import (
    APPROVE,
    BATCH_TOPPED_UP,
    CANCEL_POLICY,
    DEPOSIT_RESERVE,
    EARMARK,
    GUARD_POLICY,
    GUARD_RESERVE,
    OPEN_RESERVE,
    RESERVE_OPENED,
    SET_POLICY,
    TOP_UP,
    TOP_UP_BATCH,
    TOPPED_UP,
    WITHDRAW_RESERVE,
)
from ringfence.fuzz.env import USDC
from ringfence.fuzz.guard_invariants import (
    ReserveLedger,
    TopUpOutcome,
    check_reserves,
    check_top_up_owners,
    check_top_up_quotes,
)
from ringfence.fuzz.guard_model import TopUpContext, predict_top_ups
from ringfence.fuzz.invariants import Snapshot
from ringfence.fuzz.rules_traders import TraderRules
from ringfence.fuzz.stats import Stats
from ringfence.fuzz.world import BLOCK_INTERVAL
from ringfence.model import GuardPolicy

TENTH = WAD // 10
EXPIRIES = st.sampled_from([0, 0, 0, -1, 0, 30, 600, 3_000])  # seconds from now; 0 none, -1 in the past


def _guarded(self: Any) -> bool:
    """Hypothesis draws the guard's rules only in machines bound with ``guard=True`` (they run when
    called directly in any machine: replays, directed tests)."""
    return bool(self.guard_rules)


class GuardRules(TraderRules):
    """The guard's rules (on the traders': ``guard_open_armed`` opens with the ``open`` rule).
    ``last_top_ups``: the ghost's prediction for the last top-up action (refusals by name)."""

    last_top_ups: list[TopUpOutcome] = []  # noqa: RUF012 - replaced per action, never mutated

    # ------------------------------------------------------------ owners: policies and allowances
    @precondition(_guarded)
    @rule(trader=st.integers(0, 3), stranger=st.booleans(), pick=PICK, trigger_pct=st.integers(50, 200),
          gap_tenths=st.integers(0, 20), max_per=st.one_of(st.integers(1, 100), st.integers(1, 3_000)),
          fee_bp=st.integers(0, 1_100), budget=st.one_of(st.integers(0, 200), st.integers(0, 10_000)),
          expiry=EXPIRIES, source=st.integers(0, 2), approval=st.integers(0, 2))
    def guard_set_policy(self, trader: int, stranger: bool, pick: int, trigger_pct: int, gap_tenths: int,
                         max_per: int, fee_bp: int, budget: int, expiry: int, source: int, approval: int) -> None:
        """A trader sets (or changes) the policy of one of its vaults (opened or not yet), or the attacker
        sets one on it (it never acts). The trigger is ``trigger_pct`` % of the vault's health now (of 5.0
        when it is not open; at most 16), the target ``gap_tenths`` / 10 above it (0: refused). ``source``
        0: the wallet, with the allowance left as it is (``approval`` 0), set to exactly the budget (1) or
        capped at a third of it (2); 1: one of the setter's reserves (earmarked to the vault, when one is);
        2: any reserve id (another owner's, or one not opened yet)."""
        world, ghost = self.world, self.guard_ghost
        setter = world.attacker if stranger else world.traders[trader]
        vault = self._own_vault(trader, pick)
        mine = [rid for rid, r in ghost.reserves.items() if r.owner == setter]
        mine = [rid for rid in mine if vault in ghost.reserves[rid].earmarked] or mine
        if source == 0:
            reserve_id = 0
        elif source == 1 and mine:
            reserve_id = mine[pick % len(mine)]
        else:  # any reserve, or the next id (not opened yet)
            reserve_id = 1 + pick % (len(ghost.reserves) + 1)
        self._set_policy(setter, vault, trigger_pct, gap_tenths, max_per, fee_bp, budget, expiry, reserve_id, approval)

    @precondition(_guarded)
    @rule(trader=st.integers(0, 3), market=st.integers(0, 1), nonce=st.integers(0, 2), is_long=st.booleans(),
          size_centi=st.integers(1, 2_000), lev_tenths=st.integers(30, 120), trigger_pct=st.integers(80, 200),
          source=st.sampled_from([0, 0, 0, 1, 2, 2, 2, 3, 4]), executor=st.integers(0, 2))
    def guard_open_armed(self, trader: int, market: int, nonce: int, is_long: bool, size_centi: int,
                         lev_tenths: int, trigger_pct: int, source: int, executor: int) -> None:
        """A trader opens a position (the ``open`` rule) and at once sets a policy on its vault (even if
        the open was refused): trigger ``trigger_pct`` % of its health, target 0.5 above, at most 500 per
        top-up, fee 1 %, budget 2,000, from ``source``: its wallet with exactly the budget allowed (0) or
        with the allowance it has (1); a new reserve earmarked to the vault, holding 1,000 (2); a new one
        earmarked to its other vaults only (3); another owner's latest reserve, or an id not opened yet
        (4). Then nobody (``executor`` 0), the keeper (1, alone) or the attacker (2, in a batch with one
        other known vault) tops it up at once: swarm testing leaves few examples where the arming and
        the top-up rules meet often."""
        world, ghost = self.world, self.guard_ghost
        owner, vault = world.traders[trader], world.vault_of[(market, trader, nonce)]
        self.open(trader, market, nonce, is_long, size_centi, lev_tenths)
        if source in (2, 3):
            bit = 1 << (market * 3 + nonce)
            self.guard_open_reserve(trader, bit if source == 2 else 63 ^ bit, False, 1_000)
        mine = [rid for rid, r in ghost.reserves.items() if r.owner == owner]
        others = [rid for rid, r in ghost.reserves.items() if r.owner != owner]
        reserve_id = (0 if source < 2 else mine[-1] if source < 4 and mine else
                      others[-1] if others else len(ghost.reserves) + 1)
        self._set_policy(owner, vault, trigger_pct, 5, 500, 100, 2_000, 0, reserve_id, int(source == 0))
        if executor == 1:
            self._top_up([vault], world.keeper, False)
        elif executor == 2:
            self._top_up([vault, self._top_up_target(size_centi % 256)], world.attacker, True)

    def _set_policy(self, setter: str, vault: str, trigger_pct: int, gap_tenths: int, max_per: int, fee_bp: int,
                    budget: int, expiry: int, reserve_id: int, approval: int) -> None:
        """``setter`` sets its policy of ``vault``, as :meth:`guard_set_policy` describes."""
        world, ghost = self.world, self.guard_ghost
        pre = self._pre()
        now = self._next_block(pre)
        health = TopUpContext(pre, now, self.params, world.scales, {}).health(vault)
        trigger = min((5 * WAD if health is None else health) * trigger_pct // 100, 16 * WAD)
        max_amount = max_per * USDC
        policy = GuardPolicy(trigger_health_wad=trigger, target_health_wad=trigger + gap_tenths * TENTH,
                             expiry=0 if expiry == 0 else now + expiry, fee=max_amount * fee_bp // 10_000,
                             max_per_top_up=max_amount, budget=budget * USDC, reserve_id=reserve_id)
        try:
            policy.check(now)
            expected = None
        except RingfenceError as exc:
            expected = exc.name
        if self._guard_send("guard_set_policy", setter, SET_POLICY(vault, policy.as_tuple()), expected):
            ghost.policies[(setter, vault)] = policy
            if reserve_id == 0 and approval:
                self._approve(setter, policy.budget if approval == 1 else policy.budget // 3)

    @precondition(_guarded)
    @rule(trader=st.integers(0, 3), stranger=st.booleans(), pick=PICK)
    def guard_cancel_policy(self, trader: int, stranger: bool, pick: int) -> None:
        """A trader cancels its policy of one of its vaults (or the attacker cancels its own there: the
        owner's stays). Never refused."""
        world = self.world
        setter = world.attacker if stranger else world.traders[trader]
        vault = self._own_vault(trader, pick)
        self._pre()
        if self._guard_send("guard_cancel_policy", setter, CANCEL_POLICY(vault), None):
            self.guard_ghost.policies.pop((setter, vault), None)

    @precondition(_guarded)
    @rule(trader=st.integers(0, 3), amount=st.sampled_from([0, 0, 50, 1_000, 20_000]))
    def guard_approve(self, trader: int, amount: int) -> None:
        """A trader sets the guard's allowance from its wallet (0: revoked)."""
        self._pre()
        self._approve(self.world.traders[trader], amount * USDC)
        Stats.count("guard_approve")

    # ------------------------------------------------------------ owners: reserves
    @precondition(_guarded)
    @rule(opener=st.integers(0, 4), mask=st.integers(0, 63), foreign=st.booleans(),
          deposit=st.one_of(st.just(0), st.integers(1, 200), st.integers(1, 10_000)))
    def guard_open_reserve(self, opener: int, mask: int, foreign: bool, deposit: int) -> None:
        """A trader (or the attacker, 4) opens a reserve earmarked to some of its vault addresses (``mask``
        over its 2 x 3), with ``foreign``, to a vault of another trader too (it never pays for it), and
        deposits ``deposit`` into it."""
        world, ghost = self.world, self.guard_ghost
        who = world.attacker if opener == 4 else world.traders[opener]
        vaults = [world.vault_of[(m, opener, n)] for m in range(len(world.pools)) for n in range(3)
                  if mask >> (m * 3 + n) & 1] if opener < 4 else []
        if foreign or opener == 4:
            other = (opener + 1) % len(world.traders)
            vaults.append(world.vault_of[(mask % len(world.pools), other, mask % 3)])
        self._pre()
        if not self._guard_send("guard_open_reserve", who, OPEN_RESERVE(world.token, vaults), None):
            return
        rid = len(ghost.reserves) + 1
        [(topics, _)] = logs_of(self.receipt or {}, world.guard, RESERVE_OPENED)
        assert int.from_bytes(topics[1], "big") == rid, f"reserve {topics[1].hex()} opened, the ghost expected {rid}"
        ghost.reserves[rid] = ReserveLedger(who, set(vaults))
        if deposit:
            self._deposit(rid, who, deposit * USDC, top_up_allowance=True)

    @precondition(lambda self: self.guard_rules and self.guard_ghost.reserves)
    @rule(pick=PICK, vault_pick=st.integers(0, 5), on=st.booleans(), stranger=st.booleans())
    def guard_earmark(self, pick: int, vault_pick: int, on: bool, stranger: bool) -> None:
        """A reserve's owner earmarks one of its vault addresses to it or takes one off; a stranger (the
        keeper) is refused."""
        world, ghost = self.world, self.guard_ghost
        rid = list(ghost.reserves)[pick % len(ghost.reserves)]
        reserve = ghost.reserves[rid]
        owner_index = world.traders.index(reserve.owner) if reserve.owner in world.traders else 0
        vault = world.vault_of[(vault_pick // 3, owner_index, vault_pick % 3)]
        sender = world.keeper if stranger else reserve.owner
        self._pre()
        if self._guard_send("guard_earmark", sender, EARMARK(rid, [vault], on),
                            "NotReserveOwner" if stranger else None):
            (reserve.earmarked.add if on else reserve.earmarked.discard)(vault)

    @precondition(lambda self: self.guard_rules and self.guard_ghost.reserves)
    @rule(pick=PICK, amount=st.one_of(st.just(0), st.integers(1, 5_000)), stranger=st.booleans(),
          approve=st.booleans())
    def guard_deposit(self, pick: int, amount: int, stranger: bool, approve: bool) -> None:
        """A reserve's owner deposits into it (raising the guard's allowance by the amount first, with
        ``approve``, else from the allowance it has); a stranger (the attacker) is refused."""
        ghost = self.guard_ghost
        rid = list(ghost.reserves)[pick % len(ghost.reserves)]
        owner = ghost.reserves[rid].owner
        who = self.world.attacker if stranger and owner != self.world.attacker else owner
        self._pre()
        self._deposit(rid, who, amount * USDC, top_up_allowance=approve)

    @precondition(lambda self: self.guard_rules and self.guard_ghost.reserves)
    @rule(pick=PICK, bp=st.one_of(st.just(10_000), st.integers(0, 12_000)), stranger=st.booleans())
    def guard_withdraw(self, pick: int, bp: int, stranger: bool) -> None:
        """A reserve's owner withdraws ``bp`` / 10,000 of its balance (all of it: emptied; more: refused)
        to its wallet; a stranger (the attacker, to itself) is refused."""
        world, ghost = self.world, self.guard_ghost
        rid = list(ghost.reserves)[pick % len(ghost.reserves)]
        reserve = ghost.reserves[rid]
        who = world.attacker if stranger and reserve.owner != world.attacker else reserve.owner
        amount = reserve.balance * bp // 10_000
        expected = ("NotReserveOwner" if who != reserve.owner else "ZeroAmount" if amount == 0 else
                    "ReserveTooLow" if amount > reserve.balance else None)
        self._pre()
        if self._guard_send("guard_withdraw", who, WITHDRAW_RESERVE(rid, amount, who), expected):
            reserve.withdrawn += amount
            self._paid(who, -amount)

    # ------------------------------------------------------------ anyone: top-ups
    @precondition(_guarded)
    @rule(pick=PICK, attacker=st.booleans())
    def guard_top_up(self, pick: int, attacker: bool) -> None:
        """The keeper or the attacker tops up one vault (one with a policy, mostly): refused by the name the
        ghost predicts, or done as the model quotes (U3), between owners never (U2)."""
        self._top_up([self._top_up_target(pick)], self.world.attacker if attacker else self.world.keeper, False)

    @precondition(_guarded)
    @rule(picks=st.lists(PICK, max_size=6), attacker=st.booleans())
    def guard_top_up_batch(self, picks: list[int], attacker: bool) -> None:
        """A batch over up to six vaults (repeats allowed, none: refused with NoVaults): the ones the ghost
        predicts are topped up, in order, the others skipped."""
        self._top_up([self._top_up_target(p) for p in picks], self.world.attacker if attacker else self.world.keeper,
                     True)

    # ------------------------------------------------------------ helpers
    def _next_block(self, pre: Snapshot) -> int:
        """The block time of the next transaction (the block interval is fixed while the machine runs)."""
        return pre.timestamp + BLOCK_INTERVAL

    def _own_vault(self, trader: int, pick: int) -> str:
        """One of ``trader``'s vault addresses, its open vaults twice as likely as the others."""
        world = self.world
        mine = [world.vault_of[(m, trader, n)] for m in range(len(world.pools)) for n in range(3)]
        return self._pick(pick, [v for v in mine if v in self._open_vaults()] + mine)

    def _top_up_target(self, pick: int) -> str:
        """A vault to top up: half of the picks go to the open vaults with a policy of their owner (when
        there are any), most others to any vault with a policy (of its owner or a stranger) or opened,
        the rest (1 in 8) to any vault address, opened or not."""
        world = self.world
        known = list(dict.fromkeys([v for _, v in self.guard_ghost.policies] + list(self.vaults)))
        armed = [v for v in self._open_vaults() if (world.traders[self.vaults[v][1]], v) in self.guard_ghost.policies]
        if armed and pick < 128:
            return self._pick(pick, armed)
        if known and pick < 224:
            return self._pick(pick, known)
        return self._pick(pick, list(world.vault_of.values()))

    def _guard_send(self, action: str, sender: str, data: bytes, expected: str | None) -> bool:
        """Sends ``data`` to the guard; the error it meets (or its success) must be ``expected``."""
        self.receipt = None
        try:
            self.receipt = self.world.node.send(sender, self.world.guard, data)
        except RingfenceError as exc:
            assert exc.name == expected, f"{action}: {exc.name} ({exc}), the ghost expected {expected or 'success'}"
            Stats.count(action, exc.name)
            return False
        assert expected is None, f"{action} succeeded, the ghost expected {expected}"
        Stats.count(action)
        return True

    def _approve(self, owner: str, amount: int) -> None:
        world = self.world
        world.node.send(owner, world.token, APPROVE(world.guard, amount))
        self.guard_ghost.allowances[owner] = amount

    def _deposit(self, rid: int, who: str, amount: int, top_up_allowance: bool) -> None:
        """``who`` deposits ``amount`` into reserve ``rid``; with ``top_up_allowance`` the owner first raises
        the guard's allowance by ``amount`` (its wallet policies keep theirs)."""
        ghost = self.guard_ghost
        reserve = ghost.reserves[rid]
        if top_up_allowance and who == reserve.owner and amount:
            self._approve(who, ghost.allowances.get(who, 0) + amount)
        balance = self._pre().holder_balances[who]
        expected = ("NotReserveOwner" if who != reserve.owner else "ZeroAmount" if amount == 0 else
                    "ERC20InsufficientAllowance" if ghost.allowances.get(who, 0) < amount else
                    "ERC20InsufficientBalance" if balance < amount else None)
        if self._guard_send("guard_deposit", who, DEPOSIT_RESERVE(rid, amount), expected):
            reserve.deposited += amount
            ghost.allowances[who] -= amount
            self._paid(who, amount)

    def _top_up(self, vaults: list[str], executor: str, batch: bool) -> None:
        world, ghost = self.world, self.guard_ghost
        pre = self._pre()
        owner_of = {v: world.traders[t] for v, (_, t) in self.vaults.items()}
        ctx = TopUpContext(pre, self._next_block(pre), self.params, world.scales, owner_of)
        expected = self.last_top_ups = predict_top_ups(vaults, executor, ctx, ghost)
        for outcome in expected:
            Stats.note(f"predicted {outcome.error or 'top-up'}")
        if batch:  # a batch skips the vaults it cannot top up, whatever the reason
            expected = [replace(o, error="skipped") if o.error else o for o in expected]
        action = "guard_top_up_batch" if batch else "guard_top_up"
        self.touched |= set(vaults)
        self.receipt = None
        try:
            self.receipt = world.node.send(executor, world.guard, (TOP_UP_BATCH(vaults) if batch else
                                                                   TOP_UP(vaults[0])))
        except RingfenceError as exc:
            if batch:  # a batch is refused only when it names no vault
                assert exc.name == "NoVaults" and not vaults, f"{action} of {vaults}: {exc.name} ({exc})"
                Stats.count(action, exc.name)
                return
            check_top_up_quotes(expected, [TopUpOutcome(vaults[0], exc.name)])
            Stats.count(action, exc.name)
            return
        done = self._topped_up(self.receipt)
        actual = _align(vaults, done) if batch else done
        if batch:
            [(_, data)] = logs_of(self.receipt, world.guard, BATCH_TOPPED_UP)
            assert decode(["uint256", "uint256"], data) == (len(vaults), len(done)), (data.hex(), done)
        stored = {(t.owner, t.vault): self._stored_budget(t.owner, t.vault) for t in done}
        check_top_up_quotes(expected, actual, stored)
        Stats.count(action, None if done or not batch else "none topped up")
        # the ghost follows the events (U3 holds: they are its predictions)
        policies, reserves = set(ghost.policies), {rid: replace(r, earmarked=set(r.earmarked))
                                                   for rid, r in ghost.reserves.items()}
        Stats.note("top-ups skipped in batches", sum(a.error == "skipped" for a in actual))
        for t in done:
            Stats.note("top-ups from a reserve" if t.reserve_id else "top-ups from a wallet")
            key = (t.owner, t.vault)
            ghost.policies[key] = replace(ghost.policies[key], budget=t.budget_after)
            if t.reserve_id:
                ghost.reserves[t.reserve_id].spent += t.amount + t.fee
            else:
                ghost.allowances[t.owner] -= t.amount + t.fee
                self._paid(t.owner, t.amount + t.fee)
            for ledger in self.ledgers:  # the attacker's fees count in its L5 bound, as keeper pay does
                if ledger.actor == t.executor:
                    ledger.keeper_pay += t.fee
        if done:
            self._neutral("top up", pre, sorted({self.vaults[t.vault][0] for t in done}))

            def check(post: Snapshot) -> None:
                check_top_up_owners(done, owner_of, policies, reserves, pre, post, world.traders)
            self.checks.append(check)

    def _topped_up(self, receipt: dict[str, Any]) -> list[TopUpOutcome]:
        """The ``ToppedUp`` events of a receipt, in order."""
        out = []
        for topics, data in logs_of(receipt, self.world.guard, TOPPED_UP):
            vault, owner, executor = (to_checksum_address(t[-20:]) for t in topics[1:4])
            amount, fee, reserve_id, _, budget_after = decode(["uint256"] * 5, data)
            out.append(TopUpOutcome(vault, None, owner, executor, amount, fee, reserve_id, budget_after))
        return out

    def _stored_budget(self, owner: str, vault: str) -> int:
        raw = self.world.node.call(self.world.guard, GUARD_POLICY(owner, vault))
        return int(GuardPolicy.from_chain(decode(GUARD_POLICY.returns, raw)[0]).budget)

    def _reserves_on_chain(self) -> dict[int, tuple[str, int]]:
        """Each reserve the ghost opened, as the guard records it: (owner, balance)."""
        out: dict[int, tuple[str, int]] = {}
        for rid in self.guard_ghost.reserves:
            owner, balance, _ = decode(["address", "uint96", "address"],
                                       self.world.node.call(self.world.guard, GUARD_RESERVE(rid)))
            out[rid] = (to_checksum_address(owner), int(balance))
        return out

    def _check_reserves(self, snap: Snapshot) -> None:
        """U1 on ``snap`` (the guard's balance) and the reserves read now."""
        check_reserves(self._reserves_on_chain(), self.guard_ghost.reserves, snap.holder_balances[self.world.guard])


def _align(vaults: list[str], done: list[TopUpOutcome]) -> list[TopUpOutcome]:
    """A batch's outcomes, vault by vault: its ``ToppedUp`` events (in order) where they are, the others
    skipped (a vault named twice: a failure of the first means a failure of the second, so the first
    takes the event); events left over are appended (and then differ from any prediction)."""
    out, events = [], list(done)
    for vault in vaults:
        if events and events[0].vault == vault:
            out.append(events.pop(0))
        else:
            out.append(TopUpOutcome(vault, "skipped"))
    return out + events

