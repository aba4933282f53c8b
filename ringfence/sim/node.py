"""The simulator's own Anvil for big runs (``--own-anvil``; ``make bench-sim``).

Ape's foundry provider starts Anvil with ``--steps-tracing`` (so that Ape can show opcode traces of a
failed transaction); Anvil then keeps every transaction's step trace in memory, which for the
1,000-position benchmark grew past 13 GB within a minute here. This Anvil is started without it
(and with ``--prune-history``, see TOOLCHAIN.md), and Ape's foundry provider is pointed at it.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ringfence.bench.anvil import DEFAULT_MNEMONIC, HARDFORK, PRUNE_HISTORY, _free_port, anvil_binary

__all__ = ["own_anvil"]


@contextmanager
def own_anvil(timeout: float = 60.0) -> Iterator[Any]:
    """Starts an Anvil (no step tracing), connects Ape's foundry provider to it, yields the provider,
    and stops that Anvil (only it) afterwards."""
    import requests
    from ape import networks

    port = _free_port()
    uri = f"http://127.0.0.1:{port}"
    command = [anvil_binary(), "--port", str(port), "--host", "127.0.0.1", "--hardfork", HARDFORK,
               "--prune-history", str(PRUNE_HISTORY), "--mnemonic", DEFAULT_MNEMONIC, "--accounts", "10",
               "--balance", "1000000"]
    log_dir = Path(tempfile.mkdtemp(prefix="ringfence-sim-anvil-"))
    with open(log_dir / "anvil.log", "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"anvil exited ({process.returncode}): {(log_dir / 'anvil.log').read_text()[-2000:]}")
            try:
                if requests.post(uri, json={"jsonrpc": "2.0", "id": 1, "method": "web3_clientVersion",
                                            "params": []}, timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"anvil did not answer on {uri} within {timeout} s")
            time.sleep(0.1)
        with networks.parse_network_choice("ethereum:local:foundry", provider_settings={"host": uri}) as provider:
            yield provider
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
