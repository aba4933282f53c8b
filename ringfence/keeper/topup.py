"""The top-up half of a keeper pass (:mod:`ringfence.keeper.keeper`), run before the liquidations: the
vaults whose owner's MarginGuard policy the price has triggered are confirmed on chain, weighed fee
against gas and topped up with gas-sized ``MarginGuard.topUpBatch`` transactions.

1. **Candidates** (:class:`ringfence.keeper.policies.PolicyIndex`): per market, with the price the pass
   read, the open vaults with a live policy (the owner's, unexpired, budget above the fee) whose
   top-up price (:func:`ringfence.model.top_up_price`, fees at the horizon) the price has reached,
   deepest below their trigger first.
2. **Fee against gas**: with ``native_price_wad`` set, a top-up whose fee is below the cost of
   ``top_up_gas`` at ``gas_price`` (else the chain's gas price), in the market's settlement token, is
   skipped (``top_up_unprofitable`` in the report; it stays a candidate on later passes, when the gas
   price may be lower). Without a native price fees are not weighed against gas.
3. **Confirm** each remaining candidate with ``MarginGuard.quote(vault)`` (what ``topUp`` would add and
   pay now; it reverts by name for a healthy vault, a missing, expired or spent policy, a closed vault),
   and weigh the quoted fee again.
4. **Top up** in transactions of at most ``batch_size`` vaults whose gas (``gas_per_tx`` +
   ``top_up_gas_per_batch`` + ``top_up_gas`` a vault) fits under the cap, each simulated first with ``eth_call``: a batch that
   would top up none is not sent; one that would top up only some has each vault simulated alone
   (``topUp``: an allowance or a reserve short names itself) and the failing ones dropped, logged. The
   receipt's ``ToppedUp`` events are the report's; its ``MarginAdded`` events are applied to the index
   at once, so the liquidation pass that follows sees the new margins (a vault that is still
   liquidatable after its top-up is liquidated: the pool's rules decide). ``topUpBatch`` skips the
   vaults that fail on inclusion (another keeper was first): a lost race costs only gas. A top-up that
   runs out of gas inside the batch is skipped the same way, so a batch that did fewer than its
   simulation with its gas nearly all used doubles the gas model (``top_up_gas``); the vaults left are
   candidates again on the next pass.

Top-ups are not sharded: every keeper with a guard may act on every vault (the guard pays the first).
With ``dry_run`` (or no account) the pass logs what it would top up and sends nothing.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ringfence.keeper.config import top_up_gas_cost
from ringfence.keeper.failures import describe_error, gas_suspect, is_revert
from ringfence.keeper.outcome import fmt_units
from ringfence.keeper.policies import PolicyIndex, TopUpCandidate
from ringfence.keeper.report import StepReport, TopUpDone, TopUpTx, hex_str

if TYPE_CHECKING:
    from ringfence.keeper.config import KeeperConfig
    from ringfence.keeper.index import VaultIndex

__all__ = ["TopUps"]


class TopUps:
    """Mixed into :class:`ringfence.keeper.Keeper`: the MarginGuard's top-up pass."""

    chain: Any
    account: Any
    config: KeeperConfig
    log: logging.LoggerAdapter
    pools: dict[str, Any]
    guard: Any
    index: VaultIndex
    policies: PolicyIndex
    _top_up_gas: int

    def gas_cap(self) -> int:  # the liquidation half's gas cap per transaction
        raise NotImplementedError

    def token(self, pool: str) -> tuple[int, str]:  # the liquidation half's token read
        raise NotImplementedError

    def _held_by_pending(self, report: StepReport, withheld: str) -> bool:  # the liquidation half's
        raise NotImplementedError

    def _use_estimates(self) -> bool:  # the liquidation half's choice of eth_estimateGas
        raise NotImplementedError

    def _top_up(self, report: StepReport, prices: dict[str, int], now: int) -> None:
        report.guarded = True
        candidates: list[TopUpCandidate] = []
        for pool, price in prices.items():
            candidates.extend(self.policies.candidates(self.index.markets[pool], price, now, self.index.owners))
        if not candidates:
            return
        candidates.sort(key=lambda c: (-c.depth_wad, c.vault))
        report.top_up_candidates = [c.vault for c in candidates]
        costs: dict[str, int | None] = {}
        due: list[TopUpCandidate] = []
        for c in candidates:
            if c.pool not in costs:
                costs[c.pool] = self._top_up_cost(c.pool)
            if not self._pays(c, c.policy.fee, costs[c.pool], report):
                continue
            quote = self._quote(c.vault)
            if quote is None or not self._pays(c, quote[1], costs[c.pool], report):
                continue
            report.top_up_quotes[c.vault] = quote
            due.append(c)
        report.top_up_due = [c.vault for c in due]
        self.log.info("block %d: %d top-up candidate(s), %d below gas, %d due", report.block, len(candidates),
                      len(report.top_up_unprofitable), len(due))
        if not due:
            return
        if self.config.dry_run or self.account is None:
            self.log.warning("dry run: would top up %d vault(s): %s", len(due), ", ".join(
                f"{c.vault} +{self._units(c.pool, report.top_up_quotes[c.vault][0])} "
                f"(fee {self._units(c.pool, report.top_up_quotes[c.vault][1])})" for c in due))
            return
        if self._held_by_pending(report, "no top-up sent"):
            return
        self._send_top_ups(report, [c.vault for c in due])

    # ------------------------------------------------------------------ fee against gas
    def _gas_price(self) -> int:
        if self.config.gas_price is not None:
            return self.config.gas_price
        try:
            return int(self.chain.provider.gas_price)
        except Exception:  # noqa: BLE001 - a provider without the call: the head's base fee
            return int(getattr(self.chain.blocks.head, "base_fee", 0) or 0)

    def _top_up_cost(self, pool: str) -> int | None:
        """What a top-up's gas costs in the pool's settlement token (None: not weighed)."""
        if self.config.native_price_wad is None:
            return None
        return top_up_gas_cost(self._top_up_gas, self._gas_price(), self.config.native_price_wad,
                               self.token(pool)[0])

    def _pays(self, c: TopUpCandidate, fee: int, cost: int | None, report: StepReport) -> bool:
        if cost is None or fee >= cost:
            return True
        report.top_up_unprofitable.append(c.vault)
        self.log.info("vault %s: top-up fee %s below its gas %s: skipped", c.vault, self._units(c.pool, fee),
                      self._units(c.pool, cost))
        return False

    def _units(self, pool: str, amount: int) -> str:
        decimals, symbol = self.token(pool)
        return f"{fmt_units(amount, decimals)} {symbol}"

    # ------------------------------------------------------------------ confirmation
    def _quote(self, vault: str) -> tuple[int, int] | None:
        """The guard's ``(amount, fee)`` for ``vault`` now; None (logged) when it would refuse it."""
        from ringfence.errors import contract_errors

        try:
            with contract_errors():
                amount, fee, _health = self.guard.quote(vault, skip_trace=True)
        except Exception as exc:  # noqa: BLE001 - VaultHealthy, PolicyExpired, ... : not due
            self.log.debug("vault %s: no top-up (%s)", vault, describe_error(exc))
            return None
        return int(amount), int(fee)

    # ------------------------------------------------------------------ sending
    def _top_ups_per_tx(self, cap: int) -> int:
        by_gas = (cap - self.config.gas_per_tx - self.config.top_up_gas_per_batch) // max(1, self._top_up_gas)
        return max(1, min(self.config.batch_size, by_gas))

    def top_up_model_gas(self, vaults: int) -> int:
        """The gas model's bound for a ``topUpBatch`` of ``vaults`` vaults."""
        return self.config.gas_per_tx + self.config.top_up_gas_per_batch + self._top_up_gas * vaults

    def _send_top_ups(self, report: StepReport, vaults: list[str]) -> None:
        cap = self.gas_cap()
        size = self._top_ups_per_tx(cap)
        for i in range(0, len(vaults), size):
            chunk = vaults[i:i + size]
            try:
                chunk = self._simulate_top_ups(chunk)
                if not chunk:
                    continue
                model = self.top_up_model_gas(len(chunk))
                gas_limit = min(cap, model)
                if self._use_estimates():
                    # never below the model: a node's estimate of a try/catch batch is the least gas at which
                    # the batch does not revert, which is where an inner top-up runs out of gas and is skipped
                    estimate = int(self._estimate_top_ups(chunk) * self.config.gas_margin)
                    gas_limit = min(cap, max(model, estimate))
            except Exception as exc:  # noqa: BLE001 - a revert in the simulation or the estimate
                message = f"topping up {len(chunk)} vault(s) would revert ({describe_error(exc)}): retry next block"
                self.log.warning(message)
                report.errors.append(message)
                continue
            sent = self._send_top_up_batch(chunk, gas_limit, report)
            if sent is not None:
                report.top_ups.append(sent)
                if len(sent.done) < sent.attempted and sent.gas_used > 0.9 * sent.gas_limit:
                    self._top_up_gas *= 2  # an inner top-up ran out of gas (the batch skipped it)
                    self.log.warning("topUpBatch did %d of %d simulated top-ups using %d of %d gas: top-up gas "
                                     "model doubled to %d a vault", len(sent.done), sent.attempted, sent.gas_used,
                                     sent.gas_limit, self._top_up_gas)
                elif sent.gas_used > 0.8 * model:
                    self._top_up_gas = self._top_up_gas * 3 // 2
                    self.log.info("top-up gas model raised to %d a vault (a transaction used %d of %d)",
                                  self._top_up_gas, sent.gas_used, model)

    def _simulate_top_ups(self, vaults: list[str]) -> list[str]:
        """The vaults a ``topUpBatch`` would top up now: all when the simulated batch does them all,
        else those whose own ``topUp`` simulation passes (the others logged); [] when none would."""
        from ringfence.errors import contract_errors

        with contract_errors():
            done = int(self.guard.topUpBatch.call(vaults, sender=self.account))
        if done == len(vaults):
            return vaults
        if done == 0:
            self.log.info("none of %d top-up(s) would go through now (another keeper, or the sources): not sent",
                          len(vaults))
            return []
        kept = []
        for vault in vaults:
            try:
                with contract_errors():
                    self.guard.topUp.call(vault, sender=self.account)
                kept.append(vault)
            except Exception as exc:  # noqa: BLE001 - AllowanceTooLow, ReserveTooLow, ...
                self.log.info("vault %s: top-up would fail (%s): left out", vault, describe_error(exc))
        return kept

    def _estimate_top_ups(self, vaults: list[str]) -> int:
        from ringfence.errors import contract_errors

        with contract_errors():
            return int(self.guard.topUpBatch.estimate_gas_cost(vaults, sender=self.account))

    def _transact_top_ups(self, vaults: list[str], gas_limit: int) -> Any:
        """Sends one ``topUpBatch`` (a seam for tests)."""
        return self.guard.topUpBatch(vaults, sender=self.account, gas_limit=gas_limit)

    def _send_top_up_batch(self, vaults: list[str], gas_limit: int, report: StepReport) -> TopUpTx | None:
        from ringfence.errors import contract_errors

        try:
            with contract_errors():
                receipt = self._transact_top_ups(vaults, gas_limit)
        except Exception as exc:  # noqa: BLE001 - retried next block
            message = f"topUpBatch of {len(vaults)} vault(s) failed ({describe_error(exc)}): retry next block"
            self.log.error(message)
            report.rpc_errors += not is_revert(exc)
            if gas_suspect(exc):
                self._top_up_gas *= 2
                self.log.warning("top-up gas model doubled to %d a vault", self._top_up_gas)
            report.errors.append(message)
            return None
        done = [TopUpDone(vault=str(e.vault), owner=str(e.owner), amount=int(e.amount), fee=int(e.fee),
                          health_after_wad=int(e.healthAfterWad), budget_after=int(e.budgetAfter))
                for e in receipt.decode_logs(self.guard.ToppedUp)]
        sent = TopUpTx(txn_hash=hex_str(receipt.txn_hash), block=int(receipt.block_number), vaults=list(vaults),
                       gas_limit=gas_limit, gas_used=int(receipt.gas_used), attempted=len(vaults), done=done,
                       gas_price=int(getattr(receipt, "gas_price", 0) or 0))
        self._apply_top_up_receipt(receipt)
        for d in done:
            pool = self._pool_of(d.vault)
            self.log.info("topped up vault %s: +%s, fee %s, health %.4f after", d.vault,
                          self._units(pool, d.amount) if pool else d.amount,
                          self._units(pool, d.fee) if pool else d.fee, d.health_after_wad / 1e18)
        self.log.info("sent %s (block %d): topped up %d of %d vault(s); gas %d of %d", sent.txn_hash, sent.block,
                      len(done), sent.attempted, sent.gas_used, gas_limit)
        return sent

    def fees_text(self, sent: TopUpTx) -> str:
        """The fees a top-up transaction earned, in its settlement token (``1.000000 USDC``)."""
        pool = self._pool_of(sent.done[0].vault) if sent.done else None
        return self._units(pool, sent.fees) if pool else str(sent.fees)

    def _pool_of(self, vault: str) -> str | None:
        return next((p for p, m in self.index.markets.items() if vault in m.vaults), None)

    def _apply_top_up_receipt(self, receipt: Any) -> None:
        """The receipt's ``MarginAdded`` (pools) and ``ToppedUp`` (guard) events into the index now (the
        next sync applies them again, to the same values), so the liquidation pass sees the new margins."""
        from ringfence.chain.contracts import contract_type

        margin_added = contract_type("MarginPool").events["MarginAdded"]
        for log in receipt.decode_logs(margin_added):
            pool = next((p for p in self.pools if p.lower() == str(log.contract_address).lower()), None)
            if pool is not None:
                self.index.apply(pool, "MarginAdded", dict(log.event_arguments))
        for log in receipt.decode_logs(self.guard.ToppedUp):
            if str(log.contract_address).lower() == str(self.guard.address).lower():
                self.policies.apply("ToppedUp", dict(log.event_arguments))
        self.index.commit()
