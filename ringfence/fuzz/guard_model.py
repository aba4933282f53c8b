"""The ghost's prediction of MarginGuard top-ups: what ``topUp`` / ``topUpBatch`` will do to a list of
vaults, from the state read just before (a :class:`~ringfence.fuzz.invariants.Snapshot`) and what the
ghost knows of the guard (:class:`~ringfence.fuzz.guard_invariants.GuardGhost`): the contract's checks in its
order, the amount and fee from the reference model (:func:`ringfence.model.top_up_quote`), then the
source's checks (the wallet's allowance and balance, or the reserve's owner, earmark and balance). A
batch runs its vaults one after another: each top-up the ghost predicts is applied (margin, budget,
allowance, balances) before the next vault is predicted."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ringfence import model
from ringfence.errors import RingfenceError
from ringfence.fuzz.guard_invariants import ORACLE_REFUSED, GuardGhost, TopUpOutcome
from ringfence.fuzz.invariants import Snapshot, VaultRow
from ringfence.model import GuardPolicy, MarketParams

NO_POLICY = GuardPolicy(trigger_health_wad=0, target_health_wad=0, max_per_top_up=0, budget=0)


@dataclass(frozen=True)
class TopUpContext:
    """The chain as a top-up at block time ``now`` sees it: the read just before, the markets' current
    parameters and price scales, and who opened each vault."""

    pre: Snapshot
    now: int
    params: list[MarketParams]
    scales: list[int]
    owner_of: dict[str, str]

    def fee_index(self, market: int) -> int:
        """``market``'s fee index at ``now`` (it grows linearly while no transaction touches the pool)."""
        m = self.pre.markets[market]
        return m.fee_index + self.params[market].borrow_rate_wad * (self.now - self.pre.timestamp)

    def health(self, vault: str) -> int | None:
        """The open ``vault``'s health at ``now`` (WAD, rounded down, as the guard reads it); None when it
        is not open or the price is refused."""
        row = self.pre.vaults.get(vault)
        price = self.pre.markets[row.market].price if row is not None else None
        if row is None or row.status != 1 or price is None:
            return None
        position, scale = _position(row, row.margin), self.scales[row.market]
        fees = model.position_fees_up(position, self.fee_index(row.market), scale)
        return model.health_down(position, price, fees, scale, self.params[row.market].maintenance_margin_wad)


def predict_top_ups(vaults: list[str], executor: str, ctx: TopUpContext, ghost: GuardGhost) -> list[TopUpOutcome]:
    """The outcome of each of ``vaults`` topped up by ``executor`` in this order (in one batch, or one
    ``topUp``): a refusal's name (a batch skips the vault) or the top-up's amounts."""
    margins: dict[str, int] = {}  # margins after the predicted top-ups
    budgets: dict[tuple[str, str], int] = {}
    allowances = dict(ghost.allowances)
    balances = dict(ctx.pre.holder_balances)
    reserves = {rid: r.balance for rid, r in ghost.reserves.items()}
    out: list[TopUpOutcome] = []
    for vault in vaults:
        row = ctx.pre.vaults.get(vault)
        owner = ctx.owner_of.get(vault, "")
        policy = ghost.policies.get((owner, vault), NO_POLICY)
        if (owner, vault) in budgets:
            policy = replace(policy, budget=budgets[(owner, vault)])
        outcome = _one(vault, executor, ctx, policy, margins, allowances, balances, reserves, ghost)
        out.append(outcome)
        if outcome.error is not None:
            continue
        total = outcome.amount + outcome.fee
        assert row is not None
        margins[vault] = margins.get(vault, row.margin) + outcome.amount
        budgets[(owner, vault)] = outcome.budget_after
        if outcome.reserve_id:
            reserves[outcome.reserve_id] -= total
        else:
            allowances[owner] -= total
            balances[owner] -= total
        balances[executor] = balances.get(executor, 0) + outcome.fee
    return out


def _one(vault: str, executor: str, ctx: TopUpContext, policy: GuardPolicy, margins: dict[str, int],
         allowances: dict[str, int], balances: dict[str, int], reserves: dict[int, int],
         ghost: GuardGhost) -> TopUpOutcome:
    row = ctx.pre.vaults.get(vault)
    if row is None:  # never opened: no vault deployed at the address
        return TopUpOutcome(vault, "NotAVault")
    if row.status != 1:
        return TopUpOutcome(vault, "PositionNotOpen")
    owner = ctx.owner_of[vault]
    market = ctx.pre.markets[row.market]
    if market.price is None:  # the policy's checks come first, then the price
        if not policy.exists:
            return TopUpOutcome(vault, "NoPolicy")
        if policy.expiry != 0 and ctx.now >= policy.expiry:
            return TopUpOutcome(vault, "PolicyExpired")
        return TopUpOutcome(vault, ORACLE_REFUSED)
    params = ctx.params[row.market]
    position = _position(row, margins.get(vault, row.margin))
    try:
        quote = model.top_up_quote(position, market.price, ctx.fee_index(row.market), ctx.scales[row.market],
                                   params.maintenance_margin_wad, policy, vault=vault, owner=owner, now=ctx.now)
    except RingfenceError as exc:
        return TopUpOutcome(vault, exc.name)
    total = quote.amount + quote.fee
    rid = policy.reserve_id
    if rid == 0:
        if allowances.get(owner, 0) < total:
            return TopUpOutcome(vault, "AllowanceTooLow")
        if balances[owner] < total:
            return TopUpOutcome(vault, "WalletBalanceTooLow")
    else:
        reserve = ghost.reserves.get(rid)
        if reserve is None or reserve.owner != owner:
            return TopUpOutcome(vault, "NotReserveOwner")
        if vault not in reserve.earmarked:
            return TopUpOutcome(vault, "ReserveNotEarmarked")
        if reserves[rid] < total:
            return TopUpOutcome(vault, "ReserveTooLow")
    return TopUpOutcome(vault, None, owner=owner, executor=executor, amount=quote.amount, fee=quote.fee,
                        reserve_id=rid, budget_after=quote.budget_after)


def _position(row: VaultRow, margin: int) -> model.Position:
    return model.Position(size=row.size, entry_price_wad=row.entry_price_wad, margin=margin,
                          max_profit=row.max_profit, fee_base_wad=row.fee_base_wad, is_long=row.is_long)
