"""A hypothesis state machine that drives the protocol on a local chain and checks the invariants
after every step. Actors: traders with several vaults each, two LP actors (the LP, and an attacker who
also liquidates for keeper pay) requesting and settling deposits and redemptions, a keeper, an oracle
moving in small steps, jumps and crashes, time passing, a guardian pausing, an owner changing parameters;
and, in machines bound with ``guard=True``, the MarginGuard's policies, reserves and top-ups (U1-U3).

LP accounting: after every step the pools' marked ``totalAssets`` must equal the reference model; each
request's quote, each settlement's worse-of, each action's effect on the mark (realization neutrality)
and each LP actor's wealth bound are checked against the state read just before the action (the
previous step's read), at the action's block time (:mod:`ringfence.fuzz.invariants`, L1-L5; the ids are
those of docs/design.md, "Invariants and their ids").

Speed: actions go to the node as raw JSON-RPC (:mod:`ringfence.chain.rpc`): a dry run on the pending
block (a revert raises its decoded :class:`RingfenceError`, nothing is sent), then the transaction. The
per-step read is one call to the test-only FuzzReader (:mod:`ringfence.fuzz.reader`), liquidation dry
runs included. On Anvil the block interval is fixed (1 s), so a run's chain history depends on its
actions only and a saved sequence of steps replays exactly (:mod:`ringfence.fuzz.replay`).

Every rule takes plain integers and booleans (vaults are picked by index, in the order they were
first opened), so the steps hypothesis prints for a failure are runnable as they are.

Layout: the shared state and helpers are in :mod:`ringfence.fuzz.base`, the rules in
:mod:`ringfence.fuzz.rules_traders`, :mod:`~ringfence.fuzz.rules_lps`, :mod:`~ringfence.fuzz.rules_keepers`
and :mod:`~ringfence.fuzz.rules_world`, the guard's in :mod:`~ringfence.fuzz.rules_guard` (its ghost's
predictions in :mod:`~ringfence.fuzz.guard_model`), the encoded calls in :mod:`ringfence.fuzz.calls`,
the deployed world in :mod:`ringfence.fuzz.world`; this module composes them and checks the invariants.
"""

from __future__ import annotations

from typing import Any

from hypothesis.stateful import invariant

from ringfence.fuzz.calls import HEALTHY_POSITION
from ringfence.fuzz.env import FuzzEnv
from ringfence.fuzz.invariants import (
    Snapshot,
    VaultRow,
    check_conservation,
    check_isolation,
    check_liveness,
    check_losses,
    check_marking,
    check_profit_caps,
    check_refusals,
    check_safety,
    check_solvency,
    check_sums,
)
from ringfence.fuzz.reader import Probes
from ringfence.fuzz.rules_guard import GuardRules
from ringfence.fuzz.rules_keepers import KeeperRules
from ringfence.fuzz.rules_lps import LpRules
from ringfence.fuzz.rules_traders import TraderRules
from ringfence.fuzz.rules_world import WorldRules
from ringfence.fuzz.stats import Stats
from ringfence.fuzz.world import World

__all__ = ["ProtocolMachine", "Stats", "World", "build_machine"]


class ProtocolMachine(GuardRules, TraderRules, LpRules, KeeperRules, WorldRules):
    """The protocol's state machine: every rule of the traders, LP actors, liquidators and the world (and
    of the guard, drawn when bound with ``guard=True``), and the invariants checked after each step. Use
    a class bound to a deployed world (:func:`build_machine`, or :meth:`ProtocolMachine.bind`)."""

    @invariant()
    def invariants_hold(self) -> None:
        self.step += 1
        if self.step % self.check_every and not self.checks:
            return
        snap, probes = self.read_all()
        check_conservation(snap, self.ghost)
        check_sums(snap)
        check_profit_caps(snap, [p.max_profit_wad for p in self.params])
        check_solvency(snap)
        # LP accounting: the mark is the model's (L1); the action's own checks (L2-L4); the LP actors' net (L5)
        check_marking(snap, self.world.scales, [p.borrow_rate_wad for p in self.params])
        self._after(snap)
        # check_isolation compares rows by equality: here, the fields an action must not change
        before: dict[str, Any] = {v: _stored(r) for v, r in self.last_rows.items()}
        after: dict[str, Any] = {v: _stored(r) for v, r in snap.vaults.items()}
        check_isolation(before, after, self.touched)
        check_losses(snap.holder_balances, self.ghost, self.world.traders)
        self._check_liquidations(snap, probes)
        self._check_reserves(snap)  # U1
        self.last_rows = snap.vaults
        self.last_probes = probes
        self.touched = set()

    def _check_liquidations(self, snap: Snapshot, probes: Probes) -> None:
        """Invariants 4 (liveness) and 5 (safety) on the read's liquidation dry runs."""
        decode = self.world.node.decoder.decode
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


def build_machine(env: FuzzEnv, chain: Any, project: Any, check_every: int = 1,
                  guard: bool = False) -> type[ProtocolMachine]:
    """A :class:`ProtocolMachine` class bound to a deployed environment (the FuzzReader is deployed, the
    node's block interval fixed: close it with ``cls.world.close()``). Each example starts from a chain
    snapshot and restores it at teardown. ``cls.world`` holds the node and addresses. With ``guard``,
    hypothesis draws the MarginGuard's rules too."""
    return ProtocolMachine.bind(World(env, chain, project), check_every, guard)


def _stored(row: VaultRow) -> tuple[Any, ...]:
    """What an action on another vault must not change (health moves with price and time)."""
    return (row.status, row.is_long, row.size, row.margin, row.max_profit, row.balance)
