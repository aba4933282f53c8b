"""The MarginGuard's top-up: the owner's :class:`GuardPolicy` and :func:`top_up_quote`, what
``MarginGuard.topUp`` adds to a vault and pays its executor, with the contract's checks in its order
and its errors.

Health is ``equity / (MM * notional)`` rounded down (``MarginMath.healthDown``, :func:`health_down`).
Adding ``x`` to the margin adds ``x`` to the equity and changes neither the requirement ``R`` nor the
fees, so the least ``x`` with ``floor((e + x) * WAD / R) >= target`` is ``ceil(target * R / WAD) - e``
(rounded up: in the vault's favour). It is then capped by the policy's most per top-up and by the
budget left after the fee (the fee is counted in the budget).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cache
from typing import Any

from ringfence.errors import error_class
from ringfence.model.constants import MAX_UINT256, WAD
from ringfence.model.errors import ModelError
from ringfence.model.evm import _uint
from ringfence.model.margin_math import mul_div_down, mul_div_up, notional_ratio_up
from ringfence.model.position import equity_down, position_fees_up, position_liquidation_price
from ringfence.model.structs import Position, struct_values
from ringfence.solidity import abi_struct, snake_case

__all__ = [
    "MAX_FEE_BPS",
    "POLICY_FIELDS",
    "BudgetExhausted",
    "ExpiryInPast",
    "FeeTooHigh",
    "GuardPolicy",
    "NoPolicy",
    "PolicyExpired",
    "TargetNotAboveTrigger",
    "TopUpQuote",
    "VaultHealthy",
    "ZeroMaxPerTopUp",
    "top_up_price",
    "top_up_quote",
]

MAX_FEE_BPS = 1_000
"""``MarginGuard.MAX_FEE_BPS``: a policy's fee is at most a tenth of its most per top-up."""
_ZERO_ADDRESS = "0x" + "00" * 20


class NoPolicy(ModelError, error_class("NoPolicy")):  # type: ignore[misc]
    """The vault's owner has no policy for it."""

    argument_names = ("owner", "vault")


class PolicyExpired(ModelError, error_class("PolicyExpired")):  # type: ignore[misc]
    """The policy's expiry has passed (``now >= expiry``)."""

    argument_names = ("vault", "expiry")


class VaultHealthy(ModelError, error_class("VaultHealthy")):  # type: ignore[misc]
    """Health is not below the trigger."""

    argument_names = ("vault", "health", "trigger")


class BudgetExhausted(ModelError, error_class("BudgetExhausted")):  # type: ignore[misc]
    """The budget left cannot pay more than the fee."""

    argument_names = ("budget", "fee")


class TargetNotAboveTrigger(ModelError, error_class("TargetNotAboveTrigger")):  # type: ignore[misc]
    """A policy whose target health is not above its trigger."""

    argument_names = ("trigger", "target")


class ZeroMaxPerTopUp(ModelError, error_class("ZeroMaxPerTopUp")):  # type: ignore[misc]
    """A policy whose most per top-up is zero."""


class FeeTooHigh(ModelError, error_class("FeeTooHigh")):  # type: ignore[misc]
    """A policy whose fee is above a tenth of its most per top-up."""

    argument_names = ("fee", "max")


class ExpiryInPast(ModelError, error_class("ExpiryInPast")):  # type: ignore[misc]
    """A policy whose expiry is set and not after now."""

    argument_names = ("expiry",)


@cache
def _policy_widths() -> dict[str, int]:
    return {snake_case(name): int(kind[4:]) for name, kind in abi_struct("Policy")}


@dataclass(frozen=True, slots=True, kw_only=True)
class GuardPolicy:
    """The Solidity ``Policy`` struct, field for field in declaration order (raw units: health WAD,
    amounts in the settlement token's units, ``expiry`` unix seconds or 0, ``reserve_id`` 0 for the
    owner's wallet)."""

    trigger_health_wad: int
    target_health_wad: int
    expiry: int = 0
    fee: int = 0
    max_per_top_up: int
    budget: int
    reserve_id: int = 0

    def __post_init__(self) -> None:
        for name, bits in _policy_widths().items():
            _uint(name, getattr(self, name), bits)

    def as_tuple(self) -> tuple[int, ...]:
        """The struct as ``setPolicy`` takes it."""
        return tuple(getattr(self, name) for name in POLICY_FIELDS)

    @classmethod
    def from_chain(cls, raw: Any) -> GuardPolicy:
        """From the struct as the guard returns it (or an event's mapping, or a tuple)."""
        values = struct_values(POLICY_FIELDS, raw)
        return cls(**{name: int(v) for name, v in zip(POLICY_FIELDS, values, strict=True)})

    @property
    def exists(self) -> bool:
        """A set policy has a target above zero (``setPolicy`` refuses target <= trigger)."""
        return self.target_health_wad != 0

    def check(self, now: int) -> None:
        """``setPolicy``'s checks, in its order: raises what it would revert with."""
        if self.target_health_wad <= self.trigger_health_wad:
            raise TargetNotAboveTrigger(self.trigger_health_wad, self.target_health_wad)
        if self.max_per_top_up == 0:
            raise ZeroMaxPerTopUp()
        max_fee = self.max_per_top_up * MAX_FEE_BPS // 10_000
        if self.fee > max_fee:
            raise FeeTooHigh(self.fee, max_fee)
        if self.expiry != 0 and self.expiry <= now:
            raise ExpiryInPast(self.expiry)


POLICY_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(GuardPolicy))


@dataclass(frozen=True, slots=True)
class TopUpQuote:
    """One top-up: the margin added, the executor's fee, the health before and after (WAD, rounded
    down), the exact amount the target needs before the caps, and the budget left after it."""

    amount: int
    fee: int
    health_wad: int
    health_after_wad: int
    needed: int
    budget_after: int

    @property
    def capped(self) -> bool:
        """The caps (most per top-up, budget) cut the amount short of the target."""
        return self.amount < self.needed


def _health(equity: int, requirement: int) -> int:
    if requirement == 0:
        return MAX_UINT256
    return 0 if equity <= 0 else mul_div_down(equity, WAD, requirement)


def top_up_quote(
    position: Position,
    price_wad: int,
    fee_index_wad: int,
    scale: int,
    mm_wad: int,
    policy: GuardPolicy,
    *,
    vault: str = _ZERO_ADDRESS,
    owner: str = _ZERO_ADDRESS,
    now: int = 0,
) -> TopUpQuote:
    """What ``MarginGuard.topUp`` does to an open ``position`` at ``price_wad`` and ``fee_index_wad``
    (``mm_wad`` the market's maintenance margin) under ``policy`` at time ``now``. Raises
    :class:`NoPolicy`, :class:`PolicyExpired`, :class:`VaultHealthy` or :class:`BudgetExhausted` as the
    contract reverts (the source's checks, allowance or reserve, are the chain's)."""
    if not policy.exists:
        raise NoPolicy(owner, vault)
    if policy.expiry != 0 and now >= policy.expiry:
        raise PolicyExpired(vault, policy.expiry)
    fees = position_fees_up(position, fee_index_wad, scale)
    requirement = notional_ratio_up(position.size, price_wad, mm_wad, scale)
    equity = equity_down(position, price_wad, fees, scale)
    health = _health(equity, requirement)
    if health >= policy.trigger_health_wad:
        raise VaultHealthy(vault, health, policy.trigger_health_wad)
    if policy.budget <= policy.fee:
        raise BudgetExhausted(policy.budget, policy.fee)
    needed = mul_div_up(requirement, policy.target_health_wad, WAD) - equity
    amount = min(needed, policy.max_per_top_up, policy.budget - policy.fee)
    return TopUpQuote(
        amount=amount,
        fee=policy.fee,
        health_wad=health,
        health_after_wad=_health(equity + amount, requirement),
        needed=needed,
        budget_after=policy.budget - amount - policy.fee,
    )


def top_up_price(position: Position, fees: int, scale: int, mm_wad: int, trigger_health_wad: int) -> int:
    """The price at which ``position`` (owing ``fees``) falls below the policy's trigger, in WAD: a long
    is topped up below it, a short above it (the fees and the time they accrue held fixed).

    Health below ``T`` is ``equity < T * MM * notional``: the liquidation boundary of
    :func:`~ringfence.model.liquidation_price` with the ratio ``T * MM`` rounded **up** (towards an
    earlier top-up), so the figure is the liquidation price a top-up keeps the vault away from,
    moved by the trigger. Next to it the chain's health can still sit on the other side of the trigger by
    its own rounding (an asset unit of equity and of requirement: about a billionth of the price);
    keepers use it to order their watch list and confirm with :func:`top_up_quote`. A long whose
    ratio ``T * MM`` is at least 1 is below its trigger at every price (``2**256 - 1``).
    """
    ratio = mul_div_up(mm_wad, trigger_health_wad, WAD)
    if position.is_long and ratio >= WAD:
        return MAX_UINT256
    return position_liquidation_price(position, fees, scale, ratio)
