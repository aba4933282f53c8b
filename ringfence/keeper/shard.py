"""Sharding: several keepers on the same markets do not all build the same batch.

A keeper of shard ``i/n`` acts at once on the vaults whose address hash (``keccak(address) mod n``)
is ``i``; a liquidatable vault of another shard it takes only once that vault has been liquidatable
for ``grace`` seconds of chain time (its own keeper is late or dead), so every vault stays covered
whichever keepers run. Without a shard (``n == 1``) every vault is its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from eth_utils import keccak, to_bytes

__all__ = ["Shard", "parse_shard", "shard_of"]


def shard_of(vault: str, n: int) -> int:
    """The shard (``0..n-1``) of a vault address: its keccak-256 hash mod ``n``."""
    return int.from_bytes(keccak(to_bytes(hexstr=str(vault))), "big") % n


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``"i/n"`` -> ``(i, n)`` with ``0 <= i < n``; None or empty -> None."""
    if text is None or not str(text).strip():
        return None
    try:
        i, n = (int(part) for part in str(text).split("/"))
    except ValueError:
        raise ValueError(f"shard {text!r}: expected i/n, e.g. 0/2") from None
    if n < 1 or not 0 <= i < n:
        raise ValueError(f"shard {text!r}: need 0 <= i < n")
    return i, n


@dataclass
class Shard:
    """Which confirmed vaults a keeper of shard ``index/count`` sends now (:meth:`split`)."""

    index: int = 0
    count: int = 1
    grace: int = 30
    seen: dict[tuple[str, str], int] = field(default_factory=dict)  # (pool, vault) -> first seen liquidatable

    def mine(self, vault: str) -> bool:
        return self.count == 1 or shard_of(vault, self.count) == self.index

    def split(self, confirmed: dict[str, list[str]], now: int) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        """``(send, deferred)``: this pass's confirmed vaults (per pool), those to send now (this
        shard's, and the others' liquidatable for ``grace`` seconds already) and those left to their
        shard's keeper for now. A vault no longer confirmed is forgotten (its grace restarts)."""
        if self.count == 1:
            return confirmed, {}
        send: dict[str, list[str]] = {}
        deferred: dict[str, list[str]] = {}
        seen: dict[tuple[str, str], int] = {}
        for pool, vaults in confirmed.items():
            for vault in vaults:
                if self.mine(vault):
                    send.setdefault(pool, []).append(vault)
                    continue
                first = seen[(pool, vault)] = self.seen.get((pool, vault), now)
                (send if now - first >= self.grace else deferred).setdefault(pool, []).append(vault)
        self.seen = seen
        return send, deferred
