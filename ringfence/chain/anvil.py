"""The bench's own Anvil: prague, ``--prune-history 64``, the test mnemonic, a free loopback port.

Started directly from the npm binary with every flag spelled out (not through ape-foundry, which
builds its own command line and would reuse whatever Anvil already listens on 8545), then Ape's
foundry provider is pointed at it, and raw web3.py talks to the same node.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ringfence.paths import ROOT

HARDFORK = "prague"
PRUNE_HISTORY = 64
BLOCK_INTERVAL = 1  # seconds between consecutive blocks
DEFAULT_MNEMONIC = "test test test test test test test test test test test junk"


def anvil_binary() -> str:
    """The real Anvil from npm (falling back to whatever ``anvil`` is on PATH)."""
    pkg = ROOT / "node_modules" / "@foundry-rs" / "anvil-linux-amd64"
    for candidate in [pkg / "bin" / "anvil", *sorted(pkg.glob("*/anvil"))]:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("anvil")
    if not found:
        raise FileNotFoundError("anvil not found: run `make install`")
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Anvil:
    """A running Anvil process (use :func:`anvil` as a context manager)."""

    def __init__(self, port: int, process: subprocess.Popen, log: Path, command: list[str]):
        self.port = port
        self.process = process
        self.log = log
        self.command = command

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def anvil(mnemonic: str = DEFAULT_MNEMONIC, accounts: int = 10, timeout: float = 20.0, *,
          bench: bool = True) -> Iterator[Anvil]:
    """Starts Anvil, yields it once it answers JSON-RPC, and stops it (only this process) afterwards.

    ``bench``: free gas, step tracing (so debug_traceTransaction returns opcodes) and a fixed 1 s block
    interval, for deterministic gas figures. Without it, a plain node for long runs (the simulator's
    benchmark): step traces of every transaction would grow Anvil's memory by gigabytes.
    """
    import requests

    port = _free_port()
    command = [
        anvil_binary(),
        "--port", str(port),
        "--host", "127.0.0.1",
        "--hardfork", HARDFORK,
        "--prune-history", str(PRUNE_HISTORY),
        "--mnemonic", mnemonic,
        "--accounts", str(accounts),
        "--balance", "1000000",
    ]
    if bench:
        # free gas; step tracing is ape-foundry's own default and lets debug_traceTransaction return opcodes
        command += ["--block-base-fee-per-gas", "0", "--gas-price", "0", "--steps-tracing"]
    log_dir = Path(tempfile.mkdtemp(prefix="ringfence-bench-anvil-"))
    log = log_dir / "anvil.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    node = Anvil(port, process, log, command)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"anvil exited ({process.returncode}): {log.read_text()[-2000:]}")
            try:
                r = requests.post(node.uri, json={"jsonrpc": "2.0", "id": 1, "method": "web3_clientVersion",
                                                  "params": []}, timeout=1)
                if r.ok and "anvil" in r.text.lower():
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"anvil did not answer on {node.uri} within {timeout}s")
            time.sleep(0.1)
        # Deterministic clock: each block 1 s after the previous one, whatever the wall clock does (the
        # stories date their measured transactions further ahead themselves), so accrued fees and
        # interest, and with them the gas of the maths, are the same in every run.
        if bench:
            requests.post(node.uri, json={"jsonrpc": "2.0", "id": 2, "method": "anvil_setBlockTimestampInterval",
                                          "params": [BLOCK_INTERVAL]}, timeout=5).raise_for_status()
        yield node
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(log_dir, ignore_errors=True)


@contextmanager
def ape_on(node: Anvil) -> Iterator[Any]:
    """Ape's foundry provider connected to ``node`` (ape-foundry does not manage the process)."""
    from ape import networks

    with networks.parse_network_choice("ethereum:local:foundry", provider_settings={"host": node.uri}) as provider:
        yield provider
