"""The factory's owner and guardian actions on a market, as the tooling sends them: who holds which
role, pausing and unpausing opening (guardian or owner, at once), a parameter change through the
owner delay (queued, then executed once ``delay`` seconds have passed: ``docs/trust.md``), and taking
over a factory handed to you (``acceptOwnership``, the second step of ``Ownable2Step``).

New parameters are checked against the factory's hard bounds
(:func:`ringfence.deploy.preflight.param_violation`, its mirror) before anything is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from ringfence.abi import at
from ringfence.chain.contracts import container
from ringfence.deploy.markets_file import HUMAN_PARAMS, MarketSpec, market_params
from ringfence.deploy.preflight import describe_violation, human_value, param_violation
from ringfence.errors import contract_errors
from ringfence.model import MarketParams
from ringfence.progress import notify, send

__all__ = ["Governance", "ParamsRefused", "Roles"]

ZERO = "0x" + "00" * 20


class ParamsRefused(ValueError):
    """New parameters the factory would refuse (its bound, in the markets file's units), or a bad
    ``key=value``."""


@dataclass(frozen=True)
class Roles:
    owner: str
    pending_owner: str | None
    guardian: str
    delay: int

    def of(self, address: str) -> list[str]:
        """The roles ``address`` holds (``owner``, ``guardian``, ``pending owner``)."""
        a = address.lower()
        held = [name for name, who in (("owner", self.owner), ("guardian", self.guardian),
                                       ("pending owner", self.pending_owner)) if who and who.lower() == a]
        return held


class Governance:
    """The factory of ``market`` (a :class:`ringfence.sdk.Market`) and its actions on that market."""

    def __init__(self, market: Any):
        self.market = market
        self.factory = at(container("PoolFactory"), str(market.pool.factory()))

    def roles(self) -> Roles:
        pending = str(self.factory.pendingOwner())
        return Roles(owner=str(self.factory.owner()), pending_owner=None if pending == ZERO else pending,
                     guardian=str(self.factory.guardian()), delay=int(self.factory.delay()))

    def _call(self, function: str, *args: Any, sender: Any) -> Any:
        """``factory.function(*args)`` simulated (``eth_call``), then sent; returns the receipt."""
        method = getattr(self.factory, function)
        notify("simulating", function)
        with contract_errors():
            method.call(*args, sender=sender, skip_trace=True)
            return send(function, method, *args, sender=sender)

    def set_paused(self, caller: Any, paused: bool) -> Any:
        return self._call("setPaused", self.market.address, paused, sender=caller)

    def accept_ownership(self, caller: Any) -> Any:
        return self._call("acceptOwnership", sender=caller)

    # ---------------------------------------------------------------- parameters (delayed)
    def pending_params(self) -> tuple[MarketParams | None, int]:
        """The market's queued parameters and the time they may be executed from, or ``(None, 0)``."""
        params, eta = self.factory.pendingParams(self.market.address)
        return (MarketParams.from_chain(params) if int(eta) else None), int(eta)

    def changed_params(self, changes: Mapping[str, str], market_id: str) -> MarketParams:
        """The market's parameters with ``changes`` (markets-file keys and units, ``initial_margin:
        12%``) applied, checked against the factory's bounds (``ParamsRefused`` names the first
        broken one, in the same units)."""
        current = self.market.params()
        overridden = {name for key, name, _ in HUMAN_PARAMS if key in changes} | set(changes)
        # Amount fields share their name with their markets-file key (in whole tokens): given as such.
        amounts = {name for key, name, kind in HUMAN_PARAMS if kind == "amount"}
        human: dict[str, Any] = {
            f.name: human_value(f.name, getattr(current, f.name), self.market.decimals) if f.name in amounts
            else getattr(current, f.name)
            for f in fields(MarketParams) if f.name != "asset_decimals" and f.name not in overridden}
        human.update(changes)
        try:
            new = market_params(human, self.market.decimals, where=f"market {market_id}")
        except Exception as exc:  # noqa: BLE001 - DeployError: a bad key or value
            raise ParamsRefused(str(exc)) from None
        if new == current:
            raise ParamsRefused(f"market {market_id}: the parameters are unchanged")
        cap = int(self.factory.maxKeeperBonusMin(self.market.address))
        bound = param_violation(new, cap)
        if bound is not None:
            spec = MarketSpec(id=market_id, name="", symbol="", token="", oracle=None,  # type: ignore[arg-type]
                              params=changes)
            raise ParamsRefused(describe_violation(spec, bound, self.market.decimals))
        return new

    def queue_params(self, owner: Any, params: MarketParams) -> int:
        """Queues ``params``; returns the time from which they may be executed."""
        receipt = self._call("queueParams", self.market.address, params.as_tuple(), sender=owner)
        return int(receipt.decode_logs(self.factory.ParamsQueued)[0].eta)

    def execute_params(self, owner: Any) -> Any:
        return self._call("executeParams", self.market.address, sender=owner)

    def cancel_params(self, owner: Any) -> Any:
        return self._call("cancelParams", self.market.address, sender=owner)
