"""The keeper's LP duty: settle every deposit and redemption request as soon as an oracle round published
after it lets it settle (step 5 of :mod:`ringfence.keeper.keeper`)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ringfence.keeper.failures import describe_error
from ringfence.keeper.index import LpRequest, VaultIndex
from ringfence.keeper.report import SettledTx, StepReport, hex_str

if TYPE_CHECKING:
    from ringfence.keeper.config import KeeperConfig

__all__ = ["LpSettlement"]


class LpSettlement:
    """Mixed into :class:`ringfence.keeper.Keeper`: the LP-request half of a pass."""

    index: VaultIndex
    pools: dict[str, Any]
    account: Any
    config: KeeperConfig
    log: logging.LoggerAdapter
    _waiting_logged: set[tuple[str, str, str, int]]

    def _price(self, pool: str, report: StepReport) -> tuple[int, int] | None:  # the keeper's oracle read
        raise NotImplementedError

    def _held_by_pending(self, report: StepReport, withheld: str) -> bool:  # the liquidation half's
        raise NotImplementedError

    def _settle_requests(self, report: StepReport, rounds: dict[str, int | None]) -> None:
        """Settles every pending LP request that an oracle round published after it lets settle."""
        pending = self.index.pending_requests()
        report.lp_pending = len(pending)
        if not pending:
            return
        ready: list[tuple[str, LpRequest]] = []
        for address in sorted({p for p, reqs in self.index.requests.items() if reqs}):
            if address not in self.pools:
                continue
            if address not in rounds:  # no vault in this market: its oracle was not read yet
                read = self._price(address, report)
                rounds[address] = read[1] if read is not None else None
            updated_at = rounds[address]
            if updated_at is None:  # the oracle refused the price (logged): retry next block
                continue
            ready += [(address, r) for r in self.index.ready_requests(address, updated_at)]
        if not ready:
            return
        if self.config.dry_run or self.account is None:
            self.log.warning("dry run: would settle %d LP request(s): %s", len(ready),
                             [f"{r.kind} of {r.controller} in {p}" for p, r in ready])
            return
        if self._held_by_pending(report, f"not settling {len(ready)} LP request(s)"):
            return
        for address, request in ready:
            self._settle_one(address, request, report)

    def _settle_one(self, address: str, request: LpRequest, report: StepReport) -> None:
        from ringfence.errors import RingfenceError, contract_errors

        pool = self.pools[address]
        fn = pool.settleDeposit if request.kind == "deposit" else pool.settleRedeem
        what = f"{request.kind} request of {request.controller} in {address}"
        key = (address, request.kind, request.controller, request.time)
        try:
            with contract_errors():
                fn.call(request.controller, sender=self.account)
        except Exception as exc:  # noqa: BLE001 - sorted below; nothing was sent
            name = exc.name if isinstance(exc, RingfenceError) else None
            if name == "NoRequest":  # settled by someone else; its event is not indexed yet
                self.index.drop_request(address, request.kind, request.controller)
                self.log.debug("%s: already settled", what)
            elif name == "InsufficientLiquidity":
                report.lp_waiting += 1
                if key not in self._waiting_logged:
                    self._waiting_logged.add(key)
                    self.log.warning("%s waits for free liquidity (%s): retried on later passes",
                                     what, describe_error(exc))
            elif name == "RequestNotReady":  # the oracle's round did not reach the pool's view yet
                self.log.debug("%s: not ready yet (%s)", what, describe_error(exc))
            else:
                message = f"settling the {what} would revert ({describe_error(exc)}): retry next block"
                self.log.warning(message)
                report.errors.append(message)
            return
        try:
            with contract_errors():
                receipt = self._transact_settle(address, request.kind, request.controller,
                                                self.config.settle_gas)
        except Exception as exc:  # noqa: BLE001 - retried next block
            message = f"settling the {what} failed ({describe_error(exc)}): retry next block"
            self.log.error(message)
            report.errors.append(message)
            return
        event = pool.DepositSettled if request.kind == "deposit" else pool.RedeemSettled
        logs = list(receipt.decode_logs(event))
        amount = int(logs[0].shares if request.kind == "deposit" else logs[0].assets) if logs else 0
        settled = SettledTx(kind=request.kind, pool=address, controller=request.controller,
                            txn_hash=hex_str(receipt.txn_hash), block=int(receipt.block_number),
                            gas_used=int(receipt.gas_used), amount=amount)
        report.settled.append(settled)
        self.index.drop_request(address, request.kind, request.controller)
        self._waiting_logged.discard(key)
        self.log.info("settled the %s (block %d): %s %d, gas %d", what, settled.block,
                      "shares" if request.kind == "deposit" else "assets", amount, settled.gas_used)

    def _transact_settle(self, pool: str, kind: str, controller: str, gas_limit: int) -> Any:
        """Sends one ``settleDeposit`` / ``settleRedeem`` (a seam for tests and the simulator)."""
        contract = self.pools[pool]
        fn = contract.settleDeposit if kind == "deposit" else contract.settleRedeem
        return fn(controller, sender=self.account, gas_limit=gas_limit)
