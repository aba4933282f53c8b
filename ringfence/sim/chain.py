"""The simulator's transaction path: raw JSON-RPC to Anvil (``eth_sendTransactionSync`` from
impersonated accounts, ~1 ms a call) or web3.py on the embedded py-evm chain, through
:class:`ringfence.chain.rpc.Node`, with the block clock under the simulator's control.

Every transaction the simulation sends (its own and the keepers', see
:class:`ringfence.sim.runner.SimKeeper`) is preceded by :meth:`SimChain.tick`, which dates the next
block ``max(the current step's time, previous block + 1)``: the chain's history depends on the
seed only, never on the wall clock, so one seed gives the same figures on every run.
"""

from __future__ import annotations

import time
from typing import Any

from eth_abi import decode
from eth_utils import keccak, to_checksum_address

from ringfence.chain.contracts import fn
from ringfence.chain.rpc import Node, TransactionFailed

__all__ = ["FNS", "SimChain"]

# What the simulation calls, by name: the encoders come from the contracts' ABIs.
FNS = {
    **{name: fn("MockERC20", name) for name in ("mint", "approve", "balanceOf")},
    **{name: fn("MockAggregator", name) for name in ("setAnswer", "latestRoundData", "decimals")},
    **{name: fn("MarginPool", name) for name in (
        "openPosition", "addMargin", "closePosition", "claim", "claimable", "deposit", "requestDeposit",
        "settleDeposit", "liquidity", "pendingDeposits", "vaultAddress", "position", "totalAssets",
        "totalSupply", "convertToAssets", "currentFeeIndex")},
    "fund": fn("InsuranceFund", "fund"),
    "price": fn("ChainlinkOracle", "price"),
    "lensVaults": fn("Lens", "vaults"),
    **{name: fn("MarginGuard", name) for name in (
        "openReserve", "depositReserve", "withdrawReserve", "setPolicy", "reserve", "reserveCount")},
}


class SimChain:
    """One node, by address; counts what it sends."""

    def __init__(self, provider: Any, accounts: Any, seed: int):
        self.provider = provider
        self.node = Node.connect(provider)
        self.anvil = getattr(provider, "name", "") == "foundry"
        self.test_accounts = accounts
        self.seed = seed
        self.step_time = 0
        self.last_ts = int(provider.web3.eth.get_block("latest")["timestamp"])
        self.transactions = 0
        self.send_seconds = 0.0
        self.keys: dict[str, bytes] = {}
        self.nonces: dict[str, int] = {}
        self._chain_id = int(provider.web3.eth.chain_id)
        if self.anvil:
            self.node.rpc("anvil_autoImpersonateAccount", True)

    # ------------------------------------------------------------------ clock
    def tick(self) -> int:
        """Dates the next block at the step's time. Anvil accepts a block dated like its parent, so
        every block of one step carries the step's time; py-evm needs each block a second later."""
        if self.anvil:
            ts = max(self.step_time, self.last_ts)
            self.node.rpc("evm_setNextBlockTimestamp", ts)
        else:
            head = int(self.provider.web3.eth.get_block("latest")["timestamp"])
            ts = max(self.step_time, self.last_ts + 1, head + 1)
            self.provider.set_timestamp(ts)
        self.last_ts = ts
        return ts

    def sync_head(self) -> None:
        """After transactions the simulation did not date itself (deployment through Ape)."""
        self.last_ts = max(self.last_ts, int(self.provider.web3.eth.get_block("latest")["timestamp"]))

    # ------------------------------------------------------------------ accounts
    def new_account(self, label: str, index: int) -> str:
        """A fresh account (deterministic from the seed) that the node lets us send from, with ETH."""
        key = keccak(text=f"ringfence-sim/{self.seed}/{label}/{index}")
        from eth_account import Account

        address = to_checksum_address(Account.from_key(key).address)
        if self.anvil:
            self.node.rpc("anvil_setBalance", address, hex(10**22))
        else:  # the embedded chain knows only its test accounts' keys: sign locally
            self.keys[address] = key
            self.nonces[address] = int(self.provider.web3.eth.get_transaction_count(address))
            web3 = self.provider.web3
            self.tick()
            tx_hash = web3.eth.send_transaction({"from": str(self.test_accounts[0].address), "to": address,
                                                 "value": 10**19})
            web3.eth.wait_for_transaction_receipt(tx_hash)
            self.transactions += 1
        return address

    # ------------------------------------------------------------------ calls and transactions
    def call(self, to: str, fn: str, *args: Any) -> Any:
        f = FNS[fn]
        out = decode(f.returns, self.node.call(to, f(*args)))
        return out[0] if len(out) == 1 else out

    def send(self, sender: str, to: str, fn: str, *args: Any, dry_run: bool = True) -> dict[str, Any]:
        """Sends one transaction in a new block (dry-run first unless told otherwise: a revert raises
        the decoded :class:`ringfence.errors.RingfenceError` and nothing is sent)."""
        data = FNS[fn](*args)
        start = time.perf_counter()
        try:
            # Date the block first: the dry run then sees the time the transaction will get (on Anvil
            # the pending block otherwise carries the wall clock, behind the scenario's clock).
            self.tick()
            if dry_run:
                self.node.dry_run(sender, to, data) if self.anvil else self.node.call(to, data, sender)
            if sender in self.keys:
                receipt = self._send_signed(sender, to, data)
            else:
                try:
                    receipt = self.node.send_unchecked(sender, to, data)
                except TransactionFailed:
                    self.node.call(to, data, sender, "latest")  # raises the decoded reason, if any
                    raise
        finally:
            self.send_seconds += time.perf_counter() - start
        self.transactions += 1
        return receipt

    def _send_signed(self, sender: str, to: str, data: bytes) -> dict[str, Any]:
        from eth_account import Account

        from ringfence.chain.rpc import TX_GAS

        web3 = self.provider.web3
        tx = {"to": to, "data": data, "gas": TX_GAS, "nonce": self.nonces[sender], "chainId": self._chain_id,
              "gasPrice": int(web3.eth.gas_price)}
        signed = Account.sign_transaction(tx, self.keys[sender])
        raw = getattr(signed, "raw_transaction", None) or signed.rawTransaction
        tx_hash = web3.eth.send_raw_transaction(raw)
        self.nonces[sender] += 1
        receipt = web3.eth.wait_for_transaction_receipt(tx_hash)
        if int(receipt["status"]) != 1:
            raise TransactionFailed(f"transaction to {to} (selector 0x{data[:4].hex()}) failed: {tx_hash.hex()}")
        return dict(receipt)

    def balance(self, token: str, holder: str) -> int:
        return int(self.call(token, "balanceOf", holder))
