"""The protocol's invariants (docs/design.md, with their ids) as checks over a snapshot of the chain
and a ghost model.

Each check takes plain data, so a canary can feed it a tampered snapshot or ghost and show it fails.

LP accounting (the marked share price and the LP requests) adds: ``check_marking`` (``totalAssets()`` is
the reference model's mark, to the unit), ``check_quote`` and ``check_worse_of`` (requests are quoted at
the mark of their block; a settlement gives the worse of the quote and the settlement's mark),
``check_neutrality`` (closing, liquidating, opening or touching a position moves the mark only by what
it realizes: see :func:`mark_change`) and ``check_lp_net`` (an LP actor's tokens never grow faster than
its shares' marked value while it holds them: see :class:`LpLedger`).

The MarginGuard's invariants (U1-U3) are in :mod:`ringfence.fuzz.guard_invariants`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from ringfence import model

WAD = 10**18
MAX_UINT128 = 2**128 - 1


class InvariantViolation(AssertionError):
    """An invariant does not hold; ``invariant`` names it."""

    def __init__(self, invariant: str, detail: str):
        self.invariant = invariant
        super().__init__(f"{invariant}: {detail}")


@dataclass(frozen=True)
class VaultRow:
    vault: str
    market: int
    status: int  # 1 open
    is_long: bool
    size: int
    entry_notional: int  # notional_up(size, entry)
    margin: int
    max_profit: int
    balance: int
    liquidatable: bool
    entry_price_wad: int = 0
    fee_base_wad: int = 0  # the record's fee base (open positions owe fees from it)


@dataclass(frozen=True)
class LpRow:
    """One LP actor in one pool: its shares (escrowed ones excluded) and pending requests (zeros: none)."""

    shares: int
    deposit_assets: int
    deposit_quote: int  # the most shares the deposit can get
    deposit_time: int
    redeem_shares: int  # escrowed by the pool
    redeem_quote: int  # the most assets the redemption can get
    redeem_time: int


@dataclass(frozen=True)
class MarketRow:
    balance: int  # the pool's token balance
    liquidity: int  # realized LP liquidity (liquidity(), the old totalAssets)
    total_claimable: int
    reserved: int
    open_interest: tuple[tuple[int, int], tuple[int, int]]  # (long (size, notional), short (...))
    free_liquidity: int
    pending_deposits: int = 0
    total_supply: int = 0  # pool shares, escrowed ones included
    escrowed: int = 0  # shares held by the pool (pending redemptions)
    fee_index: int = WAD  # currentFeeIndex() at the snapshot's time
    price: int | None = None  # the oracle price (None: refused)
    total_assets: int | None = None  # the marked totalAssets() (None: the price was refused)
    lps: tuple[LpRow, ...] = ()  # per LP actor, in the reader's order


@dataclass(frozen=True)
class Snapshot:
    holder_balances: dict[str, int]  # actors, pools, funds
    vaults: dict[str, VaultRow]
    markets: list[MarketRow]
    timestamp: int = 0  # the block time of the read


@dataclass
class Ghost:
    """What the fuzzer itself knows, independent of the contracts."""

    minted: int = 0
    vault_donations: dict[str, int] = field(default_factory=dict)
    pool_donations: list[int] = field(default_factory=lambda: [0, 0])
    paid_in: dict[str, int] = field(default_factory=dict)  # by trader: margin put into vaults
    start_balance: dict[str, int] = field(default_factory=dict)


def check_conservation(snap: Snapshot, ghost: Ghost) -> None:
    """1. Tokens in all vaults + pools + funds + actors == tokens minted, to the unit."""
    total = sum(snap.holder_balances.values()) + sum(v.balance for v in snap.vaults.values())
    if total != ghost.minted:
        raise InvariantViolation("conservation", f"{total} held != {ghost.minted} minted")
    for address, row in snap.vaults.items():
        accounted = row.margin if row.status == 1 else 0
        expected = accounted + ghost.vault_donations.get(address, 0)
        if row.balance != expected:
            raise InvariantViolation("conservation", f"vault {address} holds {row.balance} != {expected}")
    for i, m in enumerate(snap.markets):
        # the LPs' realized liquidity, the owners' credits, the deposits not settled yet, donations
        expected = m.liquidity + m.total_claimable + m.pending_deposits + ghost.pool_donations[i]
        if m.balance != expected:
            raise InvariantViolation("conservation", f"pool {i} holds {m.balance} != {expected}")


def check_sums(snap: Snapshot) -> None:
    """A2: the pools' aggregates equal the sums over their vaults: open interest and reserve over the open
    ones, ``totalClaimable`` over the closed ones' unclaimed liquidation credits."""
    for i, m in enumerate(snap.markets):
        credits = sum(v.margin for v in snap.vaults.values() if v.market == i and v.status == 2)
        if m.total_claimable != credits:
            raise InvariantViolation("sums", f"pool {i} totalClaimable {m.total_claimable} != {credits} credited")
        rows = [v for v in snap.vaults.values() if v.market == i and v.status == 1]
        for side, is_long in ((0, True), (1, False)):
            size = sum(v.size for v in rows if v.is_long == is_long)
            notional = sum(v.entry_notional for v in rows if v.is_long == is_long)
            if m.open_interest[side] != (size, notional):
                raise InvariantViolation("sums", f"pool {i} side {side}: {m.open_interest[side]} != "
                                                 f"{(size, notional)}")
        reserved = sum(v.max_profit for v in rows)
        if m.reserved != reserved:
            raise InvariantViolation("sums", f"pool {i} reserved {m.reserved} != {reserved}")
        # the LP actors are the only requesters: the pool's pending deposits and escrowed shares are theirs
        if m.lps:
            pending = sum(lp.deposit_assets for lp in m.lps)
            if m.pending_deposits != pending:
                raise InvariantViolation("sums", f"pool {i} pendingDeposits {m.pending_deposits} != {pending} requested")
            escrowed = sum(lp.redeem_shares for lp in m.lps)
            if m.escrowed != escrowed:
                raise InvariantViolation("sums", f"pool {i} escrows {m.escrowed} shares != {escrowed} requested")


def check_profit_caps(snap: Snapshot, max_profit_wads: list[int]) -> None:
    """R1: no open position reserves more than the cap rule allows for it as it stands:
    ``max_profit <= k * min(margin, entry notional)`` (the entry notional here is rounded up, so the
    bound is the contract's rule or one unit looser)."""
    for vault, v in snap.vaults.items():
        if v.status != 1:
            continue
        k = max_profit_wads[v.market]
        allowed = min(v.margin * k // WAD, v.entry_notional * k // WAD)
        if v.max_profit > allowed:
            raise InvariantViolation("caps", f"vault {vault} reserves {v.max_profit} > {allowed} "
                                             f"(margin {v.margin}, entry notional {v.entry_notional})")


def check_solvency(snap: Snapshot) -> None:
    """3. Each pool's realized liquidity covers what it reserved for maximum payouts; what redemptions and
    new reserves may take (``freeLiquidity``) is the rest, never the reserve. (With ``liquidity >=
    reserved`` the marked ``totalAssets`` is at least ``liquidity - reserved``: its floor at 0 never acts.)"""
    for i, m in enumerate(snap.markets):
        if m.liquidity < m.reserved:
            raise InvariantViolation("solvency", f"pool {i}: liquidity {m.liquidity} < reserved {m.reserved}")
        if m.free_liquidity != m.liquidity - m.reserved:
            raise InvariantViolation("solvency", f"pool {i}: free liquidity {m.free_liquidity} != "
                                                 f"{m.liquidity - m.reserved} unreserved")
        if m.total_assets is not None and m.total_assets < m.liquidity - m.reserved:
            raise InvariantViolation("solvency", f"pool {i}: marked {m.total_assets} < liquidity - reserved "
                                                 f"{m.liquidity - m.reserved}")


def check_isolation(before: dict[str, VaultRow], after: dict[str, VaultRow], touched: set[str]) -> None:
    """2. An action changes no vault but the ones it names."""
    for address, row in before.items():
        if address in touched:
            continue
        later = after.get(address)
        if later is not None and later != row:
            raise InvariantViolation("isolation", f"vault {address} changed: {row} -> {later}")


def check_losses(balances: dict[str, int], ghost: Ghost, traders: list[str]) -> None:
    """2. No trader ends with less than they started with minus what they put into vaults."""
    for trader in traders:
        floor = ghost.start_balance[trader] - ghost.paid_in.get(trader, 0)
        if balances[trader] < floor:
            raise InvariantViolation("isolation", f"trader {trader} holds {balances[trader]} < {floor}")


def check_liveness(liquidatable: list[str], liquidated: int, detail: str = "") -> None:
    """4. Every liquidatable vault can be liquidated (a dry run of one batch liquidates them all)."""
    if liquidated != len(liquidatable):
        raise InvariantViolation("liveness", f"{liquidated} of {len(liquidatable)} liquidatable vaults "
                                             f"could be liquidated{detail}")


def check_safety(healthy_liquidated: list[str]) -> None:
    """5. No healthy vault can be liquidated."""
    if healthy_liquidated:
        raise InvariantViolation("safety", f"healthy vaults liquidated: {healthy_liquidated}")


def check_refusals(wrong: dict[str, str]) -> None:
    """5. (L1) A healthy vault's liquidation is refused by name (HealthyPosition), not by a panic or
    another error; ``wrong`` maps each vault refused otherwise to its error."""
    if wrong:
        raise InvariantViolation("safety", f"healthy vaults refused with another error than HealthyPosition: {wrong}")


# ---------------------------------------------------------------- LP accounting


def fee_weight_of(snap: Snapshot, market: int) -> int:
    """The pool's private ``_feeWeight`` rebuilt from its open vaults: ``Σ notional_up(size, entry) * fee_base``."""
    return sum(v.entry_notional * v.fee_base_wad for v in snap.vaults.values() if v.market == market and v.status == 1)


def mark_of(snap: Snapshot, market: int, scale: int, borrow_rate_wad: int, at: int | None = None,
            liquidity_delta: int = 0) -> model.Marking | None:
    """The reference model's mark of ``market``'s books in ``snap`` at block time ``at`` (default: the
    snapshot's): the fee index grows linearly (``index + rate * seconds``) and nothing else moves while no
    transaction touches the pool. None when the snapshot has no price."""
    m = snap.markets[market]
    if m.price is None:
        return None
    index = m.fee_index + borrow_rate_wad * ((snap.timestamp if at is None else at) - snap.timestamp)
    return model.marking(m.liquidity + liquidity_delta, m.open_interest[0], m.open_interest[1], index,
                         fee_weight_of(snap, market), m.reserved, m.price, scale)


def check_marking(snap: Snapshot, scales: list[int], borrow_rates: list[int]) -> None:
    """L1 (LP accounting): each pool's ``totalAssets()`` is the reference model's mark of its books (the
    fee weight rebuilt from the open vaults), to the unit; it is read whenever the oracle answers."""
    for i, m in enumerate(snap.markets):
        if m.price is None or m.total_assets is None:
            if (m.price is None) != (m.total_assets is None):
                raise InvariantViolation("marking", f"pool {i}: price {m.price} but totalAssets {m.total_assets}")
            continue
        expected = mark_of(snap, i, scales[i], borrow_rates[i])
        if expected is None or m.total_assets != expected.total_assets:
            raise InvariantViolation("marking", f"pool {i}: totalAssets {m.total_assets} != model {expected}")


@dataclass(frozen=True)
class Quote:
    """A request as booked: ``amount`` assets (deposit) or shares (redeem) quoted at the mark of its block."""

    deposit: bool
    amount: int
    quote: int
    total_assets: int  # the mark at the request's block, before it
    total_supply: int


def check_quote(q: Quote) -> None:
    """L2: a request's quote is what its amount converts to at the mark of the request's block (rounded
    down): the shares the assets buy, or the assets the shares are worth."""
    convert = model.convert_to_shares if q.deposit else model.convert_to_assets
    expected = convert(q.amount, q.total_assets, q.total_supply)
    if q.quote != expected:
        raise InvariantViolation("quote", f"{'deposit' if q.deposit else 'redemption'} of {q.amount} quoted "
                                          f"{q.quote} != {expected} at the mark {q.total_assets}/{q.total_supply}")


@dataclass(frozen=True)
class Settlement:
    """A settled request: ``amount`` assets (deposit) or shares (redeem), its quote, what it got (shares
    minted or assets paid) and the mark of the settlement's block just before it."""

    deposit: bool
    amount: int
    quote: int
    result: int
    total_assets: int
    total_supply: int  # escrowed shares included, as the pool converts

    @property
    def at_settlement(self) -> int:
        """What the amount converts to at the settlement's mark (rounded down)."""
        convert = model.convert_to_shares if self.deposit else model.convert_to_assets
        return convert(self.amount, self.total_assets, self.total_supply)


def check_worse_of(s: Settlement) -> None:
    """L3 worse-of: a settled deposit mints at most its quote and at most what its assets buy at the
    settlement's marked price; a settled redemption pays at most its quote and at most the shares' marked
    value at settlement ("worse-of"). And exactly the smaller of the two ("settlement": an LP is not
    short-changed either)."""
    what = "deposit minted" if s.deposit else "redemption paid"
    if s.result > s.quote or s.result > s.at_settlement:
        raise InvariantViolation("worse-of", f"{what} {s.result} > min(quote {s.quote}, at settlement "
                                             f"{s.at_settlement})")
    if s.result != min(s.quote, s.at_settlement):
        raise InvariantViolation("settlement", f"{what} {s.result} != min(quote {s.quote}, at settlement "
                                               f"{s.at_settlement})")


@dataclass(frozen=True)
class MarkChange:
    """What an action did to one pool's mark at one price and block time, and what it may have done."""

    market: int
    action: str
    before: int  # the model's mark of the books before, at the action's block time
    after: int  # the contract's totalAssets() after
    realized: Fraction  # the documented change: close fees and open fees (exact), minus keeper pay and LP bad debt
    low: Fraction  # exclusive bounds of (after - before - realized); both 0: exactly 0
    high: Fraction

    @property
    def residue(self) -> Fraction:
        return self.after - self.before - self.realized


def mark_change(action: str, pre: Snapshot, post: Snapshot, market: int, scale: int, borrow_rate_wad: int, *,
                close_fee_wad: int = 0, from_pool: int = 0, borne: int = 0,
                open_fee_wad: int = 0) -> MarkChange | None:
    """The change of ``market``'s mark across one action, both marks at the action's block time (the
    post snapshot's: the action is the only transaction of its block): the mark before from the model on
    the books before (the model is the contract's, ``check_marking``), the mark after as read.

    Closed and liquidated positions (status or size changed) bring ``model.realization_bounds``, the close
    fee ``close_fee_wad * closed size * price`` (exact) counted as realized, keeper pay from the pool and
    bad debt borne by the LPs counted against it. New positions bring ``(-3, 3)`` around their exact open
    fee ``open_fee_wad * entry notional`` (see :func:`ringfence.model.realization_bounds`'s terms: the fee
    weight's floor (-1, 1), the side value's rounding (-2, 2) against the rounded-up entry notional).
    Anything else must leave the mark exactly as it was. None (not checked) when the price is refused,
    the traders' gain is clamped at the reserve before or after, or a position closed above its cap (the
    clamp and the caps are where realizing is meant to move the mark)."""
    t = post.timestamp
    before = mark_of(pre, market, scale, borrow_rate_wad, at=t)
    after = mark_of(post, market, scale, borrow_rate_wad)
    total = post.markets[market].total_assets
    if before is None or after is None or total is None or before.clamped or after.clamped:
        return None
    price = pre.markets[market].price
    if price is None:  # unreachable: `before` exists only with a price
        return None
    index = pre.markets[market].fee_index + borrow_rate_wad * (t - pre.timestamp)
    realized = Fraction(-from_pool - borne)
    gaps: list[int] = []
    low = high = Fraction(0)
    for vault, row in pre.vaults.items():
        if row.market != market:
            continue
        later = post.vaults.get(vault)
        if row.status != 1:
            if later is not None and later.status == 1:  # opened by the action
                realized += Fraction(later.entry_notional * open_fee_wad, WAD)
                low, high = low - 3, high + 3
            continue
        if later is None or (later.status == 1 and later.size == row.size):
            continue
        closed = row.size if later.status != 1 else row.size - later.size
        cap = row.max_profit if later.status != 1 else row.max_profit * closed // row.size
        if model.pnl_down(row.is_long, closed, row.entry_price_wad, price, scale, MAX_UINT128) > cap:
            return None
        realized += Fraction(closed * price * close_fee_wad, scale * WAD)
        gaps.append(index - row.fee_base_wad)
    for vault, later in post.vaults.items():  # a vault opened for the first time
        if later.market == market and vault not in pre.vaults and later.status == 1:
            realized += Fraction(later.entry_notional * open_fee_wad, WAD)
            low, high = low - 3, high + 3
    lo, hi = model.realization_bounds(gaps)
    return MarkChange(market, action, before.total_assets, total, realized, low + lo, high + hi)


def check_neutrality(change: MarkChange | None) -> None:
    """L4 realization neutrality: at one price and block time, an action moves the LPs' mark only by what
    it realizes that the mark did not hold: a close's close fee, an open's open fee, minus the keeper pay
    the pool adds and the bad debt the LPs bear, within the roundings of ``model.realization_bounds``; an
    action that realizes nothing (margin, claims, donations, pause, parameters) not at all."""
    if change is None:
        return
    residue = change.residue
    exact = change.low == change.high == 0
    if (residue != 0) if exact else not change.low < residue < change.high:
        raise InvariantViolation("neutrality", f"{change.action} on pool {change.market} moved the mark "
                                               f"{change.before} -> {change.after}: {float(residue):+.3f} beyond "
                                               f"the realized {float(change.realized):+.3f}, outside "
                                               f"({float(change.low)}, {float(change.high)})")


@dataclass
class LpLedger:
    """The bound of invariant L5 for one LP actor (the plain LP, and an attacker with the same moves plus
    keeper work): its wealth

        W = token balance + Σ_pools (settled shares * P) + pending deposits (assets paid)
            + pending redemptions (quote)

    where ``P = (totalAssets + 1) / (totalSupply + 10**6)`` is the marked share price both ERC-4626
    conversions round (exact rational), never exceeds

        B = W at the start + keeper pay received + Σ_steps Σ_pools shares held * (P_now - P_before).

    Why this is sound (each step keeps ``W - B`` from growing): a step that moves no shares of the actor
    changes ``W`` by ``shares * ΔP``, exactly ``B``'s change. Requesting a deposit turns tokens into a
    pending deposit at the same amount. Settling it mints ``s <= a / P0`` shares (worse-of, ``P0`` the
    mark before it in its block); the pool's price after, ``P1 = (M0 + 1 + a) / (S0 + 10**6 + s)``, gives
    ``s * P1 <= a`` (equivalent to ``s * P0 <= a``), so the new shares are worth at most what was paid.
    Requesting a redemption trades ``s * P`` for a quote ``floor(s * P) <= s * P`` (the request moves
    neither the mark nor the supply); settling it pays at most the quote. Keeper pay is counted in ``B``.
    Roundings all go the pool's way, so no tolerance is needed: ``W <= B`` exactly.

    What it rules out: any path that gives the actor more than its pro-rata share (per share held) of the
    marked value's changes while it held settled shares: the LP skim (docs/security-checklist.md R2: a
    flash deposit, then a close or a liquidation that realizes value a realized-only share price did not
    hold, then a redemption at the realized price), a rounding or conversion in the LP's favour, a
    settlement paying more than its quote, a redemption escaping losses by more than its quote. What it
    does not rule out by itself: a deposit requested just before a known price move (its shares are
    bought at the settlement's mark if that is dearer, which invariant L3 checks, and held through the
    move after); and gains the mark itself misstates (positions beyond their caps, bankrupt positions
    not liquidated yet: the mark counts the aggregate PnL clamped at the whole reserve only). A per
    round trip form (``returned <= deposited * P_redeem_request / P_deposit_settlement``) follows from
    it and L3.
    """

    actor: str
    index: int  # the actor's row in each MarketRow.lps
    start: Fraction | None = None
    keeper_pay: int = 0
    allowance: Fraction = Fraction(0)
    price: dict[int, Fraction] = field(default_factory=dict)
    shares: dict[int, int] = field(default_factory=dict)

    @staticmethod
    def share_price(m: MarketRow) -> Fraction | None:
        return None if m.total_assets is None else model.share_price(m.total_assets, m.total_supply)

    def wealth(self, snap: Snapshot) -> Fraction | None:
        """``W`` of the actor in ``snap`` (None when a pool it holds shares of has no mark)."""
        w = Fraction(snap.holder_balances[self.actor])
        for m in snap.markets:
            lp = m.lps[self.index]
            w += lp.deposit_assets + lp.redeem_quote
            if lp.shares:
                p = self.share_price(m)
                if p is None:
                    return None
                w += lp.shares * p
        return w

    @property
    def bound(self) -> Fraction:
        return (self.start or Fraction(0)) + self.keeper_pay + self.allowance

    def observe(self, snap: Snapshot) -> None:
        """Accrues the held shares' price change since the last observation (per pool with a mark); the
        first observation sets the start."""
        if self.start is None:
            w = self.wealth(snap)
            if w is None:
                return
            self.start = w
        for i, m in enumerate(snap.markets):
            p = self.share_price(m)
            if p is None:
                continue  # no LP move can happen without a price: the shares held stay the same
            if i in self.price:
                self.allowance += self.shares[i] * (p - self.price[i])
            self.price[i] = p
            self.shares[i] = m.lps[self.index].shares


def check_lp_net(ledger: LpLedger, snap: Snapshot) -> None:
    """L5 LP net: the actor's wealth never exceeds its bound (see :class:`LpLedger`). Call after
    ``ledger.observe(snap)``."""
    w = ledger.wealth(snap)
    if w is None or ledger.start is None:
        return
    if w > ledger.bound:
        raise InvariantViolation("lp-net", f"LP actor {ledger.actor} holds {float(w):,.6f} > its bound "
                                           f"{float(ledger.bound):,.6f} (start {float(ledger.start):,.6f}, "
                                           f"keeper pay {ledger.keeper_pay}, held-share gains "
                                           f"{float(ledger.allowance):,.6f})")
