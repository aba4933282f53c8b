"""The protocol's invariants (DESIGN.md) as checks over a snapshot of the chain and a ghost model.

Each check takes plain data, so a canary can feed it a tampered snapshot or ghost and show it fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field


WAD = 10**18


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


@dataclass(frozen=True)
class MarketRow:
    balance: int  # the pool's token balance
    total_assets: int
    total_claimable: int
    reserved: int
    open_interest: tuple[tuple[int, int], tuple[int, int]]  # (long (size, notional), short (...))
    max_withdraw_lp: int
    free_liquidity: int


@dataclass(frozen=True)
class Snapshot:
    holder_balances: dict[str, int]  # actors, pools, funds
    vaults: dict[str, VaultRow]
    markets: list[MarketRow]


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
        expected = m.total_assets + m.total_claimable + ghost.pool_donations[i]
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
    """3. Each pool holds what it reserved for maximum payouts; LPs cannot withdraw into it."""
    for i, m in enumerate(snap.markets):
        if m.total_assets < m.reserved:
            raise InvariantViolation("solvency", f"pool {i}: assets {m.total_assets} < reserved {m.reserved}")
        if m.max_withdraw_lp > m.total_assets - m.reserved:
            raise InvariantViolation("solvency", f"pool {i}: LP may withdraw {m.max_withdraw_lp} of "
                                                 f"{m.total_assets - m.reserved} free")


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
