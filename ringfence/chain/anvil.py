"""The project's own Anvil nodes: one launcher (:class:`Anvil`), and the bench's node (:func:`anvil`).

Anvil is started directly from the npm binary with every flag spelled out (not through ape-foundry,
which builds its own command line and would reuse whatever Anvil already listens on 8545), on a free
loopback port, with ``--prune-history`` (old states are not kept; ``tools/anvil-wrapper.sh`` adds the
same flag to the Anvil that ape-foundry starts for ``--network ethereum:local:foundry``). Ape's foundry
provider can then be pointed at it (:func:`ape_on`). Users: the gas bench and the simulator
(:func:`anvil`), the tests' separate nodes and the coverage tool (:class:`Anvil` with their own flags).
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ringfence.chain.rpc import RpcError, call
from ringfence.paths import ROOT

if TYPE_CHECKING:
    from typing_extensions import Self

HARDFORK = "prague"
PRUNE_HISTORY = 64  # the value tools/anvil-wrapper.sh passes too
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


def free_port() -> int:
    """A loopback TCP port that is free now (chosen by the OS)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Anvil:
    """One Anvil process on ``127.0.0.1``: ``args`` plus ``--port``, ``--host`` and ``--prune-history``.

    :meth:`start` returns once the node answers JSON-RPC, :meth:`stop` ends this process only (its
    process group when started with ``start_new_session``, which keeps it out of the terminal's Ctrl-C);
    also a context manager. ``port``: a fixed port, else a free one. ``log``: where Anvil's output goes,
    else a temporary file removed by :meth:`stop`. The binary is looked up here, so a missing Anvil
    raises ``FileNotFoundError`` on construction.
    """

    def __init__(self, *args: str, port: int | None = None, log: Path | None = None,
                 start_new_session: bool = False, timeout: float = 20.0):
        binary = anvil_binary()
        self.port = port or free_port()
        self.command = [binary, "--port", str(self.port), "--host", "127.0.0.1"]
        if Path(binary).resolve().name != "anvil-wrapper.sh":  # the wrapper adds it itself
            self.command += ["--prune-history", str(PRUNE_HISTORY)]
        self.command += args
        self.log = log
        self.start_new_session = start_new_session
        self.timeout = timeout
        self.process: subprocess.Popen[bytes] | None = None
        self._log_dir: Path | None = None

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rpc(self, method: str, *params: Any) -> Any:
        return call(self.uri, method, *params)

    def start(self) -> Self:
        if self.log is None:
            self._log_dir = Path(tempfile.mkdtemp(prefix="ringfence-anvil-"))
            self.log = self._log_dir / "anvil.log"
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(self.command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                                            start_new_session=self.start_new_session)
        try:
            self._wait_until_ready(self.process)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_ready(self, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + self.timeout
        while True:
            if process.poll() is not None:
                tail = self.log.read_text(errors="replace")[-2000:] if self.log else ""
                raise RuntimeError(f"anvil exited ({process.returncode}): {' '.join(self.command)}\n{tail}")
            try:
                if "anvil" in str(call(self.uri, "web3_clientVersion", timeout=1)).lower():
                    return
            except (OSError, http.client.HTTPException, RpcError, ValueError):
                pass  # not listening yet
            if time.monotonic() > deadline:
                raise RuntimeError(f"anvil did not answer on {self.uri} within {self.timeout}s: "
                                   f"{' '.join(self.command)}")
            time.sleep(0.1)

    def stop(self) -> None:
        process = self.process
        if process is not None and process.poll() is None:
            self._signal(process, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._signal(process, signal.SIGKILL)
                process.wait()
        if self._log_dir is not None:
            shutil.rmtree(self._log_dir, ignore_errors=True)
            self._log_dir = self.log = None

    def _signal(self, process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
        if not self.start_new_session:
            process.send_signal(sig)
            return
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:  # already gone
            pass

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def anvil(mnemonic: str = DEFAULT_MNEMONIC, accounts: int = 10, timeout: float = 20.0, *,
          bench: bool = True) -> Iterator[Anvil]:
    """Starts Anvil (prague, the test mnemonic), yields it once it answers JSON-RPC, and stops it (only
    this process) afterwards.

    ``bench``: free gas, step tracing (so debug_traceTransaction returns opcodes) and a fixed 1 s block
    interval, for deterministic gas figures. Without it, a plain node for long runs (the simulator's
    load scenario): step traces of every transaction would grow Anvil's memory by gigabytes.
    """
    args = ["--hardfork", HARDFORK, "--mnemonic", mnemonic, "--accounts", str(accounts), "--balance", "1000000"]
    if bench:
        # free gas; step tracing is ape-foundry's own default and lets debug_traceTransaction return opcodes
        args += ["--block-base-fee-per-gas", "0", "--gas-price", "0", "--steps-tracing"]
    with Anvil(*args, timeout=timeout) as node:
        # Deterministic clock: each block 1 s after the previous one, whatever the wall clock does (the
        # stories date their measured transactions further ahead themselves), so accrued fees and
        # interest, and with them the gas of the maths, are the same in every run.
        if bench:
            call(node.uri, "anvil_setBlockTimestampInterval", BLOCK_INTERVAL, timeout=5)
        yield node


@contextmanager
def ape_on(node: Anvil) -> Iterator[Any]:
    """Ape's foundry provider connected to ``node`` (ape-foundry does not manage the process)."""
    from ape import networks

    with networks.parse_network_choice("ethereum:local:foundry", provider_settings={"host": node.uri}) as provider:
        yield provider
