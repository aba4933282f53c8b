"""The MarginGuard's invariants (docs/design.md U1-U3) as checks over plain data, on the ghost's
:class:`GuardGhost`: ``check_reserves`` (U1: each reserve holds its deposits less its withdrawals less
what its top-ups took; the guard holds its reserves and nothing else), ``check_top_up_owners`` (U2: no
top-up moves money between owners) and ``check_top_up_quotes`` (U3: each top-up, and each refusal, is
the reference model's ``top_up_quote``). Like :mod:`ringfence.fuzz.invariants`, each takes plain data so
that a canary can feed it a tampered ghost and show it fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ringfence.fuzz.invariants import InvariantViolation, Snapshot
from ringfence.model import GuardPolicy


@dataclass
class ReserveLedger:
    """One guard reserve as the fuzzer knows it: its owner, the vaults it is earmarked to, and the money
    that went in and out (deposits and withdrawals as the owner sent them, top-ups as their events say)."""

    owner: str
    earmarked: set[str] = field(default_factory=set)
    deposited: int = 0
    withdrawn: int = 0
    spent: int = 0  # amount + fee of every top-up it paid

    @property
    def balance(self) -> int:
        return self.deposited - self.withdrawn - self.spent


@dataclass
class GuardGhost:
    """What the fuzzer knows of the guard: the policies by the account that set them, the reserves by
    id (from 1), and the guard's allowance from each wallet (as approved, less what the guard pulled)."""

    policies: dict[tuple[str, str], GuardPolicy] = field(default_factory=dict)  # (setter, vault) -> policy
    reserves: dict[int, ReserveLedger] = field(default_factory=dict)
    allowances: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class TopUpOutcome:
    """One vault's top-up in an action: refused (``error``: its name; ``"skipped"`` in a batch) or done
    (``error`` None) with what its ``ToppedUp`` event says."""

    vault: str
    error: str | None = None
    owner: str = ""
    executor: str = ""
    amount: int = 0
    fee: int = 0
    reserve_id: int = 0
    budget_after: int = 0


# the oracle's refusals (docs/trust.md): a top-up reads the price after the policy's checks
ORACLE_REFUSED = "<the oracle's refusal>"
ORACLE_ERRORS = frozenset({"SequencerDown", "SequencerGracePeriod", "OracleCallFailed", "FeedDecimalsChanged",
                           "IncompleteRound", "NonPositivePrice", "PriceFromFuture", "StalePrice",
                           "PriceOutOfBounds"})


def check_reserves(on_chain: dict[int, tuple[str, int]], ledgers: dict[int, ReserveLedger],
                   guard_balance: int) -> None:
    """U1 (guard reserves): every reserve the ghost opened exists on chain, owned by its opener, and
    holds exactly its deposits less its withdrawals less the amount and fee of each top-up it paid; the
    guard's token balance is the sum of the reserves' (it holds nothing else between transactions: a
    wallet top-up passes through). ``on_chain`` maps each reserve id to its (owner, balance)."""
    if set(on_chain) != set(ledgers):
        raise InvariantViolation("reserves", f"reserves on chain {sorted(on_chain)} != opened {sorted(ledgers)}")
    for rid, ledger in ledgers.items():
        owner, balance = on_chain[rid]
        if owner.lower() != ledger.owner.lower():
            raise InvariantViolation("reserves", f"reserve {rid} is owned by {owner}, opened by {ledger.owner}")
        if balance != ledger.balance:
            raise InvariantViolation("reserves", f"reserve {rid} holds {balance} != deposited {ledger.deposited} "
                                                 f"- withdrawn {ledger.withdrawn} - spent {ledger.spent}")
    total = sum(balance for _, balance in on_chain.values())
    if guard_balance != total:
        raise InvariantViolation("reserves", f"the guard holds {guard_balance} != {total} in its reserves")


def check_top_up_owners(done: list[TopUpOutcome], owner_of: dict[str, str], policies: set[tuple[str, str]],
                        reserves: dict[int, ReserveLedger], pre: Snapshot, post: Snapshot,
                        traders: list[str]) -> None:
    """U2 (no top-up moves money between owners), on the top-ups ``done`` by one action, between the
    snapshots just before and after it: each went into a vault whose owner (``owner_of``: who opened it)
    is the owner its event names, under a policy that owner set for that vault (``policies``: the
    ghost's (setter, vault) keys), from that owner's source: a reserve of that owner earmarked to the
    vault (``reserves``: the ghost's, as before the action), or that owner's wallet. Each topped-up
    vault's margin grew by exactly the amounts it received, and each trader's wallet moved by exactly
    what its own wallet top-ups pulled (and the fees it earned executing): nobody else paid."""
    received: dict[str, int] = {}
    wallets = {trader.lower(): 0 for trader in traders}
    for t in done:
        owner = t.owner.lower()
        vault_owner = owner_of.get(t.vault, "").lower()
        if vault_owner != owner:
            raise InvariantViolation("top-up-owners", f"{t.vault} (owner {vault_owner or 'unknown'}) topped up "
                                                      f"under {t.owner}'s policy")
        if (t.owner, t.vault) not in policies:
            raise InvariantViolation("top-up-owners", f"{t.vault} topped up without a policy of its owner {t.owner}")
        if t.reserve_id:
            reserve = reserves.get(t.reserve_id)
            if reserve is None or reserve.owner.lower() != owner:
                raise InvariantViolation("top-up-owners", f"{t.vault} of {t.owner} topped up from reserve "
                                                          f"{t.reserve_id} of {reserve and reserve.owner}")
            if t.vault not in reserve.earmarked:
                raise InvariantViolation("top-up-owners", f"{t.vault} topped up from reserve {t.reserve_id}, "
                                                          f"not earmarked to it")
        elif owner in wallets:
            wallets[owner] -= t.amount + t.fee
        if t.executor.lower() in wallets:
            wallets[t.executor.lower()] += t.fee
        received[t.vault] = received.get(t.vault, 0) + t.amount
    for vault, amount in received.items():
        moved = post.vaults[vault].margin - pre.vaults[vault].margin
        if moved != amount:
            raise InvariantViolation("top-up-owners", f"{vault}'s margin moved {moved} != {amount} topped up")
    for trader in traders:
        moved = post.holder_balances[trader] - pre.holder_balances[trader]
        if moved != wallets[trader.lower()]:
            raise InvariantViolation("top-up-owners", f"trader {trader}'s wallet moved {moved} != "
                                                      f"{wallets[trader.lower()]} by its own top-ups")


def check_top_up_quotes(expected: list[TopUpOutcome], actual: list[TopUpOutcome],
                        stored_budgets: dict[tuple[str, str], int] | None = None) -> None:
    """U3 (top-ups are the model's): the action's outcomes are the ghost's, vault by vault in order: the
    same refusals (by name) and the same top-ups, each with the amount and fee of
    ``model.top_up_quote`` and its policy's budget down by exactly amount + fee (the event's
    ``budgetAfter``, and ``stored_budgets``: the policies' budgets read after the action)."""
    if len(expected) != len(actual):
        raise InvariantViolation("top-up-quote", f"{len(actual)} outcomes != {len(expected)} expected: "
                                                 f"{actual} vs {expected}")
    for e, a in zip(expected, actual):
        if e.error == ORACLE_REFUSED and a.error in ORACLE_ERRORS:
            continue
        if e != a:
            raise InvariantViolation("top-up-quote", f"{a} != the model's {e}")
    for (owner, vault), budget in (stored_budgets or {}).items():
        last = [a.budget_after for a in actual if a.error is None and (a.owner, a.vault) == (owner, vault)]
        if last and budget != last[-1]:
            raise InvariantViolation("top-up-quote", f"{vault}'s policy stores budget {budget} != {last[-1]} "
                                                     f"after its top-ups")
