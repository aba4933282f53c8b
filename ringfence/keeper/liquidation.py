"""Step 4 of a keeper pass (:mod:`ringfence.keeper.keeper`): the confirmed vaults packed into
gas-sized ``Liquidator.liquidateBatch`` transactions, each simulated, sized and sent; what each one
did is read back from its receipt's events (:mod:`ringfence.keeper.outcome`) and logged."""

from __future__ import annotations

import logging
from collections import deque
from typing import TYPE_CHECKING, Any

from ringfence.keeper.failures import describe_error, gas_suspect, is_revert
from ringfence.keeper.outcome import TxOutcome, decode_outcome, fmt_units
from ringfence.keeper.plan import Batches, chunk_batches, count_vaults, split_batches, vaults_per_tx
from ringfence.keeper.report import SentTx, StepReport, hex_str

if TYPE_CHECKING:
    from ringfence.keeper.config import KeeperConfig

__all__ = ["Liquidation"]


class Liquidation:
    """Mixed into :class:`ringfence.keeper.Keeper`: the liquidation half of a pass."""

    chain: Any
    liquidator: Any
    account: Any
    config: KeeperConfig
    log: logging.LoggerAdapter
    pools: dict[str, Any]
    sent: list[SentTx]
    _gas_coefficients: tuple[int, int]
    _outcome_events: dict[str, Any]
    _tokens: dict[str, tuple[int, str]]
    def gas_cap(self) -> int:
        limit = int(self.chain.blocks.head.gas_limit)
        if self.config.max_gas is not None:
            return min(self.config.max_gas, limit)
        return int(limit * self.config.gas_cap_ratio)

    def _pending_transactions(self) -> bool:
        try:
            provider = self.chain.provider
            address = self.account.address
            return int(provider.get_nonce(address, "pending")) > int(provider.get_nonce(address, "latest"))
        except Exception:  # noqa: BLE001 - a provider without a pending view: nothing is in flight
            return False

    def _held_by_pending(self, report: StepReport, withheld: str) -> bool:
        """Whether a transaction of the keeper is still pending; if so the pass sends nothing more, and
        says once what it withheld (``withheld``, e.g. "not sending") in the log and the report."""
        if not self._pending_transactions():
            return False
        message = f"a transaction of {self.account.address} is still pending: {withheld} (next block)"
        if message not in report.errors:
            self.log.warning(message)
            report.errors.append(message)
        return True

    def _use_estimates(self) -> bool:
        if self.config.estimate_gas is not None:
            return self.config.estimate_gas
        # eth_estimateGas is a native call on a node; on the embedded py-evm chain it is a binary
        # search of a dozen executions in Python: there the gas model alone sizes transactions.
        return type(self.chain.provider).__name__ != "LocalProvider"

    def model_gas(self, batches: Batches) -> int:
        """The gas model's upper bound for one transaction (calibrated by receipts)."""
        c = self.config
        per_pool, per_vault = self._gas_coefficients
        return c.gas_per_tx + per_pool * len(batches) + per_vault * count_vaults(batches)

    def _vaults_per_tx(self, cap: int) -> int:
        per_pool, per_vault = self._gas_coefficients
        return vaults_per_tx(self.config.batch_size, cap, per_vault, self.config.gas_per_tx + per_pool)

    def _learn(self, sent: SentTx, model: int) -> None:
        """Raises the gas model when a transaction used more than 80 % of what the model allowed."""
        if sent.gas_used > 0.8 * model:
            per_pool, per_vault = self._gas_coefficients
            self._gas_coefficients = (per_pool * 3 // 2, per_vault * 3 // 2)
            self.log.info("gas model raised to %d per market + %d per vault (a transaction used %d of %d)",
                          *self._gas_coefficients, sent.gas_used, model)

    def _liquidate(self, report: StepReport, confirmed: dict[str, list[str]]) -> None:
        total = sum(len(v) for v in confirmed.values())
        if self.config.dry_run or self.account is None:
            # a real pass tops these up first (and liquidates them only if the top-up leaves them liquidatable)
            topped = set(report.top_up_due)
            plain = {p: [v for v in vs if v not in topped] for p, vs in confirmed.items()}
            now = sum(len(v) for v in plain.values())
            self.log.warning("dry run: would liquidate %d vault(s)%s%s", now,
                             "".join(f", {len(v)} in pool {p}" for p, v in plain.items() if v),
                             f"; {total - now} more only if the top-up above leaves them liquidatable"
                             if total > now else "")
            return
        if self._held_by_pending(report, "not sending"):
            return
        cap = self.gas_cap()
        estimate = self._use_estimates()
        queue: deque[Batches] = deque(chunk_batches(confirmed, self._vaults_per_tx(cap)))
        while queue:
            batches = queue.popleft()
            n = count_vaults(batches)
            model = self.model_gas(batches)
            if model > cap and n > 1 and not estimate:
                queue.extendleft(reversed(split_batches(batches)))
                continue
            try:
                will = self._simulate(batches)
                if will == 0:
                    self.log.info("lost race: none of %d vault(s) is liquidatable any more; not sent", n)
                    report.not_sent_races += n
                    continue
                gas_limit = min(cap, model)
                if estimate:
                    gas_limit = int(self._estimate(batches) * self.config.gas_margin)
                    if gas_limit > cap:
                        if n > 1:
                            self.log.info("%d vaults need %d gas, over the cap %d: splitting", n, gas_limit, cap)
                            queue.extendleft(reversed(split_batches(batches)))
                            continue
                        gas_limit = cap
            except Exception as exc:  # noqa: BLE001 - a revert in the simulation or the estimate
                reason = describe_error(exc)
                if len(batches) > 1:  # find the market that reverts; send the others
                    self.log.info("a batch over %d markets would revert (%s): splitting per market",
                                  len(batches), reason)
                    queue.extendleft(reversed([[b] for b in batches]))
                    continue
                message = (f"market {batches[0][0]}: liquidating {n} vault(s) would revert ({reason}): "
                           f"retry next block")
                self.log.warning(message)
                report.errors.append(message)
                continue
            sent = self._send(batches, gas_limit, report)
            if sent is not None:
                report.sent.append(sent)
                self._learn(sent, model)

    def _args(self, batches: Batches) -> list[tuple[str, list[str]]]:
        return [(pool, list(vaults)) for pool, vaults in batches]

    def _estimate(self, batches: Batches) -> int:
        from ringfence.errors import contract_errors

        with contract_errors():
            return int(self.liquidator.liquidateBatch.estimate_gas_cost(self._args(batches),
                                                                        sender=self.account))

    def _simulate(self, batches: Batches) -> int:
        """How many of the batch's vaults a transaction would liquidate now (``eth_call``); raises
        the contract's error when it would revert."""
        from ringfence.errors import contract_errors

        with contract_errors():
            return int(self.liquidator.liquidateBatch.call(self._args(batches), sender=self.account))

    def _transact(self, args: list[tuple[str, list[str]]], gas_limit: int) -> Any:
        """Sends one ``liquidateBatch`` (a seam for tests)."""
        return self.liquidator.liquidateBatch(args, sender=self.account, gas_limit=gas_limit)

    def _send(self, batches: Batches, gas_limit: int, report: StepReport) -> SentTx | None:
        from ringfence.errors import contract_errors

        n = count_vaults(batches)
        self.log.debug("sending liquidateBatch, gas limit %d: %s", gas_limit, batches)
        try:
            with contract_errors():
                receipt = self._transact(self._args(batches), gas_limit)
        except Exception as exc:  # noqa: BLE001 - the vaults are retried next block
            reason = describe_error(exc)
            message = f"liquidateBatch of {n} vault(s) failed ({reason}): retry next block"
            self.log.error(message)
            report.rpc_errors += not is_revert(exc)
            if gas_suspect(exc):
                # The simulation just passed: a failure without a named error is (almost surely) the
                # gas limit (an inner call out of gas reverts with empty data). Double the model.
                per_market, per_vault = self._gas_coefficients
                self._gas_coefficients = (per_market * 2, per_vault * 2)
                self.log.warning("gas model doubled to %d per market + %d per vault", *self._gas_coefficients)
            report.errors.append(message)
            return None
        events = list(receipt.decode_logs(self.liquidator.BatchLiquidated))
        attempted = sum(int(e.attempted) for e in events)
        liquidated = sum(int(e.liquidated) for e in events)
        sent = SentTx(txn_hash=hex_str(receipt.txn_hash), block=int(receipt.block_number), batches=batches,
                      gas_limit=gas_limit, gas_used=int(receipt.gas_used), attempted=attempted,
                      liquidated=liquidated, outcome=self._outcome(receipt))
        self.sent.append(sent)
        self._log_outcome(sent, len(batches))
        if liquidated < attempted:
            self.log.info("lost race for %d vault(s): already liquidated (or healthy again) on inclusion",
                          attempted - liquidated)
        return sent

    # ------------------------------------------------------------------ what a transaction did
    def _outcome(self, receipt: Any) -> TxOutcome:
        from ringfence.chain.contracts import contract_type

        if not self._outcome_events:
            events = contract_type("MarginPool").events
            self._outcome_events = {n: events[n] for n in ("Liquidated", "KeeperPaid", "BadDebtCovered")}
        return decode_outcome(receipt, self._outcome_events, self.pools)

    def token(self, pool: str) -> tuple[int, str]:
        """``(decimals, symbol)`` of the pool's settlement token (read once)."""
        known = self._tokens.get(pool)
        if known is None:
            from ringfence.sdk import erc20

            token = erc20(str(self.pools[pool].asset()))
            try:
                symbol = str(token.symbol())
            except Exception:  # noqa: BLE001 - a token without a symbol: its address
                symbol = str(token.address)
            known = self._tokens[pool] = (int(token.decimals()), symbol)
        return known

    def _native_symbol(self) -> str:
        try:
            return str(self.chain.provider.network.ecosystem.fee_token_symbol)
        except Exception:  # noqa: BLE001
            return "native"

    def _log_outcome(self, sent: SentTx, markets: int) -> None:
        """One line per vault (full or partial, bonus, bad debt), one per transaction (bonus earned
        per market against the gas paid) and a warning per market where the insurance fund or the
        LPs paid."""
        out = sent.outcome or TxOutcome()
        for v in out.vaults:
            decimals, symbol = self.token(v.pool)
            self.log.info("liquidated vault %s of %s: %s, bonus %s %s%s", v.vault, v.pool,
                          "full" if v.full else "partial", fmt_units(v.bonus, decimals), symbol,
                          f", bad debt {fmt_units(v.bad_debt, decimals)} {symbol}" if v.bad_debt else "")
        bonus = "; ".join(f"{fmt_units(s.bonus, self.token(p)[0])} {self.token(p)[1]} in {p}"
                          for p, s in out.pools.items()) or "none"
        self.log.info("sent %s (block %d): liquidated %d of %d vault(s) (%d full, %d partial) in %d market(s): "
                      "bonus %s; gas %d of %d at %.3f gwei = %s %s", sent.txn_hash, sent.block, sent.liquidated,
                      sent.attempted, out.full, out.partial, markets, bonus, sent.gas_used, sent.gas_limit,
                      out.gas_price / 1e9, fmt_units(out.gas_cost, 18), self._native_symbol())
        for pool, s in out.pools.items():
            if s.bad_debt or s.fund_used or s.from_pool:
                decimals, symbol = self.token(pool)
                self.log.warning("market %s: bad debt %s %s; insurance fund paid %s %s (%s of bonus, %s of bad "
                                 "debt); LPs paid %s %s (%s of bonus, %s of bad debt)", pool,
                                 fmt_units(s.bad_debt, decimals), symbol, fmt_units(s.fund_used, decimals), symbol,
                                 fmt_units(s.from_fund, decimals), fmt_units(s.covered_by_fund, decimals),
                                 fmt_units(s.from_pool + s.borne_by_lps, decimals), symbol,
                                 fmt_units(s.from_pool, decimals), fmt_units(s.borne_by_lps, decimals))
