"""The LP actors' rules of the market machine (the LP, and the attacker who also liquidates): deposit
and redemption requests, their settlement after an oracle round, and the refused sync ERC-4626 paths.
Each action queues its LP accounting checks (L2 quotes, L3 worse-of, L4 neutrality of docs/design.md),
run on the state read right after it; settlement liveness is checked here, at the settlement."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

from hypothesis import strategies as st
from hypothesis.stateful import rule

from ringfence.errors import RingfenceError
from ringfence.fuzz.base import PICK, MachineBase
from ringfence.fuzz.calls import (
    DEPOSIT,
    EXIT_REFUSALS,
    MINT,
    REQUEST_DEPOSIT,
    REQUEST_REDEEM,
    SETTLE_DEPOSIT,
    SETTLE_REDEEM,
    SYNC_REFUSALS,
)
from ringfence.fuzz.env import USDC
from ringfence.fuzz.invariants import (
    InvariantViolation,
    LpRow,
    MarkChange,
    Quote,
    Settlement,
    Snapshot,
    check_neutrality,
    check_quote,
    check_worse_of,
)
from ringfence.fuzz.stats import Stats


class LpRules(MachineBase):
    @rule(actor=st.integers(0, 1), market=st.integers(0, 1),
          amount=st.one_of(st.integers(1, 1_000), st.integers(1, 200_000)))
    def lp_request_deposit(self, actor: int, market: int, amount: int) -> None:
        """An LP actor pays ``amount`` USDC for shares settled after the next oracle round (L2: quoted at
        the mark of its block)."""
        who, pool = self.world.lps[actor], self.world.pools[market]
        pre = self._pre()
        if self._try("lp_request_deposit", who, pool, REQUEST_DEPOSIT(amount * USDC, who)) is not None:
            return
        self.requested[(market, actor, True)] = self.rounds[market]

        def check(post: Snapshot) -> None:
            before, after = self._marks(pre, post, market)
            row = post.markets[market].lps[actor]
            check_quote(Quote(True, amount * USDC, row.deposit_quote, before, pre.markets[market].total_supply))
            check_neutrality(MarkChange(market, "deposit request", before, after,
                                        Fraction(0), Fraction(0), Fraction(0)))
        self.checks.append(check)

    @rule(actor=st.integers(0, 1), market=st.integers(0, 1), bp=st.one_of(st.integers(1, 10_000),
                                                                          st.just(10_000)))
    def lp_request_redeem(self, actor: int, market: int, bp: int) -> None:
        """An LP actor (the other one if it holds no shares) hands ``bp`` / 10,000 of its shares to the
        pool, redeemed after the next round (L2: quoted at the mark of its block)."""
        pre = self._pre()
        if not pre.markets[market].lps[actor].shares:  # the other actor, when it holds shares
            actor = 1 - actor
        who, pool = self.world.lps[actor], self.world.pools[market]
        shares = pre.markets[market].lps[actor].shares * bp // 10_000
        if shares == 0:
            Stats.count("lp_request_redeem", "no shares")
            return
        if self._try("lp_request_redeem", who, pool, REQUEST_REDEEM(shares, who, who)) is not None:
            return
        self.requested[(market, actor, False)] = self.rounds[market]

        def check(post: Snapshot) -> None:
            before, after = self._marks(pre, post, market)
            row = post.markets[market].lps[actor]
            check_quote(Quote(False, shares, row.redeem_quote, before, pre.markets[market].total_supply))
            check_neutrality(MarkChange(market, "redeem request", before, after,
                                        Fraction(0), Fraction(0), Fraction(0)))
        self.checks.append(check)

    @rule(pick=PICK, caller=st.integers(0, 2))
    def lp_settle(self, pick: int, caller: int) -> None:
        """Anyone (an LP actor or the keeper) settles a pending request of an LP actor (``pick`` among
        them; among all, pending or not, when none is). It must settle exactly when the oracle has
        published a round since the request (else RequestNotReady); then L3 (worse-of) and the mark
        moves by exactly the assets it adds or pays."""
        world = self.world
        pre = self._pre()
        every = [(market, actor, deposit) for market in range(len(world.pools)) for actor in range(len(world.lps))
                 for deposit in (True, False)]
        pending = [(m, a, d) for m, a, d in every
                   if (pre.markets[m].lps[a].deposit_assets if d else pre.markets[m].lps[a].redeem_shares)]
        market, controller, deposit = (pending or every)[pick % len(pending or every)]
        who, pool = world.lps[controller], world.pools[market]
        sender = [world.lp, world.attacker, world.keeper][caller]
        row = pre.markets[market].lps[controller]
        amount, quote = ((row.deposit_assets, row.deposit_quote) if deposit else
                         (row.redeem_shares, row.redeem_quote))
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
        self.checks.append(self._settled(action, pre, market, controller, deposit, row, amount, quote))

    def _settled(self, action: str, pre: Snapshot, market: int, controller: int, deposit: bool, row: LpRow,
                 amount: int, quote: int) -> Callable[[Snapshot], None]:
        """The check of a settlement of ``controller``'s request (``row`` before it): the request is gone,
        the result is the worse of its quote and the settlement's mark (L3), and the mark moved by exactly
        the assets added or paid (L4)."""
        who = self.world.lps[controller]

        def check(post: Snapshot) -> None:
            before, after = self._marks(pre, post, market)
            later = post.markets[market].lps[controller]
            if deposit:
                result = later.shares - row.shares
                assert (later.deposit_assets, later.deposit_quote) == (0, 0), later
            else:
                result = post.holder_balances[who] - pre.holder_balances[who]
                assert (later.redeem_shares, later.redeem_quote) == (0, 0), later
            check_worse_of(Settlement(deposit, amount, quote, result, before, pre.markets[market].total_supply))
            moved = Fraction(amount if deposit else -result)
            check_neutrality(MarkChange(market, action, before, after, moved, Fraction(0), Fraction(0)))
        return check

    @rule(actor=st.integers(0, 1), market=st.integers(0, 1), amount=st.integers(1, 100_000))
    def lp_sync_paths(self, actor: int, market: int, amount: int) -> None:
        """The sync ERC-4626 entries are refused by name while the pool has shares (a bootstrap deposit
        is made when it has none); the sync exits always are."""
        who, pool = self.world.lps[actor], self.world.pools[market]
        pre = self._pre()
        refusals = EXIT_REFUSALS + (SYNC_REFUSALS if pre.markets[market].total_supply else ())
        for name, fn, expected in refusals:
            try:
                self.world.node.dry_run(who, pool, fn(amount * USDC, who) if fn in (DEPOSIT, MINT) else
                                        fn(amount * USDC, who, who))
            except RingfenceError as exc:
                assert exc.name == expected, f"sync {name}: {exc}"
            else:
                raise AssertionError(f"sync {name} of {amount} accepted by pool {market}")
        if pre.markets[market].total_supply == 0:
            self._try("lp_bootstrap_deposit", who, pool, DEPOSIT(amount * USDC, who))
        else:
            Stats.count("lp_sync_paths")
