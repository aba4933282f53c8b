"""An account's vaults in one market, open and closed, as a wallet shows them: found from the pool's
``PositionOpened`` events (searched :data:`LOOKBACK` blocks back from the head) and from the vault
addresses of the account's first vault numbers (computed locally, read in batches), so that a vault
opened before the searched blocks is still found while its numbers are contiguous from 0.

For each vault: its state at the oracle price when open (or what can be shown without a price), the
last close or liquidation when closed (from the same events), and the credit a full liquidation left
to claim (``pool.claim``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ringfence.errors import RingfenceError
from ringfence.model import Position

__all__ = ["LOOKBACK", "VaultRecord", "account_vaults", "find_vaults", "pool_events", "vault_record"]

LOOKBACK = 50_000
"""Blocks searched back from the head for a pool's events."""

_NONCE_BATCH = 16
_NONE, _OPEN = 0, 1


@dataclass(frozen=True)
class VaultRecord:
    """One vault of an account. ``status``: ``open``, ``closed`` (by its owner) or ``liquidated``
    (in full; a partial liquidation leaves the position open). ``state`` is the vault's
    :class:`ringfence.sdk.VaultState` when open and the oracle gives a price, else ``None`` (then
    ``price_refused`` says why and ``position`` holds what is known without a price)."""

    vault: str
    pool: str
    owner: str
    nonce: int | None
    status: str
    position: Position
    state: Any = None
    price_refused: str | None = None
    last_close: dict[str, Any] | None = None  # the last PositionClosed: price_wad, pnl, fees, payout, block
    last_liquidation: dict[str, Any] | None = None  # the last Liquidated event
    claimable: int = 0


def pool_events(market: Any, event: str, lookback: int = LOOKBACK, **topics: Any) -> list[Any]:
    """The pool's ``event`` logs matching ``topics`` in the last ``lookback`` blocks, oldest first
    (none if the node will not search its logs)."""
    from ape import chain

    try:
        head = chain.blocks.height
        found = getattr(market.pool, event).range(max(0, head - lookback), head + 1, search_topics=topics)
        return sorted(found, key=lambda log: (int(log.block_number), int(log.log_index)))
    except Exception:  # noqa: BLE001 - a node without log search: the nonce scan still finds vaults
        return []


def _statuses(market: Any, vaults: list[str]) -> list[int]:
    """The positions' status (0 never used, 1 open, 2 closed) of ``vaults``: one Lens call, or one
    read each without a Lens."""
    read = market._lens_market(vaults) if market.lens is not None else None
    if read is not None:
        return [int(view.status) for view in read[1]]
    return [market.position(v).status for v in vaults]


def find_vaults(market: Any, owner: str, lookback: int = LOOKBACK, max_nonce: int = 10_000) -> dict[str, int | None]:
    """``owner``'s vaults in ``market`` (address -> vault number, ``None`` when not among the scanned
    numbers): those its ``PositionOpened`` events name, and those of the numbers from 0 up to the
    first batch of 16 never used."""
    found: dict[str, int | None] = {}
    for first in range(0, max_nonce, _NONCE_BATCH):
        nonces = range(first, first + _NONCE_BATCH)
        addresses = market._vault_addresses(owner, nonces)
        statuses = _statuses(market, addresses)
        for nonce, address, status in zip(nonces, addresses, statuses, strict=True):
            if status != _NONE:
                found[address] = nonce
        if all(status == _NONE for status in statuses):
            break
    for log in pool_events(market, "PositionOpened", lookback, owner=owner):
        found.setdefault(str(log.vault), None)
    return found


def _last(logs: list[Any]) -> Any:
    return logs[-1] if logs else None


def _close_data(log: Any) -> dict[str, Any]:
    return {"block": int(log.block_number), "price_wad": int(log.priceWad), "pnl": int(log.pnl),
            "fees": int(log.fees), "payout": int(log.payout), "bad_debt": int(log.badDebt)}


def _liquidation_data(log: Any) -> dict[str, Any]:
    return {"block": int(log.block_number), "full": bool(log.full), "price_wad": int(log.priceWad),
            "closed_size_wad": int(log.closedSize), "equity_before": int(log.equityBefore),
            "keeper_bonus": int(log.keeperBonus), "penalty": int(log.penalty),
            "owner_credit": int(log.ownerCredit), "bad_debt": int(log.badDebt)}


def vault_record(market: Any, vault: str, nonce: int | None, lookback: int = LOOKBACK) -> VaultRecord:
    """One vault as :class:`VaultRecord` (never raises on a refused price)."""
    position = market.position(vault)
    closes = pool_events(market, "PositionClosed", lookback, vault=vault)
    liquidations = pool_events(market, "Liquidated", lookback, vault=vault)
    close, liquidation = _last(closes), _last(liquidations)
    common: dict[str, Any] = {
        "vault": vault, "pool": market.address, "owner": position.owner, "nonce": nonce, "position": position,
        "last_close": _close_data(close) if close is not None else None,
        "last_liquidation": _liquidation_data(liquidation) if liquidation is not None else None,
        "claimable": market.claimable(vault),
    }
    if position.status == _OPEN:
        try:
            return VaultRecord(status="open", state=market.vault_state(vault), **common)
        except RingfenceError as exc:
            return VaultRecord(status="open", price_refused=str(exc.message), **common)
    liquidated = bool(common["claimable"]) or (
        liquidation is not None and bool(liquidation.full)
        and (close is None or int(liquidation.block_number) >= int(close.block_number)))
    return VaultRecord(status="liquidated" if liquidated else "closed", **common)


def account_vaults(market: Any, owner: str, lookback: int = LOOKBACK) -> list[VaultRecord]:
    """Every vault of ``owner`` in ``market`` that :func:`find_vaults` finds, open ones first, then
    by vault number."""
    records = [vault_record(market, vault, nonce, lookback)
               for vault, nonce in find_vaults(market, owner, lookback).items()]
    return sorted(records, key=lambda r: (r.status != "open", r.nonce if r.nonce is not None else 2**96))
