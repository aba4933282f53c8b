"""The keeper's index of open vaults: pure Python, no chain access (unit-testable and benchmarkable).

One :class:`MarketIndex` per pool keeps every open vault's position (what ``PositionOpened``,
``MarginAdded``/``MarginRemoved`` and a re-read after a partial liquidation tell) and two sorted lists,
longs and shorts, ordered by the vault's **liquidation price at the horizon**:

* a long is liquidatable iff ``price < liq``, so after a price update the candidates are the longs
  whose key is above the price — a suffix of the sorted list, found by bisection;
* a short is liquidatable iff ``price > liq``: the shorts whose key is below the price, a prefix.

So a price update costs ``O(log n + k)`` for ``k`` candidates, whatever the number ``n`` of vaults.

Fee drift. Fees grow with the pool's fee index, ``I(t) = I_ref + borrowRate * (t - t_ref)`` (exactly
linear between two parameter changes), and fees only ever raise a long's liquidation price and
lower a short's (``MarginMath.liquidationPrice`` is monotonic in the fees, see
:func:`ringfence.model.liquidation_price`). The key of every vault is therefore computed with the
fees it will owe at a **horizon** ``H`` ahead of the chain's clock: for every ``t <= H`` a long's
true liquidation price is ``<=`` its key and a short's ``>=`` its key, so a vault that is
liquidatable at any time up to the horizon is always among the candidates (never missed); the cost
is a few false candidates within the fee drift of one horizon window, which the on-chain
confirmation (``Lens.liquidatable``) filters out. The keeper rolls the horizon forward (re-keys
every vault, ``O(n log n)``) before the chain's clock gets within ``lead`` seconds of it.

All prices are the exact integers of ``MarginMath`` through :mod:`ringfence.model`.

LP requests. The pools' LPs enter and leave by requests (``DepositRequested``, ``RedeemRequested``)
that anyone may settle once the oracle has published a round after them. :class:`VaultIndex` also
keeps every pending request per pool (:class:`LpRequest`, dated by its block's timestamp, which is
what the pool stores), drops it on ``DepositSettled`` / ``RedeemSettled``, and answers which are
ready at a round's ``updatedAt`` (:meth:`VaultIndex.ready_requests`).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from sortedcontainers import SortedList

from ringfence import model

__all__ = [
    "LpRequest",
    "MarketIndex",
    "VaultIndex",
    "VaultRecord",
    "sorted_list",
]

VaultKey = tuple[int, str]


def sorted_list(items: Iterable[VaultKey] = ()) -> SortedList:
    """A sorted list of ``(key, vault)`` (sortedcontainers: ``O(log n)`` inserts and removals)."""
    return SortedList(items)


@dataclass(slots=True)
class VaultRecord:
    """An open position as the keeper knows it: the fields of :class:`ringfence.model.Position` (the
    pool's ``Position`` without its status and owner) under the same names, and what the index caches."""

    vault: str
    is_long: bool
    size: int
    entry_price_wad: int
    margin: int
    max_profit: int
    fee_base_wad: int
    entry_notional: int = 0  # notional_up(size, entry_price), the base of the fees (cached)
    key: int | None = None  # liquidation price at the horizon (WAD), None until keyed

    @classmethod
    def of(cls, vault: str, position: model.Position) -> VaultRecord:
        """The record of ``vault``'s open ``position``."""
        return cls(vault=vault, is_long=position.is_long, size=position.size,
                   entry_price_wad=position.entry_price_wad, margin=position.margin,
                   max_profit=position.max_profit, fee_base_wad=position.fee_base_wad)

    def position(self) -> model.Position:
        return model.Position(size=self.size, entry_price_wad=self.entry_price_wad, margin=self.margin,
                              max_profit=self.max_profit, fee_base_wad=self.fee_base_wad, is_long=self.is_long)


@dataclass(slots=True)
class LpRequest:
    """A pending LP request of one controller in one pool (at most one of each kind)."""

    kind: str  # "deposit" | "redeem"
    controller: str
    owner: str
    amount: int  # assets paid in (deposit) or shares handed over (redeem)
    quote: int  # the most shares (deposit) or assets (redeem) it can get
    time: int  # the request's block timestamp (the pool's request time)
    block: int = -1

    def ready(self, updated_at: int) -> bool:
        """Whether a round with this ``updatedAt`` lets it settle (the pool's ``RequestNotReady`` test)."""
        return updated_at > self.time


class MarketIndex:
    """The open vaults of one pool, ordered by liquidation price at the horizon, per side.

    Changes (:meth:`upsert`, :meth:`remove`, :meth:`set_market`, :meth:`set_horizon`) are staged and
    applied to the sorted lists by :meth:`commit` (a change of parameters or horizon re-keys the
    whole market once, however many events a catch-up applied); :meth:`candidates` commits first.
    """

    def __init__(self, pool: str, *, scale: int, mm_wad: int, borrow_rate_wad: int, fee_index: int,
                 fee_index_ts: int, horizon_ts: int) -> None:
        self.pool = pool
        self.scale = scale
        self.mm_wad = mm_wad
        self.borrow_rate_wad = borrow_rate_wad
        self.fee_index = fee_index
        self.fee_index_ts = fee_index_ts
        self.horizon_ts = horizon_ts
        self.vaults: dict[str, VaultRecord] = {}
        self._sorted = sorted_list
        self.longs = self._sorted()
        self.shorts = self._sorted()
        self._changed: set[str] = set()
        self._removed: dict[str, VaultRecord] = {}
        self._rekey = False

    # ------------------------------------------------------------------ fee index and keys
    def fee_index_at(self, ts: int) -> int:
        """The pool's fee index at time ``ts`` (never below the reference: the index only grows)."""
        return self.fee_index + self.borrow_rate_wad * max(0, ts - self.fee_index_ts)

    @property
    def horizon_fee_index(self) -> int:
        return self.fee_index_at(self.horizon_ts)

    def fees_at(self, record: VaultRecord, fee_index: int) -> int:
        return model.fees_on_notional_up(record.entry_notional, fee_index, min(record.fee_base_wad, fee_index))

    def liquidation_price(self, record: VaultRecord, fee_index: int) -> int:
        """``MarginMath.positionLiquidationPrice`` of the vault with the fees owed at ``fee_index``."""
        return model.liquidation_price(record.is_long, record.size, record.entry_price_wad, record.margin,
                                       self.fees_at(record, fee_index), self.scale, self.mm_wad)

    def liquidation_price_at(self, record: VaultRecord, ts: int) -> int:
        """The vault's exact liquidation price at time ``ts`` (what the Lens would compute then)."""
        return self.liquidation_price(record, self.fee_index_at(ts))

    def is_liquidatable_at(self, record: VaultRecord, price_wad: int, ts: int) -> bool:
        return model.is_liquidatable(record.is_long, price_wad, self.liquidation_price_at(record, ts))

    # ------------------------------------------------------------------ changes
    def set_market(self, *, scale: int | None = None, mm_wad: int | None = None,
                   borrow_rate_wad: int | None = None, fee_index: int | None = None,
                   fee_index_ts: int | None = None) -> None:
        """New parameters or a new fee-index reference (read at one block): re-keys on commit."""
        if scale is not None:
            self.scale = scale
        if mm_wad is not None:
            self.mm_wad = mm_wad
        if borrow_rate_wad is not None:
            self.borrow_rate_wad = borrow_rate_wad
        if fee_index is not None:
            self.fee_index = fee_index
        if fee_index_ts is not None:
            self.fee_index_ts = fee_index_ts
        self._rekey = True

    def set_horizon(self, horizon_ts: int) -> None:
        if horizon_ts != self.horizon_ts:
            self.horizon_ts = horizon_ts
            self._rekey = True

    def upsert(self, record: VaultRecord) -> None:
        """Adds or replaces the vault's position (the sorted lists follow on commit)."""
        record.entry_notional = model.notional_up(record.size, record.entry_price_wad, self.scale)
        old = self.vaults.get(record.vault)
        if old is not None and record.vault not in self._changed and record.vault not in self._removed:
            self._removed[record.vault] = _copy(old)  # the entry to take out of the lists
        record.key = None
        self.vaults[record.vault] = record
        self._changed.add(record.vault)

    def set_margin(self, vault: str, margin: int) -> bool:
        """The vault's margin after ``MarginAdded``/``MarginRemoved``; False if the vault is unknown."""
        record = self.vaults.get(vault)
        if record is None:
            return False
        self.upsert(VaultRecord(vault=vault, is_long=record.is_long, size=record.size,
                                entry_price_wad=record.entry_price_wad, margin=margin,
                                max_profit=record.max_profit, fee_base_wad=record.fee_base_wad))
        return True

    def remove(self, vault: str) -> bool:
        record = self.vaults.pop(vault, None)
        if record is None:
            return False
        if vault in self._changed:
            self._changed.discard(vault)
        else:
            self._removed.setdefault(vault, record)
        return True

    def commit(self) -> None:
        """Applies the staged changes to the sorted lists."""
        if self._rekey:
            horizon_index = self.horizon_fee_index
            longs: list[Any] = []
            shorts: list[Any] = []
            for record in self.vaults.values():
                record.entry_notional = model.notional_up(record.size, record.entry_price_wad, self.scale)
                record.key = self.liquidation_price(record, horizon_index)
                (longs if record.is_long else shorts).append((record.key, record.vault))
            self.longs, self.shorts = self._sorted(longs), self._sorted(shorts)
            self._rekey = False
            self._changed.clear()
            self._removed.clear()
            return
        if not self._changed and not self._removed:
            return
        for vault, old in self._removed.items():
            if old.key is not None:
                (self.longs if old.is_long else self.shorts).remove((old.key, vault))
        self._removed.clear()
        if self._changed:
            horizon_index = self.horizon_fee_index
            for vault in self._changed:
                record = self.vaults[vault]
                record.key = self.liquidation_price(record, horizon_index)
                (self.longs if record.is_long else self.shorts).add((record.key, vault))
            self._changed.clear()

    # ------------------------------------------------------------------ queries
    def candidates(self, price_wad: int) -> list[str]:
        """The vaults whose liquidation price at the horizon the price has crossed: longs with
        ``key > price``, shorts with ``key < price`` — a superset of the vaults liquidatable at
        ``price_wad`` at any time up to the horizon — deepest under water first (the furthest key
        from the price: those closest to bad debt are liquidated first when gas runs short)."""
        self.commit()
        start = self.longs.bisect_left((price_wad + 1, ""))
        end = self.shorts.bisect_left((price_wad, ""))
        longs = self.longs[start:]
        longs.reverse()  # highest liquidation price first
        shorts = self.shorts[:end]  # lowest first
        if not longs or not shorts:
            return [v for _, v in (longs or shorts)]
        merged = heapq.merge(((k - price_wad, v) for k, v in longs), ((price_wad - k, v) for k, v in shorts),
                             reverse=True)
        return [v for _, v in merged]

    def liquidatable_now(self, price_wad: int, ts: int) -> list[str]:
        """Exact off-chain test over every vault (``O(n)``; for checks and tests)."""
        return [r.vault for r in self.vaults.values() if self.is_liquidatable_at(r, price_wad, ts)]

    def __len__(self) -> int:
        return len(self.vaults)

    def __contains__(self, vault: object) -> bool:
        return vault in self.vaults


def _copy(record: VaultRecord) -> VaultRecord:
    return VaultRecord(vault=record.vault, is_long=record.is_long, size=record.size,
                       entry_price_wad=record.entry_price_wad, margin=record.margin,
                       max_profit=record.max_profit, fee_base_wad=record.fee_base_wad,
                       entry_notional=record.entry_notional, key=record.key)


class VaultIndex:
    """Every market's :class:`MarketIndex`, fed by decoded protocol events (:meth:`apply`).

    Events whose effect cannot be known from the event alone (a partial liquidation: the new size,
    margin, profit cap and fee base) put the vault in :attr:`dirty` for the caller to re-read with
    ``pool.position(vault)`` and :meth:`refresh`; a ``ParamsUpdated`` puts the pool in
    :attr:`dirty_pools` for the caller to re-read the parameters and the fee index.
    """

    VAULT_EVENTS = ("PositionOpened", "MarginAdded", "MarginRemoved", "PositionClosed", "Liquidated",
                    "ParamsUpdated")
    LP_EVENTS = ("DepositRequested", "RedeemRequested", "DepositSettled", "RedeemSettled")
    POOL_EVENTS = VAULT_EVENTS + LP_EVENTS
    REQUEST_KIND: ClassVar[dict[str, str]] = {"DepositRequested": "deposit", "RedeemRequested": "redeem",
                    "DepositSettled": "deposit", "RedeemSettled": "redeem"}

    def __init__(self, *, horizon_ts: int = 0) -> None:
        self.markets: dict[str, MarketIndex] = {}
        self.horizon_ts = horizon_ts
        self.dirty: dict[str, set[str]] = {}  # pool -> vaults to re-read
        self.partial: dict[str, dict[str, int]] = {}  # pool -> vault -> its last partial liquidation's time
        self.dirty_pools: set[str] = set()
        self.pending: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}  # events before add_market
        self.requests: dict[str, dict[tuple[str, str], LpRequest]] = {}  # pool -> (kind, controller) -> request
        self.owners: dict[str, str] = {}  # vault -> its owner (fixed for the vault's life; the guard's policies)

    def add_market(self, pool: str, *, scale: int, mm_wad: int, borrow_rate_wad: int, fee_index: int,
                   fee_index_ts: int) -> MarketIndex:
        market = self.markets.get(pool)
        if market is None:
            market = MarketIndex(pool, scale=scale, mm_wad=mm_wad, borrow_rate_wad=borrow_rate_wad,
                                 fee_index=fee_index, fee_index_ts=fee_index_ts,
                                 horizon_ts=self.horizon_ts)
            self.markets[pool] = market
        else:
            market.set_market(scale=scale, mm_wad=mm_wad, borrow_rate_wad=borrow_rate_wad,
                              fee_index=fee_index, fee_index_ts=fee_index_ts)
        for name, args in self.pending.pop(pool, []):
            self.apply(pool, name, args)
        return market

    def set_horizon(self, horizon_ts: int) -> None:
        self.horizon_ts = horizon_ts
        for market in self.markets.values():
            market.set_horizon(horizon_ts)

    def apply(self, pool: str, name: str, args: Mapping[str, Any], *, timestamp: int | None = None,
              block: int = -1) -> None:
        """One decoded pool event, in chain order. A request event needs its block's ``timestamp``; a
        partial liquidation's, when given, is kept in :attr:`partial` (its fee base is the pool's fee
        index then)."""
        if name in self.LP_EVENTS:
            self._apply_lp(pool, name, args, timestamp, block)
            return
        market = self.markets.get(pool)
        if market is None:  # the market's parameters are not read yet: keep the event for later
            self.pending.setdefault(pool, []).append((name, dict(args)))
            return
        if name == "PositionOpened":
            vault = str(args["vault"])
            market.upsert(VaultRecord(
                vault=vault, is_long=bool(args["isLong"]), size=int(args["size"]),
                entry_price_wad=int(args["entryPriceWad"]), margin=int(args["margin"]),
                max_profit=int(args["maxProfit"]), fee_base_wad=int(args["feeBaseWad"])))
            if args.get("owner"):
                self.owners[vault] = str(args["owner"])
            self._clean(pool, vault)
        elif name in ("MarginAdded", "MarginRemoved"):
            vault = str(args["vault"])
            if not market.set_margin(vault, int(args["marginAfter"])):
                self.dirty.setdefault(pool, set()).add(vault)  # unknown vault: read it
        elif name == "PositionClosed":
            vault = str(args["vault"])
            market.remove(vault)
            self._clean(pool, vault)
        elif name == "Liquidated":
            vault = str(args["vault"])
            if bool(args["full"]):
                market.remove(vault)
                self._clean(pool, vault)
            else:
                self.dirty.setdefault(pool, set()).add(vault)
                if timestamp is not None:
                    self.partial.setdefault(pool, {})[vault] = int(timestamp)
        elif name == "ParamsUpdated":
            self.dirty_pools.add(pool)

    def _apply_lp(self, pool: str, name: str, args: Mapping[str, Any], timestamp: int | None, block: int) -> None:
        kind = self.REQUEST_KIND[name]
        controller = str(args["controller"])
        requests = self.requests.setdefault(pool, {})
        if name.endswith("Settled"):
            requests.pop((kind, controller), None)
            return
        if timestamp is None:
            raise ValueError(f"{name} of {controller} in {pool}: the request's block timestamp is needed")
        amount, quote = (("assets", "quoteShares") if kind == "deposit" else ("shares", "quoteAssets"))
        requests[(kind, controller)] = LpRequest(kind=kind, controller=controller, owner=str(args["owner"]),
                                                 amount=int(args[amount]), quote=int(args[quote]),
                                                 time=int(timestamp), block=int(block))

    def pending_requests(self, pool: str | None = None) -> list[LpRequest]:
        """The pending LP requests of ``pool`` (of every pool when ``None``), oldest first."""
        pools = [pool] if pool is not None else list(self.requests)
        out = [r for p in pools for r in self.requests.get(p, {}).values()]
        out.sort(key=lambda r: (r.time, r.block, r.kind, r.controller))
        return out

    def ready_requests(self, pool: str, updated_at: int) -> list[LpRequest]:
        """The pending requests of ``pool`` a round with this ``updatedAt`` lets settle, oldest first."""
        return [r for r in self.pending_requests(pool) if r.ready(updated_at)]

    def drop_request(self, pool: str, kind: str, controller: str) -> bool:
        """Forgets a request known to be settled (its event may not be indexed yet)."""
        return self.requests.get(pool, {}).pop((kind, str(controller)), None) is not None

    def refresh(self, pool: str, vault: str, position: Any | None) -> None:
        """The vault's position as ``pool.position(vault)`` returned it (``None`` or not open: drop it)."""
        market = self.markets[pool]
        self._clean(pool, vault)
        read = None if position is None else model.Position.from_chain(position)
        if read is None or not read.is_open:
            market.remove(vault)
            return
        if read.owner:
            self.owners[vault] = read.owner
        market.upsert(VaultRecord.of(vault, read))

    def _clean(self, pool: str, vault: str) -> None:
        dirty = self.dirty.get(pool)
        if dirty:
            dirty.discard(vault)
        partial = self.partial.get(pool)
        if partial:
            partial.pop(vault, None)

    def commit(self) -> None:
        for market in self.markets.values():
            market.commit()

    def candidates(self, pool: str, price_wad: int) -> list[str]:
        return self.markets[pool].candidates(price_wad)

    def __len__(self) -> int:
        return sum(len(m) for m in self.markets.values())

