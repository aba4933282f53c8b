"""The deployed fuzz environment as the state machine sees it: addresses as strings, the raw JSON-RPC
node (:mod:`ringfence.chain.rpc`), the FuzzReader (:mod:`ringfence.fuzz.reader`), and chain control
(snapshots, mining) that works on Anvil and on Ape's embedded chain."""

from __future__ import annotations

from typing import Any

from ringfence.chain.rpc import Node
from ringfence.fuzz.env import FuzzEnv
from ringfence.fuzz.reader import Reader

BLOCK_INTERVAL = 1  # seconds between blocks on Anvil while the fuzzer runs


class World:
    """A deployed :class:`FuzzEnv` seen by address, with the fast path to its node and the FuzzReader."""

    def __init__(self, env: FuzzEnv, chain: Any, project: Any):
        self.env = env
        self.chain = chain
        self.node = Node.connect(chain.provider)
        reader = env.owner.deploy(project.FuzzReader)
        self.owner, self.guardian = str(env.owner.address), str(env.guardian.address)
        self.lp, self.keeper = str(env.lp.address), str(env.keeper.address)
        self.attacker = str(env.attacker.address)
        self.lps = [self.lp, self.attacker]  # the LP actors, in the reader's order
        self.traders = [str(t.address) for t in env.traders]
        self.token = str(env.token.address)
        self.feeds = [str(f.address) for f in env.feeds]
        self.pools = [m.address for m in env.markets]
        self.factory = str(env.protocol.factory.address)
        self.delay = int(env.protocol.factory.delay())  # the owner's parameter changes wait this long
        self.liquidator = str(env.protocol.liquidator.address)
        self.guard = str(env.guard.address)
        self.scales = [int(m.pool.priceScale()) for m in env.markets]
        self.params = [m.params() for m in env.markets]
        self.mined = 0  # blocks mined outside transactions (a read is fresh while this and the tx count hold)
        # vault address of (market, trader, nonce), known before the vault exists
        self.vault_of = {(i, t, n): m.vault_address(env.traders[t], n)
                         for i, m in enumerate(env.markets) for t in range(len(env.traders)) for n in range(3)}
        self.reader = Reader(self.node, str(reader.address), token=self.token, lens=str(env.protocol.lens.address),
                             liquidator=self.liquidator, lps=self.lps, holders=env.holders(), pools=self.pools,
                             scales=self.scales)
        if self.node.anvil:
            self.node.fix_block_interval(BLOCK_INTERVAL)

    def close(self) -> None:
        """Gives the node its wall clock back (other tests may share it)."""
        try:
            if self.node.anvil:
                self.node.release_block_interval()
        except OSError:  # the node is gone already (an interrupted run)
            pass
        finally:
            self.node.transport.close()

    # chain control that works on Anvil (raw) and on Ape's embedded chain (through Ape)
    def snapshot(self) -> Any:
        return self.node.snapshot() if self.node.anvil else self.chain.snapshot()

    def restore(self, snapshot_id: Any) -> None:
        if self.node.anvil:
            self.node.revert(snapshot_id)
        else:
            self.chain.restore(snapshot_id)

    def mine(self, seconds: int) -> None:
        self.mined += 1
        if self.node.anvil:
            self.node.mine(self.node.head_timestamp() + seconds)
        else:
            self.chain.mine(timestamp=self.chain.blocks.head.timestamp + seconds)
