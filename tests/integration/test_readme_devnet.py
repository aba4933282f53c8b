"""The README's quick start on the devnet, as written: ``ringfence devnet`` started as a subprocess
(on a free port instead of 8545, writing a temporary deployments file), then every command of the
README's blocks marked ``<!-- devnet-commands -->``, in order, each run as written but for the port
and ``--deployments <that file>``; each must exit 0 and print what it is there for. Then Ctrl-C stops
the devnet and its Anvil, and a second devnet on a port in use is refused in one line.

Runs once, in the embedded-chain pass (a separate node, like the other subprocess tests); skipped
where Anvil is not installed.
"""

from __future__ import annotations

import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ringfence.chain.anvil import free_port
from ringfence.chain.rpc import call
from tests.integration.test_deploy import ROOT, VENV_BIN, ape_env, only_in_embedded_pass

MARKER = "<!-- devnet-commands -->"
README_PORT = "8545"


def readme_devnet_commands() -> list[str]:
    """Every command line of the README's blocks marked ``MARKER``, in order, comments dropped."""
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(re.escape(MARKER) + r"\n```bash\n(.*?)```", text, re.DOTALL)
    assert len(blocks) >= 4, "the README's quick start has lost its marked blocks"
    lines = [line.split("  #", 1)[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def start_devnet(port: int, deployments: Path) -> tuple[subprocess.Popen, list[str]]:
    """``ringfence devnet`` on ``port``; returns the process and its output up to "Ready"."""
    process = subprocess.Popen(
        [sys.executable, "-m", "ringfence.cli", "devnet", "--port", str(port), "--deployments",
         str(deployments)], cwd=ROOT, env=ape_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 120
    for line in process.stdout:
        lines.append(line.rstrip("\n"))
        if line.startswith("Ready.") or time.monotonic() > deadline:
            break
    if not lines or not lines[-1].startswith("Ready."):
        process.kill()
        pytest.fail("the devnet did not start:\n" + "\n".join(lines))
    return process, lines


def run(line: str, port: int, deployments: Path) -> subprocess.CompletedProcess:
    argv = shlex.split(line.replace(f"127.0.0.1:{README_PORT}", f"127.0.0.1:{port}"))
    assert argv[0] in ("ringfence", "ape"), line
    argv = [str(VENV_BIN / argv[0]), *argv[1:], "--deployments", str(deployments)]
    return subprocess.run(argv, cwd=ROOT, env=ape_env(), capture_output=True, text=True, timeout=180)


def _shows(output: str, text: str) -> bool:
    """``text`` in ``output``, however the columns are padded."""
    return " ".join(text.split()) in " ".join(output.split())


def expected_output(line: str) -> str:
    """What each kind of quick-start command must print."""
    checks = [("lp deposit", "the pool's first deposit: immediate"), ("markets", "market:        BTC-USD"),
              ("open", "opened:"), ("dev round", "round at:"), ("keeper", "1 liquidated"),
              ("ape run deploy", "0 transaction(s) sent"), ("dev mint", "minted:  5,000.00 USDC"),
              ("dev time", "moved:      7200 s"), ("dev pause", "paused: yes"), ("dev unpause", "paused: no"),
              ("admin pause", "opening: paused"), ("admin unpause", "opening: open"),
              ("admin set-params", "market: ETH-USD"),
              ("status", "")]
    return next(text for key, text in checks if f" {key} " in f" {line} ".replace("ringfence ", " "))


def test_readme_devnet_quick_start_runs_as_written(tmp_path):
    only_in_embedded_pass()
    try:
        port = free_port()
        deployments = tmp_path / "ethereum-local.json"
        commands = readme_devnet_commands()
        assert "make devnet" in (ROOT / "README.md").read_text().split(MARKER, 1)[0]
        process, banner = start_devnet(port, deployments)
    except FileNotFoundError:
        pytest.skip("anvil is not installed (make install)")
    try:
        assert f"network:      ethereum:local:http://127.0.0.1:{port}" in banner, banner
        assert any(re.match(r"\s+TEST::5\s+trader\s+0x", line) for line in banner), banner
        assert any("ETH-USD" in line and "price 3,000 USDC" in line for line in banner), banner
        assert int(call(f"http://127.0.0.1:{port}", "eth_chainId"), 16) == 1337
        outputs = [(line, run(line, port, deployments)) for line in commands]
        refused = run(f"ringfence devnet --port {port}", port, deployments)
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=30)
    failures = [(line, r.returncode, r.stdout[-500:], r.stderr[-500:]) for line, r in outputs
                if r.returncode != 0 or not _shows(r.stdout, expected_output(line))]
    assert failures == []
    vault = re.search(r"opened:\s+(0x[0-9a-fA-F]{40})", outputs[[c for c, _ in outputs].index(
        next(c for c in commands if " open " in c))][1].stdout)
    assert vault and all(vault.group(1) in c for c in commands if " status " in c), "the README's vault"
    statuses = [r.stdout for line, r in outputs if " status " in line]
    assert "liquidatable:      no" in statuses[0] and statuses[0] != statuses[1], statuses
    assert refused.returncode == 1 and refused.stderr.strip() == (
        f"error: port {port} is in use (a devnet already running?): stop what listens there, or choose "
        f"another with --port"), refused.stderr
    assert process.returncode == 0 and "stopping the devnet" in rest, rest
    with pytest.raises(OSError):
        call(f"http://127.0.0.1:{port}", "eth_chainId", timeout=2)
