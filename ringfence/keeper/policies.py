"""The keeper's index of MarginGuard policies: pure Python, no chain access (like :mod:`ringfence.keeper.index`).

The guard's ``PolicySet`` / ``PolicyCancelled`` events give each (setter, vault) policy; its ``ToppedUp``
events the budget left. A policy acts only when its setter is the vault's owner (the pool's record, fixed:
part of the vault's CREATE2 salt), so the index keeps every setter's policy and picks the owner's, the
owner coming from the vaults' ``PositionOpened`` events (:attr:`ringfence.keeper.index.VaultIndex.owners`).

After a price read, a market's **top-up candidates** are its open vaults whose owner's policy is live
(not expired at the chain's clock, budget above the fee) and whose **top-up price**
(:func:`ringfence.model.top_up_price`: the price at which the vault's health falls below the policy's
trigger, with the fees owed at the keeper's horizon) the price has reached: a long at or below it, a
short at or above it. Fees only raise a long's top-up price and lower a short's, so keying with the
horizon's fees never misses a vault (a few false candidates within the fee drift, and the model's unit
of price either side of the chain's rounded health, are filtered by the confirmation on chain). They
come deepest below their trigger first, relative to the price (comparable across markets).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from ringfence import model
from ringfence.keeper.index import MarketIndex
from ringfence.model.constants import WAD

__all__ = ["GUARD_EVENTS", "PolicyIndex", "TopUpCandidate"]

GUARD_EVENTS = ("PolicySet", "PolicyCancelled", "ToppedUp")


@dataclass(frozen=True, slots=True)
class TopUpCandidate:
    """A vault the price has taken below its policy's trigger (by the index's reckoning)."""

    pool: str
    vault: str
    owner: str
    policy: model.GuardPolicy
    trigger_price_wad: int  # the top-up price at the horizon's fees
    depth_wad: int  # how far past it the price is, relative to the price (WAD): the order


class PolicyIndex:
    """Every policy the guard's events set, by vault and setter."""

    def __init__(self) -> None:
        self.policies: dict[str, dict[str, model.GuardPolicy]] = {}  # vault -> setter -> policy

    def apply(self, name: str, args: Mapping[str, Any]) -> None:
        """One decoded guard event, in chain order."""
        vault, owner = str(args["vault"]), str(args["owner"])
        if name == "PolicySet":
            self.policies.setdefault(vault, {})[owner] = model.GuardPolicy.from_chain(args["policy"])
        elif name == "PolicyCancelled":
            by_owner = self.policies.get(vault)
            if by_owner is not None:
                by_owner.pop(owner, None)
                if not by_owner:
                    del self.policies[vault]
        elif name == "ToppedUp":
            policy = self.policies.get(vault, {}).get(owner)
            if policy is not None:
                self.policies[vault][owner] = replace(policy, budget=int(args["budgetAfter"]))

    def policy(self, vault: str, owner: str | None) -> model.GuardPolicy | None:
        """The policy that acts on ``vault``: its owner's (``None`` when the owner is not known: the
        only policy set for it, if there is exactly one)."""
        by_owner = self.policies.get(vault)
        if not by_owner:
            return None
        if owner:
            return by_owner.get(owner)
        return next(iter(by_owner.values())) if len(by_owner) == 1 else None

    @staticmethod
    def live(policy: model.GuardPolicy, now: int) -> bool:
        """Not expired at ``now`` and with a budget above its fee (the guard's own tests)."""
        return (policy.expiry == 0 or now < policy.expiry) and policy.budget > policy.fee

    def candidates(self, market: MarketIndex, price_wad: int, now: int,
                   owners: Mapping[str, str]) -> list[TopUpCandidate]:
        """The market's open vaults whose live policy the price has triggered (see the module
        docstring), deepest below their trigger first."""
        if not self.policies:
            return []
        horizon_index = market.horizon_fee_index
        out: list[TopUpCandidate] = []
        vaults: Iterable[str] = (self.policies.keys() & market.vaults.keys()
                                 if len(self.policies) < len(market.vaults) else
                                 [v for v in market.vaults if v in self.policies])
        for vault in vaults:
            owner = owners.get(vault, "")
            policy = self.policy(vault, owner)
            if policy is None or not self.live(policy, now):
                continue
            record = market.vaults[vault]
            key = model.top_up_price(record.position(), market.fees_at(record, horizon_index), market.scale,
                                     market.mm_wad, policy.trigger_health_wad)
            past = key - price_wad if record.is_long else price_wad - key
            if past < 0:
                continue
            out.append(TopUpCandidate(pool=market.pool, vault=vault, owner=owner, policy=policy,
                                      trigger_price_wad=key, depth_wad=past * WAD // max(1, price_wad)))
        out.sort(key=lambda c: (-c.depth_wad, c.vault))
        return out

    def __len__(self) -> int:
        return len(self.policies)
