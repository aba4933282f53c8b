"""The MarginGuard through the SDK: deploy it, set and cancel top-up policies, open, earmark, fund and
drain reserves, and execute top-ups, every amount in raw units (health WAD, token units).

Re-exported by :mod:`ringfence.sdk`. The policy and the top-up amount are the reference model's
(:class:`ringfence.model.GuardPolicy`, :func:`ringfence.model.top_up_quote`); :meth:`Guard.expected`
computes a vault's next top-up from chain reads with that model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ringfence.abi import at, erc20_abi
from ringfence.chain.contracts import container
from ringfence.errors import contract_errors
from ringfence.model import GuardPolicy, Position, TopUpQuote, top_up_quote
from ringfence.progress import approve_when_short, notify, send

__all__ = ["Guard", "GuardPolicy", "ReserveState", "TopUp"]


@dataclass(frozen=True)
class ReserveState:
    """A reserve as the guard records it: its owner, what it holds and its token."""

    owner: str
    balance: int
    token: str


@dataclass(frozen=True)
class TopUp:
    """One executed top-up, read from its ``ToppedUp`` event."""

    vault: str
    owner: str
    executor: str
    amount: int
    fee: int
    reserve_id: int
    health_after_wad: int
    budget_after: int


def erc20(address: str) -> Any:
    """An ERC-20 contract instance at ``address`` (the standard ABI)."""
    from ape import Contract

    return Contract(address, abi=erc20_abi())


def _address(value: Any) -> str:
    return str(value.address if hasattr(value, "address") else value)


class Guard:
    """One MarginGuard (one per factory)."""

    def __init__(self, contract: Any):
        self.contract = contract

    @classmethod
    def deploy(cls, deployer: Any, factory: Any) -> Guard:
        """Deploys a guard serving ``factory``'s pools."""
        with contract_errors():
            return cls(deployer.deploy(container("MarginGuard"), _address(factory)))

    @classmethod
    def at(cls, address: str) -> Guard:
        return cls(at(container("MarginGuard"), address))

    @property
    def address(self) -> str:
        return str(self.contract.address)

    # ------------------------------------------------------------ owner: policies
    def set_policy(self, owner: Any, vault: str, policy: GuardPolicy) -> Any:
        """Sets (or replaces) ``owner``'s policy for ``vault``; returns the receipt."""
        with contract_errors():
            return send("setPolicy", self.contract.setPolicy, vault, policy.as_tuple(), sender=owner)

    def cancel_policy(self, owner: Any, vault: str) -> Any:
        with contract_errors():
            return send("cancelPolicy", self.contract.cancelPolicy, vault, sender=owner)

    def policy(self, owner: Any, vault: str) -> GuardPolicy:
        """``owner``'s policy for ``vault`` (all zero, ``exists`` false, when none)."""
        return GuardPolicy.from_chain(self.contract.policy(_address(owner), vault))

    def approve_wallet(self, owner: Any, token: Any, amount: int) -> Any:
        """Lets the guard pull up to ``amount`` of ``token`` from ``owner``'s wallet: a standing
        permission, used only by ``owner``'s policies and bounded by their budgets."""
        with contract_errors():
            return erc20(_address(token)).approve(self.address, amount, sender=owner)

    # ------------------------------------------------------------ owner: reserves
    def open_reserve(self, owner: Any, token: Any, vaults: Sequence[str] = ()) -> int:
        """Opens a reserve of ``token`` earmarked to ``vaults``; returns its id."""
        with contract_errors():
            receipt = send("openReserve", self.contract.openReserve, _address(token), list(vaults), sender=owner)
        return int(receipt.decode_logs(self.contract.ReserveOpened)[0].reserveId)

    def earmark(self, owner: Any, reserve_id: int, vaults: Sequence[str], earmarked: bool = True) -> Any:
        with contract_errors():
            return send("earmark", self.contract.earmark, reserve_id, list(vaults), earmarked, sender=owner)

    def deposit_reserve(self, owner: Any, reserve_id: int, amount: int, approve: bool = True) -> Any:
        """Deposits ``amount`` into the reserve (approving the guard for exactly it when short)."""
        with contract_errors():
            if approve:
                token = self.reserve(reserve_id).token
                approve_when_short(erc20(token), owner, self.address, amount, asset=token)
            return send("depositReserve", self.contract.depositReserve, reserve_id, amount, sender=owner)

    def withdraw_reserve(self, owner: Any, reserve_id: int, amount: int, receiver: Any = None) -> Any:
        with contract_errors():
            return send("withdrawReserve", self.contract.withdrawReserve, reserve_id, amount,
                        _address(receiver or owner), sender=owner)

    def reserve(self, reserve_id: int) -> ReserveState:
        raw = self.contract.reserve(reserve_id)
        return ReserveState(owner=str(raw.owner), balance=int(raw.balance), token=str(raw.token))

    def is_earmarked(self, reserve_id: int, vault: str) -> bool:
        return bool(self.contract.isEarmarked(reserve_id, vault))

    # ------------------------------------------------------------ simulations
    def check(self, function: str, *args: Any, sender: Any) -> None:
        """Runs the guard's ``function(*args)`` from ``sender`` as an ``eth_call`` (nothing is sent):
        returns if the transaction would go through, else raises its named error."""
        notify("simulating", function)
        with contract_errors():
            getattr(self.contract, function).call(*args, sender=sender, skip_trace=True)

    # ------------------------------------------------------------ anyone: top-ups
    def quote(self, vault: str) -> tuple[int, int, int]:
        """The guard's own ``(amount, fee, health)`` for ``vault`` now (reverts by name as ``topUp``)."""
        with contract_errors():
            amount, fee, health = self.contract.quote(vault, skip_trace=True)
        return int(amount), int(fee), int(health)

    def expected(self, vault: str, *, now: int | None = None) -> TopUpQuote:
        """The reference model's top-up of ``vault`` from chain reads (position, price, fee index,
        MM, the owner's policy) at ``now`` (default: the pending block's time)."""
        from ape import chain

        pool = at(container("MarginPool"), str(at(container("PositionVault"), vault).pool()))
        position = Position.from_chain(pool.position(vault))
        oracle = at(container("ChainlinkOracle"), str(pool.oracle()))
        policy = self.policy(position.owner, vault)
        return top_up_quote(
            position, int(oracle.price()), int(pool.currentFeeIndex()), int(pool.priceScale()),
            int(pool.params().maintenanceMarginWad), policy, vault=vault, owner=position.owner,
            now=chain.pending_timestamp if now is None else now,
        )

    def top_up(self, executor: Any, vault: str, **tx: Any) -> TopUp:
        """Tops up ``vault`` as ``executor``; returns what its ``ToppedUp`` event says."""
        with contract_errors():
            receipt = self.contract.topUp(vault, sender=executor, **tx)
        return self.top_ups(receipt)[0]

    def top_up_batch(self, executor: Any, vaults: Sequence[str], **tx: Any) -> tuple[int, list[TopUp]]:
        """Tops up those of ``vaults`` that can be; returns how many, and their top-ups."""
        with contract_errors():
            receipt = self.contract.topUpBatch(list(vaults), sender=executor, **tx)
        done = int(receipt.decode_logs(self.contract.BatchToppedUp)[0].done)
        return done, self.top_ups(receipt)

    def top_ups(self, receipt: Any) -> list[TopUp]:
        """The ``ToppedUp`` events of a receipt."""
        return [
            TopUp(vault=str(e.vault), owner=str(e.owner), executor=str(e.executor), amount=int(e.amount),
                  fee=int(e.fee), reserve_id=int(e.reserveId), health_after_wad=int(e.healthAfterWad),
                  budget_after=int(e.budgetAfter))
            for e in receipt.decode_logs(self.contract.ToppedUp)
        ]
