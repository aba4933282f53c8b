"""A fast path to the node for the fuzzer: raw JSON-RPC, calldata encoded once per function, reverts
decoded into :class:`ringfence.errors.RingfenceError` subclasses.

Ape costs ~30 ms a transaction (a dozen JSON-RPC calls, traces on reverts); web3.py's HTTP provider
(``requests``) ~5 ms a request (measured on a 2-core Linux VM). A kept-alive ``http.client`` connection answers in
~0.25 ms, and Anvil's ``eth_sendTransactionSync`` returns the receipt in the same request (no race with
auto-mining). On a provider without an HTTP endpoint (Ape's embedded chain) the few calls the fuzzer
needs go through web3.py's API instead (:class:`Web3Transport`).

An action is first dry-run with ``eth_call`` on the *pending* block (what the transaction will see
when the fuzzer fixes the block interval, see :meth:`Node.fix_block_interval`); a revert raises the
decoded error and nothing is sent. Only a call that succeeds is sent, and its receipt must succeed too.
"""

from __future__ import annotations

import http.client
import itertools
import json
import socket
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlparse

from eth_abi import encode
from eth_utils import keccak

from ringfence.errors import ErrorDecoder, project_decoder, revert_data_from

# Enough for a batch liquidation of every vault the fuzzer can open; the dry run uses the same limit,
# so running out of gas shows up as a revert there, not as a failed transaction.
TX_GAS = 12_000_000
CALL_GAS = 25_000_000


class RpcError(Exception):
    """A JSON-RPC error answer (``data`` holds revert data when the node sent some)."""

    def __init__(self, method: str, error: dict[str, Any]):
        self.code = error.get("code")
        self.rpc_message = str(error.get("message", ""))
        self.data = error.get("data")
        super().__init__(f"{method}: {self.rpc_message} ({self.code})")

    def revert_data(self) -> bytes | None:
        """The revert data, when this error is a revert."""
        data = self.data
        if isinstance(data, dict):  # some nodes nest it
            data = data.get("data") or data.get("result")
        if isinstance(data, str) and data.startswith("0x"):
            return bytes.fromhex(data[2:])
        if "revert" in self.rpc_message.lower():
            return b""
        return None


def in_process(web3: Any) -> bool:
    """A web3 whose provider is the embedded chain's tester (it takes web3's API, not raw JSON-RPC)."""
    return hasattr(web3.provider, "ethereum_tester")


def batched(transport: Any, requests: Sequence[tuple[str, list[Any]]], size: int) -> list[Any]:
    """The raw JSON-RPC answers to ``requests`` (``(method, params)``), in order: ``size`` requests a
    batch where the node takes batches (one round trip each), else one request at a time."""
    answers: list[Any] = []
    for i in range(0, len(requests), size):
        part = list(requests[i:i + size])
        reply = None
        if len(part) > 1 and hasattr(transport, "make_batch_request"):
            try:
                reply = transport.make_batch_request(part)
            except Exception:  # noqa: BLE001 - e.g. a node or proxy refusing batches: one by one
                reply = None
        if not (isinstance(reply, list) and len(reply) == len(part)):
            reply = [transport.make_request(method, params) for method, params in part]
        answers.extend(reply)
    return answers


class TransactionFailed(AssertionError):
    """A transaction whose dry run succeeded failed on chain (the two disagree: a fuzzer or node bug)."""


class HttpTransport:
    """JSON-RPC over one kept-alive HTTP connection (``retry``: a request that fails on the connection is
    sent once more on a new one, since a kept-alive connection may have been closed by the node)."""

    def __init__(self, uri: str, timeout: float = 120.0, *, retry: bool = True):
        url = urlparse(uri)
        self.uri = uri
        self._host, self._port = url.hostname or "127.0.0.1", url.port or 80
        self._path = url.path or "/"
        self._timeout = timeout
        self._attempts = 2 if retry else 1
        self._conn: http.client.HTTPConnection | None = None
        self._ids = itertools.count(1)

    def request(self, method: str, params: Sequence[Any]) -> Any:
        body = json.dumps({"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)})
        for attempt in range(1, self._attempts + 1):
            conn = self._conn or self._connect()
            try:
                conn.request("POST", self._path, body, {"Content-Type": "application/json"})
                answer = json.loads(conn.getresponse().read())
                break
            except (http.client.HTTPException, ConnectionError, OSError):
                self.close()
                if attempt == self._attempts:
                    raise
        if "error" in answer:
            raise RpcError(method, answer["error"])
        return answer.get("result")

    def _connect(self) -> http.client.HTTPConnection:
        conn = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
        conn.connect()
        # http.client writes the headers and the body separately: without this, Nagle's algorithm holds
        # the body back until the headers are acknowledged (~1 ms a request on loopback).
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._conn = conn
        return conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def call(uri: str, method: str, *params: Any, timeout: float = 120.0) -> Any:
    """One JSON-RPC call on a connection of its own, sent once: its result, or :class:`RpcError` for an
    error answer (``OSError`` or ``http.client.HTTPException`` when the node cannot be reached)."""
    transport = HttpTransport(uri, timeout, retry=False)
    try:
        return transport.request(method, params)
    finally:
        transport.close()


class Web3Transport:
    """The few JSON-RPC methods the fuzzer needs, through web3.py's API (for providers without an HTTP
    endpoint: Ape's embedded chain, whose eth-tester backend takes Python values, not JSON-RPC's)."""

    def __init__(self, web3: Any):
        self.web3 = web3

    def request(self, method: str, params: Sequence[Any]) -> Any:
        eth = self.web3.eth
        try:
            if method == "eth_call":
                tx, block = dict(params[0]), params[1]
                tx.setdefault("from", eth.accounts[0])
                return "0x" + bytes(eth.call(_tx(tx), "latest" if block == "pending" else block)).hex()
            if method == "eth_sendTransaction":
                return "0x" + bytes(eth.send_transaction(_tx(dict(params[0])))).hex()
            if method == "eth_getTransactionReceipt":
                receipt = eth.wait_for_transaction_receipt(params[0])
                logs = [{"address": str(log["address"]), "data": "0x" + bytes(log["data"]).hex(),
                         "topics": ["0x" + bytes(t).hex() for t in log["topics"]]} for log in receipt["logs"]]
                return {"status": hex(receipt["status"]), "transactionHash": params[0], "logs": logs}
        except Exception as exc:  # web3/eth-tester raise on reverts instead of answering an error
            data = _exception_revert_data(exc)
            if data is None:
                raise
            raise RpcError(method, {"code": 3, "message": f"execution reverted: {exc}", "data": "0x" + data.hex()})
        raise RpcError(method, {"code": -32601, "message": f"{method} is not available through web3 here"})

    def close(self) -> None:
        pass


def _tx(tx: dict[str, Any]) -> dict[str, Any]:
    from eth_utils import to_checksum_address

    out = dict(tx)
    for key in ("from", "to"):
        if key in out:
            out[key] = to_checksum_address(out[key])
    if "gas" in out:
        out["gas"] = int(out["gas"], 16)
    return out


def _exception_revert_data(exc: Exception) -> bytes | None:
    data = revert_data_from((getattr(exc, "data", None), *getattr(exc, "args", ())))
    if data is None and type(exc).__name__ in {"TransactionFailed", "ContractLogicError", "ContractCustomError"}:
        return b""  # a bare revert
    return data


def logs_of(receipt: dict[str, Any], address: str, topic0: bytes) -> list[tuple[list[bytes], bytes]]:
    """The ``(topics, data)`` of the receipt's logs emitted by ``address`` with first topic ``topic0``."""
    out = []
    for log in receipt.get("logs") or []:
        topics = [bytes.fromhex(t[2:]) for t in log["topics"]]
        if topics and topics[0] == topic0 and str(log["address"]).lower() == address.lower():
            out.append((topics, bytes.fromhex(log["data"][2:])))
    return out


class Fn:
    """One contract function: its selector, computed once, and an encoder for its arguments."""

    def __init__(self, name: str, types: Sequence[str], returns: Sequence[str] = ()):
        self.types = list(types)
        self.returns = list(returns)
        self.signature = f"{name}({','.join(self.types)})"
        self.selector = keccak(text=self.signature)[:4]

    def __call__(self, *args: Any) -> bytes:
        return self.selector + encode(self.types, list(args)) if self.types else self.selector


class Node:
    """Dry runs, transactions and chain control on one node, by address (no Ape objects)."""

    def __init__(self, transport: Any, decoder: ErrorDecoder | None = None, anvil: bool = False):
        self.transport = transport
        self.decoder = decoder or project_decoder()
        self.anvil = anvil
        self.sync_send = anvil  # eth_sendTransactionSync (Anvil >= 1.3)
        self.transactions = 0

    @classmethod
    def connect(cls, provider: Any) -> Node:
        """The fastest way to ``provider`` (an Ape provider): its HTTP endpoint when it has one."""
        web3 = provider.web3
        uri = getattr(web3.provider, "endpoint_uri", None)  # set on web3's HTTPProvider only
        anvil = getattr(provider, "name", "") == "foundry"
        if isinstance(uri, str) and uri.startswith("http"):
            return cls(HttpTransport(uri), anvil=anvil)
        return cls(Web3Transport(web3), anvil=anvil)

    def rpc(self, method: str, *params: Any) -> Any:
        return self.transport.request(method, params)

    # ------------------------------------------------------------ calls and transactions
    def call(self, to: str, data: bytes, sender: str | None = None, block: str = "latest") -> bytes:
        """``eth_call``; a revert raises its decoded :class:`RingfenceError`."""
        tx: dict[str, Any] = {"to": to, "data": "0x" + data.hex(), "gas": hex(CALL_GAS)}
        if sender:
            tx["from"] = sender
        try:
            result = self.rpc("eth_call", tx, block)
        except RpcError as exc:
            revert = exc.revert_data()
            if revert is None:
                raise
            raise self.decoder.decode(revert) from None
        return bytes.fromhex(result[2:]) if isinstance(result, str) else bytes(result)

    def dry_run(self, sender: str, to: str, data: bytes) -> bytes:
        """What a transaction would return in the next block (raises its decoded error if it would revert)."""
        return self.call(to, data, sender, "pending")

    def send(self, sender: str, to: str, data: bytes) -> dict[str, Any]:
        """Dry-runs, then sends (from an unlocked account) and returns the receipt. Raises the decoded
        error if the dry run reverts (nothing is sent), :class:`TransactionFailed` if the transaction
        fails all the same."""
        self.dry_run(sender, to, data)
        return self.send_unchecked(sender, to, data)

    def send_unchecked(self, sender: str, to: str, data: bytes) -> dict[str, Any]:
        """Sends without a dry run; the transaction must succeed."""
        tx = {"from": sender, "to": to, "data": "0x" + data.hex(), "gas": hex(TX_GAS)}
        receipt = None
        if self.sync_send:
            try:
                receipt = self.rpc("eth_sendTransactionSync", tx)
            except RpcError as exc:
                if exc.code != -32601:  # anything but "method not found"
                    raise
                self.sync_send = False
        if receipt is None:
            tx_hash = self.rpc("eth_sendTransaction", tx)
            receipt = self._receipt(tx_hash)
        self.transactions += 1
        if int(receipt["status"], 16) != 1:
            raise TransactionFailed(f"transaction to {to} (selector 0x{data[:4].hex()}) failed on chain after a "
                                    f"successful dry run: {receipt.get('transactionHash')}")
        return receipt

    def _receipt(self, tx_hash: str) -> dict[str, Any]:
        for _ in range(10_000):
            receipt = self.rpc("eth_getTransactionReceipt", tx_hash)
            if receipt is not None:
                return receipt
        raise TimeoutError(f"no receipt for {tx_hash}")

    # ------------------------------------------------------------ chain control
    def head_timestamp(self) -> int:
        return int(self.rpc("eth_getBlockByNumber", "latest", False)["timestamp"], 16)

    def mine(self, timestamp: int) -> None:
        """Mines one block at ``timestamp`` (later blocks follow it by the fixed interval)."""
        self.rpc("evm_mine", timestamp)

    def snapshot(self) -> str:
        return self.rpc("evm_snapshot")

    def revert(self, snapshot_id: str) -> None:
        if not self.rpc("evm_revert", snapshot_id):
            raise RuntimeError(f"evm_revert {snapshot_id} failed")

    def fix_block_interval(self, seconds: int = 1) -> None:
        """Each new block is ``seconds`` after its parent, whatever the wall clock says: the chain's
        history depends on the actions only (replays are exact), and a dry run on the pending block sees
        the timestamp its transaction will get."""
        self.rpc("anvil_setBlockTimestampInterval", seconds)

    def release_block_interval(self) -> None:
        self.rpc("anvil_removeBlockTimestampInterval")

