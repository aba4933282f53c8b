"""The keeper: indexes open vaults from the protocol's events, finds the underwater ones after every
block, confirms them on chain and liquidates them in gas-sized ``Liquidator.liquidateBatch``
transactions; and settles the LPs' deposit and redemption requests as soon as an oracle round allows.

One pass (:meth:`Keeper.step`), on the chain's newest block ``N`` (minus ``confirmations``):

1. **Index** (:meth:`Keeper.sync`): ``PoolCreated`` from the factory and ``PositionOpened``,
   ``MarginAdded``, ``MarginRemoved``, ``PositionClosed``, ``Liquidated``, ``ParamsUpdated`` and the
   LP requests' four events (see 5.) from every pool, fetched with ``eth_getLogs`` in chunks of
   ``chunk_size`` blocks from where the last pass stopped (the start block on the first pass: a
   restart rebuilds everything from events) and decoded against the events' ABIs
   (:mod:`ringfence.keeper.logs`); the blocks that date them are read in one batch
   (:mod:`ringfence.keeper.blocks`). A new pool, or one whose parameters changed, has its
   parameters, price scale and fee index read at block ``N``; the partially liquidated vaults are
   re-read with one ``Lens.vaults`` call per market and chunk (:mod:`ringfence.keeper.reread`; a
   vault the Lens cannot settle is read with ``pool.position(vault)``).
2. **Decide** (:class:`ringfence.keeper.index.MarketIndex`): per market, one oracle read; the
   candidates are the vaults whose liquidation price at the horizon the price has crossed (bisection
   in the market's sorted lists; fee drift up to the horizon included, so none is missed).
3. **Confirm** with ``Lens.liquidatable(pool, vaults)`` in batches of ``batch_size``. An oracle
   that cannot be trusted (stale, sequencer down…) makes the Lens revert: that market is logged and
   retried on the next block. A candidate the Lens rejects although the index says it should be
   liquidatable is re-read from the pool on the next pass (a missed event or a reorg heals itself).
   With a shard ``i/n`` (:mod:`ringfence.keeper.shard`) the confirmed vaults of other shards are left
   to their keeper until they have stayed liquidatable for ``shard_grace`` seconds.
4. **Liquidate**: the confirmed vaults are packed into transactions of at most ``batch_size`` vaults
   whose gas fits under the cap (``max_gas``, else ``gas_cap_ratio`` of the block gas limit) by a
   per-market + per-vault gas model (an upper bound, raised when a receipt comes close to it).
   Each transaction is first simulated with ``eth_call``: a revert is split per market (a stale
   oracle in one market does not hold the others back) and then logged and retried on the next
   block; a simulation that liquidates nothing (another keeper was faster) is not sent. Its gas
   limit is ``gas_margin`` × ``eth_estimateGas`` (over the cap: split in two), or the model's bound
   where estimates are off. A race lost between the simulation and inclusion costs only gas:
   ``liquidateBatch`` skips vaults that are no longer liquidatable. A transaction that fails anyway
   is logged and its vaults retried on the next block (a failure without a named error, i.e. out
   of gas, doubles the gas model first).

Before 3. and 4., with a MarginGuard (``KeeperConfig.guard``), a **top-up pass**
(:mod:`ringfence.keeper.topup`): the guard's ``PolicySet`` / ``PolicyCancelled`` / ``ToppedUp``
events are indexed in the same ``eth_getLogs`` requests (:mod:`ringfence.keeper.policies`); with the
prices of 2., the vaults below their owner's policy trigger are confirmed with ``MarginGuard.quote``,
weighed fee against gas and topped up with gas-sized ``topUpBatch`` transactions, whose
``MarginAdded`` events update the index before the liquidation candidates are taken.

5. **Settle LP requests**: the pools' LPs enter and leave by requests (``requestDeposit``,
   ``requestRedeem``) that anyone may settle once the oracle has published a round after them. The
   index keeps the pending ones (``DepositRequested`` / ``RedeemRequested``, dropped on
   ``DepositSettled`` / ``RedeemSettled``); per market with pending requests, one
   ``oracle.latestPrice()`` read gives the last round's ``updatedAt``, and every request older than
   it is settled (``settleDeposit`` / ``settleRedeem``, simulated first) in that same pass. Settling
   promptly is a safety duty, not a courtesy: it leaves a requester no choice of the round it
   settles on. A redemption the free liquidity cannot pay yet (``InsufficientLiquidity``) stays
   pending, is logged once and retried on every later pass; one settled by someone else
   (``NoRequest``) is dropped.

Idempotence: the keeper keeps no state outside the chain. A vault is only ever sent when the Lens
has just confirmed it open and liquidatable, so a restarted keeper (which rebuilds its index from
the events) never sends a transaction for a vault already liquidated or closed; and no transaction
is sent while one of the account's own is still pending (its nonce ``pending`` above ``latest``),
so a transaction in flight across a restart is not duplicated.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from eth_utils import to_checksum_address

from ringfence.abi import at
from ringfence.chain.contracts import container, contract_type
from ringfence.keeper.blocks import block_times
from ringfence.keeper.config import KeeperConfig
from ringfence.keeper.failures import describe_error, is_revert
from ringfence.keeper.index import VaultIndex
from ringfence.keeper.liquidation import Liquidation
from ringfence.keeper.logs import EventDecoder, Log, get_logs
from ringfence.keeper.policies import GUARD_EVENTS, PolicyIndex
from ringfence.keeper.report import SentTx, StepReport, hex_str
from ringfence.keeper.reread import LensReader, position_of
from ringfence.keeper.settlement import LpSettlement
from ringfence.keeper.shard import Shard
from ringfence.keeper.topup import TopUps

__all__ = ["Keeper"]

logger = logging.getLogger("ringfence.keeper")


class _Named(logging.LoggerAdapter):
    """Prefixes the keeper's name (two keepers may log side by side)."""

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        return f"[{self.extra['keeper']}] {msg}", kwargs  # type: ignore[index]


class Keeper(Liquidation, TopUps, LpSettlement):
    """A liquidation keeper for every market of one factory (see the module docstring)."""

    def __init__(self, factory: Any, *, account: Any = None, lens: Any = None, start_block: int = 0,
                 config: KeeperConfig | None = None, name: str = "keeper", metrics: Any = None) -> None:
        from ape import chain

        self.chain = chain
        self.factory = factory if hasattr(factory, "address") else at(container("PoolFactory"), factory)
        self.liquidator = at(container("Liquidator"), self.factory.liquidator())
        if lens is not None and not hasattr(lens, "address"):
            lens = at(container("Lens"), lens)
        self.lens = lens
        self.account = account
        self.config = config or KeeperConfig()
        self.name = name
        self.log: logging.LoggerAdapter = _Named(logger, {"keeper": name})
        self.start_block = start_block
        self.next_block = start_block
        self.index = VaultIndex()
        self.pools: dict[str, Any] = {}
        self.oracles: dict[str, Any] = {}
        self.sent: list[SentTx] = []
        self._gas_coefficients = (self.config.gas_per_market, self.config.gas_per_vault)
        self._indexed_hash: tuple[int, str] | None = None
        self._lock = threading.Lock()
        self._waiting_logged: set[tuple[str, str, str, int]] = set()  # (pool, kind, controller, time)
        self._block_times: dict[int, int] = {}
        self._outcome_events: dict[str, Any] = {}
        self._tokens: dict[str, tuple[int, str]] = {}
        self._reader: LensReader | None = None
        self.reread = 0  # positions re-read since the keeper started
        index, count = self.config.shard or (0, 1)
        self.shard = Shard(index, count, self.config.shard_grace)
        self.metrics = metrics
        self.guard = at(container("MarginGuard"), self.config.guard) if self.config.guard else None
        self.policies = PolicyIndex()
        self._top_up_gas = self.config.top_up_gas
        pool_events = [contract_type("MarginPool").events[n] for n in VaultIndex.POOL_EVENTS]
        guard_events = [contract_type("MarginGuard").events[n] for n in GUARD_EVENTS] if self.guard else []
        self._pool_decoder = EventDecoder(pool_events)
        self._all_decoder = EventDecoder([contract_type("PoolFactory").events["PoolCreated"], *pool_events,
                                          *guard_events])
        if lens is None:
            self.log.warning("no Lens: candidates are confirmed vault by vault (isLiquidatable)")
        if self.guard is not None and self.config.native_price_wad is None:
            self.log.info("guard %s: top-up fees are not weighed against gas (no native price set)",
                          self.guard.address)

    # ================================================================== indexing
    def _logs(self, addresses: list[str], decoder: EventDecoder, start: int, stop: int) -> list[Log]:
        """The ``decoder``'s events of ``addresses`` in blocks ``start..stop`` (one ``eth_getLogs``),
        in chain order (:mod:`ringfence.keeper.logs`)."""
        raw = get_logs(self.chain.provider, addresses, decoder.topics, start, stop)
        logs = [log for log in map(decoder.decode, raw) if log is not None]
        logs.sort(key=lambda lg: (lg.block_number, lg.log_index))
        return logs

    def _read_market(self, pool: Any, block: int) -> dict[str, int]:
        """Parameters, price scale and fee index of ``pool`` at ``block`` (or later: on a chain that
        cannot read at a past block the fee index is newer than the block's timestamp it is paired
        with, which only overstates the fees, i.e. errs towards more candidates)."""
        from ringfence.sdk import MarketParams

        try:
            raw_params = pool.params(block_identifier=block)
            fee_index = int(pool.currentFeeIndex(block_identifier=block))
        except Exception:  # noqa: BLE001 - a node without that state: read the latest
            raw_params = pool.params()
            fee_index = int(pool.currentFeeIndex())
        params = MarketParams.from_chain(raw_params)
        return {
            "scale": int(pool.priceScale()),
            "mm_wad": params.maintenance_margin_wad,
            "borrow_rate_wad": params.borrow_rate_wad,
            "fee_index": fee_index,
            "fee_index_ts": int(self.chain.blocks[block].timestamp),
        }

    def _add_pool(self, address: Any, block: int) -> None:
        address = to_checksum_address(str(address))
        if address in self.pools:
            return
        pool = at(container("MarginPool"), address)
        self.pools[address] = pool
        self.oracles[address] = at(container("ChainlinkOracle"), pool.oracle())
        market = self._read_market(pool, block)
        self.index.add_market(address, **market)
        self.log.info("indexing market %s (oracle %s, MM %.2f%%)", address, self.oracles[address].address,
                      market["mm_wad"] / 1e16)

    def sync(self, to_block: int | None = None) -> int:
        """Applies every protocol event up to ``to_block`` (default: head minus confirmations) and
        returns how many pool events were applied."""
        if to_block is None:
            to_block = max(0, int(self.chain.blocks.head.number) - self.config.confirmations)
        self._check_reorg(to_block)
        applied = 0
        start = self.next_block
        caught_up_from = start
        while start <= to_block:
            end = min(start + self.config.chunk_size - 1, to_block)
            # One request for the factory and every known pool; a pool created in this chunk has
            # its own events of the chunk fetched in a second one (they all follow its creation).
            sources = [self.factory.address, *self.pools] + ([self.guard.address] if self.guard else [])
            logs = self._logs(sources, self._all_decoder, start, end)
            if self.guard is not None:
                for lg in logs:
                    if lg.event_name in GUARD_EVENTS and _same(lg.contract_address, self.guard.address):
                        self.policies.apply(lg.event_name, lg.event_arguments)
            created = [lg for lg in logs if lg.event_name == "PoolCreated"
                       and _same(lg.contract_address, self.factory.address)]
            if created:
                for lg in created:
                    self._add_pool(lg.event_arguments["pool"], to_block)
                new = [lg.event_arguments["pool"] for lg in created]  # checksummed by the decoder
                logs += self._logs(new, self._pool_decoder, created[0].block_number, end)
                logs.sort(key=lambda lg: (lg.block_number, lg.log_index))
            # The pools' events (addresses checksummed by the decoder), their blocks' times read at once.
            logs = [lg for lg in logs if lg.event_name in VaultIndex.POOL_EVENTS and lg.contract_address in self.pools]
            self._prefetch_block_times([lg.block_number for lg in logs if _dated(lg.event_name)] + [to_block])
            for log in logs:
                when = self._block_time(log.block_number) if _dated(log.event_name) else None
                self.index.apply(log.contract_address, log.event_name, log.event_arguments, timestamp=when,
                                 block=log.block_number)
                applied += 1
            start = end + 1
            self.next_block = start
        self._refresh(to_block)
        self.index.commit()
        if self.next_block > 0:
            self._indexed_hash = (self.next_block - 1, hex_str(self.chain.blocks[self.next_block - 1].hash))
        if to_block - caught_up_from > self.config.chunk_size:
            self.log.info("caught up blocks %d..%d: %d events, %d open vaults in %d market(s)",
                          caught_up_from, to_block, applied, len(self.index), len(self.index.markets))
        return applied

    def _block_time(self, number: int) -> int:
        """A block's timestamp (cached: LP requests are dated by their block, as the pool dates them)."""
        when = self._block_times.get(number)
        if when is None:
            if len(self._block_times) > 4_096:
                self._block_times.clear()
            when = self._block_times[number] = int(self.chain.blocks[number].timestamp)
        return when

    def _prefetch_block_times(self, numbers: list[int]) -> None:
        """Reads the timestamps of the blocks among ``numbers`` not cached yet in one batch request
        (:mod:`ringfence.keeper.blocks`); if that fails, :meth:`_block_time` reads them one by one."""
        missing = sorted(set(numbers).difference(self._block_times))
        if len(missing) < 2:
            return
        if len(self._block_times) + len(missing) > 4_096:
            self._block_times.clear()
        try:
            self._block_times.update(block_times(self.chain.provider, missing))
        except Exception as exc:  # noqa: BLE001 - e.g. a node refusing batches: one by one then
            self.log.debug("block timestamps in one batch refused (%s): read one by one", describe_error(exc))

    def _check_reorg(self, to_block: int) -> None:
        """Rebuilds the index from the start block when the last indexed block is no longer on the
        chain (a reorg deeper than ``confirmations``, or a local chain reverted to a snapshot)."""
        if self._indexed_hash is None:
            return
        number, digest = self._indexed_hash
        try:
            current = hex_str(self.chain.blocks[number].hash) if number <= to_block else None
        except Exception:  # noqa: BLE001 - the block is gone
            current = None
        if current == digest:
            return
        self.log.warning("block %d is no longer the one indexed (reorg or chain reset): rebuilding the index "
                         "from block %d", number, self.start_block)
        self.index = VaultIndex(horizon_ts=self.index.horizon_ts)
        self.policies = PolicyIndex()
        self._block_times.clear()
        self.pools.clear()
        self.oracles.clear()
        self.next_block = self.start_block
        self._indexed_hash = None

    def _refresh(self, block: int) -> None:
        for address in sorted(self.index.dirty_pools):
            market = self._read_market(self.pools[address], block)
            self.index.markets[address].set_market(**market)
            self.log.info("market %s: parameters updated (MM %.2f%%, borrow rate %d/s): re-keyed",
                          address, market["mm_wad"] / 1e16, market["borrow_rate_wad"])
        self.index.dirty_pools.clear()
        for address, dirty in list(self.index.dirty.items()):
            pool = self.pools[address]
            vaults = set(dirty)  # refreshing a vault takes it out of the index's set
            done = self._reread_batched(address, vaults, block)
            for vault in sorted(vaults - done):
                try:
                    position = pool.position(vault, block_identifier=block)
                except Exception:  # noqa: BLE001
                    position = pool.position(vault)
                self.index.refresh(address, vault, position)
                self.log.debug("re-read vault %s of %s", vault, address)
            self.reread += len(vaults)
        self.index.dirty.clear()
        self.index.partial.clear()

    def _reread_batched(self, address: str, vaults: set[str], block: int) -> set[str]:
        """Re-reads the partially liquidated ``vaults`` of a market with ``Lens.vaults`` in one call
        per chunk (:mod:`ringfence.keeper.reread`); returns those done (the others: one by one)."""
        market = self.index.markets[address]
        since = self.index.partial.get(address, {})
        batch = sorted(v for v in vaults if since.get(v, -1) >= market.fee_index_ts)
        if self.lens is None or not batch:
            return set()
        if self._reader is None:
            self._reader = LensReader(self.chain.provider.web3, self.lens.address)
        try:
            views = self._reader.views(address, batch, block)
        except Exception as exc:  # noqa: BLE001 - e.g. a refused price: read them one by one
            self.log.info("market %s: Lens.vaults reverted (%s): re-reading %d vault(s) one by one", address,
                          describe_error(exc), len(batch))
            return set()
        fee_index = market.fee_index_at(self._block_time(block))
        done: set[str] = set()
        for vault, view in zip(batch, views, strict=True):
            position = position_of(view, market.fee_index_at(since[vault]), fee_index, market.scale)
            if position is not None:
                self.index.refresh(address, vault, position or None)
                done.add(vault)
        return done

    def _roll_horizon(self, now_ts: int) -> None:
        if self.index.horizon_ts < now_ts + self.config.horizon_lead:
            self.index.set_horizon(now_ts + self.config.horizon)
            self.log.debug("horizon rolled to %d (chain time %d)", self.index.horizon_ts, now_ts)

    # ================================================================== one pass
    def step(self) -> StepReport:
        """One pass over the newest block: index, decide, confirm, liquidate, settle the LP requests a
        new oracle round made ready. Never raises for a market-level problem (a revert is logged and
        retried on the next block)."""
        if not self._lock.acquire(blocking=False):
            self.log.info("previous pass still running: skipping this block")
            return StepReport(skipped=True)
        try:
            report = self._step()
        except Exception as exc:
            if self.metrics is not None:
                self.metrics.step_failed(rpc=not is_revert(exc))
            raise
        finally:
            self._lock.release()
        if self.metrics is not None:
            self.metrics.step_done(report, self)
        return report

    def _step(self) -> StepReport:
        started = time.perf_counter()
        head = self.chain.blocks.head
        block = max(0, int(head.number) - self.config.confirmations)
        now = int(head.timestamp)
        self._roll_horizon(now)
        reread = self.reread
        self.sync(block)
        report = StepReport(block=block, timestamp=now, indexed=len(self.index), reread=self.reread - reread,
                            sync_seconds=time.perf_counter() - started)
        rounds: dict[str, int | None] = {}  # pool -> updatedAt of the price read (None: refused, logged)
        prices: dict[str, int] = {}
        for address, market in self.index.markets.items():
            if not len(market):
                continue
            rounds[address] = None
            read = self._price(address, report)
            if read is None:
                continue
            prices[address], rounds[address] = read
            report.prices[address] = prices[address]
        if self.guard is not None:  # top-ups first: a vault saved by its policy is not liquidated
            top_up_started = time.perf_counter()
            self._top_up(report, prices, now)
            report.top_up_seconds = time.perf_counter() - top_up_started
        for address, price in prices.items():
            market = self.index.markets[address]
            candidates = market.candidates(price)
            if not candidates:
                continue
            report.candidates[address] = candidates
            flags = self._confirm(address, candidates, report)
            if flags is None:
                continue
            confirmed = [v for v, ok in zip(candidates, flags, strict=True) if ok]
            rejected = [v for v, ok in zip(candidates, flags, strict=True) if not ok]
            self._check_rejected(address, rejected, price, now)
            self.log.info("block %d: market %s at %s: %d candidate(s), %d liquidatable",
                          block, address, _fmt_wad(price), len(candidates), len(confirmed))
            if confirmed:
                report.confirmed[address] = confirmed
        send, report.deferred = self.shard.split(report.confirmed, now)
        if report.deferred:
            self.log.info("shard %d/%d: %d liquidatable vault(s) of other shards left to their keeper (grace %d s)",
                          self.shard.index, self.shard.count, sum(map(len, report.deferred.values())),
                          self.shard.grace)
        report.decision_seconds = time.perf_counter() - started - report.sync_seconds - report.top_up_seconds
        if send:
            self._liquidate(report, send)
        self._settle_requests(report, rounds)
        report.seconds = time.perf_counter() - started
        return report

    def _price(self, pool: str, report: StepReport) -> tuple[int, int] | None:
        """``(price WAD, updatedAt)`` of the market's oracle, None (logged) when it refuses the price."""
        from ringfence.errors import contract_errors

        try:
            with contract_errors():
                price, updated_at = self.oracles[pool].latestPrice()
                return int(price), int(updated_at)
        except Exception as exc:  # noqa: BLE001 - logged, retried next block
            message = f"market {pool}: no trustworthy price ({describe_error(exc)}): retry next block"
            self.log.warning(message)
            report.errors.append(message)
            report.rpc_errors += not is_revert(exc)
            return None

    def _confirm(self, pool: str, vaults: list[str], report: StepReport) -> list[bool] | None:
        """The Lens's verdict on each vault, in order; None when the market cannot be read now."""
        from ringfence.errors import contract_errors

        flags: list[bool] = []
        try:
            with contract_errors():
                for i in range(0, len(vaults), self.config.batch_size):
                    chunk = vaults[i:i + self.config.batch_size]
                    if self.lens is not None:
                        flags.extend(bool(f) for f in self.lens.liquidatable(pool, chunk))
                    else:
                        flags.extend(self._vault_liquidatable(v) for v in chunk)
        except Exception as exc:  # noqa: BLE001
            message = f"market {pool}: confirmation reverted ({describe_error(exc)}): retry next block"
            self.log.warning(message)
            report.errors.append(message)
            report.rpc_errors += not is_revert(exc)
            return None
        return flags

    def _vault_liquidatable(self, vault: str) -> bool:
        from ape.exceptions import ContractLogicError

        from ringfence.errors import translate

        try:
            return bool(at(container("PositionVault"), vault).isLiquidatable())
        except ContractLogicError as exc:
            if translate(exc).name in ("PositionNotOpen", "UnknownVault"):
                return False
            raise

    def _check_rejected(self, pool: str, rejected: list[str], price: int, now: int) -> None:
        """A candidate the Lens rejected is expected within the fee drift of the horizon; one the
        index says is liquidatable now means the index is out of date: re-read it next pass."""
        market = self.index.markets[pool]
        for vault in rejected:
            record = market.vaults.get(vault)
            if record is not None and market.is_liquidatable_at(record, price, now):
                self.log.info("vault %s: index disagrees with the Lens: re-reading its position", vault)
                self.index.dirty.setdefault(pool, set()).add(vault)

    # ================================================================== running
    def run(self, *, poll_interval: float = 2.0, max_steps: int | None = None,
            stop: Callable[[], bool] | None = None, heartbeat: float = 600.0) -> None:
        """Follows the chain: one :meth:`step` per new block (an unexpected error is logged and the
        block retried on the next one) until ``stop()`` or ``max_steps`` passes. A pass that found
        something is summarised in the log, and so is a quiet one every ``heartbeat`` seconds."""
        last: int | None = None
        steps = 0
        last_beat = time.monotonic()
        while not (stop and stop()) and (max_steps is None or steps < max_steps):
            try:
                head = int(self.chain.blocks.head.number)
            except Exception as exc:  # noqa: BLE001 - node hiccup
                self.log.warning("cannot read the head (%s): retrying", describe_error(exc))
                if self.metrics is not None:
                    self.metrics.rpc_error()
                time.sleep(poll_interval)
                continue
            if head != last:
                try:
                    report = self.step()
                    busy = report.candidates or report.errors or report.sent or report.settled
                    if busy or time.monotonic() - last_beat >= heartbeat:
                        self.log.info(report.summary())
                        last_beat = time.monotonic()
                except Exception:
                    self.log.exception("pass on block %d failed: retrying on the next block", head)
                last = head
                steps += 1
            else:
                time.sleep(poll_interval)

    def indexed_vaults(self) -> dict[str, set[str]]:
        """Every open vault the index holds, per pool."""
        return {pool: set(market.vaults) for pool, market in self.index.markets.items()}


def _dated(event_name: str) -> bool:
    """Events applied with their block's timestamp: LP requests (their request time) and
    liquidations (a partial one's fee base is the pool's fee index then)."""
    return event_name.endswith("Requested") or event_name == "Liquidated"


def _same(a: Any, b: Any) -> bool:
    return str(a).lower() == str(b).lower()


def _fmt_wad(value: int) -> str:
    return f"{value / 1e18:,.4f}"
