"""The README's quick start on the devnet, as written: ``ringfence devnet`` started as a subprocess
(on a free port instead of 8545, writing a temporary deployments file), then every command of the
README's blocks marked ``<!-- devnet-commands -->`` (the quick start, then the traders', the LPs',
the owner's and the keeper operators' commands, the Silverback bot's among them), in order, each run as written but for the port and ``--deployments <that
file>``; each must exit 0 (or the status its comment announces) and print what it is there for; a
command that runs until Ctrl-C (``status --watch``, the bot) gets it after two reports. Then Ctrl-C stops the devnet and its Anvil, and a second
devnet on a port in use is refused in one line.

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
    return [command for command, _ in readme_devnet_lines()]


def readme_devnet_lines() -> list[tuple[str, str]]:
    """Every command line of the README's blocks marked ``MARKER``, in order, with its comment."""
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(re.escape(MARKER) + r"\n```bash\n(.*?)```", text, re.DOTALL)
    assert len(blocks) >= 9, "the README has lost marked blocks (quick start, traders, LPs, owner, keepers)"
    pairs = [(line.split("  #", 1) + [""])[:2] for block in blocks for line in block.splitlines()]
    return [(command.strip(), comment.strip()) for command, comment in pairs
            if command.strip() and not command.strip().startswith("#")]


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


def _command(line: str, port: int, deployments: Path) -> tuple[list[str], dict[str, str]]:
    """``line`` as run, and its environment: the devnet's port, and its deployments file (for a
    command on the network, and for a ``RINGFENCE_KEEPER_DEPLOYMENTS=…`` prefix)."""
    words = shlex.split(line.replace(f"127.0.0.1:{README_PORT}", f"127.0.0.1:{port}"))
    env = {}
    while "=" in words[0]:
        name, _ = words.pop(0).split("=", 1)
        assert name == "RINGFENCE_KEEPER_DEPLOYMENTS", line
        env[name] = str(deployments)
    assert words[0] in ("ringfence", "ape", "silverback"), line
    extra = ["--deployments", str(deployments)] if "--network" in words and words[0] != "silverback" else []
    return [str(VENV_BIN / words[0]), *words[1:], *extra], env


# A command that runs until Ctrl-C: what it prints once it is working (then it gets Ctrl-C).
UNTIL_CTRL_C = {"--watch": "liquidatable:", "silverback": "liquidate_underwater - Metrics collected"}


def run(line: str, port: int, deployments: Path) -> subprocess.CompletedProcess:
    """``line`` to its end; one that runs until Ctrl-C gets Ctrl-C once it printed its work, twice."""
    argv, extra = _command(line, port, deployments)
    marker = next((text for key, text in UNTIL_CTRL_C.items() if key in line.split()), None)
    if marker is None:
        return subprocess.run(argv, cwd=ROOT, env=ape_env(**extra), capture_output=True, text=True, timeout=180)
    process = subprocess.Popen(argv, cwd=ROOT, env=ape_env(PYTHONUNBUFFERED="1", **extra), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    head, seen, deadline = [], 0, time.monotonic() + 180
    for out in process.stdout:
        head.append(out)
        seen += marker in out
        if seen == 2 or time.monotonic() > deadline:
            break
    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=60)
    return subprocess.CompletedProcess(argv, process.returncode, "".join(head) + rest, "")


def _shows(output: str, text: str) -> bool:
    """``text`` in ``output``, however the columns are padded."""
    return " ".join(text.split()) in " ".join(output.split())


def expected_output(line: str) -> str:
    """What each kind of README command must print."""
    checks = [("--watch", "(Ctrl-C to stop)"), ("--help", "Usage:"), ("silverback", "Startup complete"),
              ("guard set", "trigger: health below 1.300"), ("guard show", "is not below the trigger 1.300"),
              ("--dry-run", "0 transaction(s)"),
              ("lp deposit --amount 100000", "the pool's first deposit: immediate"),
              ("lp deposit", "deposit requested:"),
              ("lp settle", ""), ("lp show", "shares:"), ("lp redeem", "redemption requested:"), ("fund deposit", "deposited:"),
              ("fund show", "available:"), ("markets", "market:        BTC-USD"), ("quote", "liquidation price:"),
              ("open", "opened:"), ("add-margin", "added:"), ("remove-margin", "removed:"), ("close", "closed:"),
              ("claim", "claimed:"), ("positions", "status:"), ("dev round", "round at:"),
              ("keeper", "0 error(s)"), ("ape run deploy", "0 transaction(s) sent"),
              ("dev mint", "minted:  5,000.00 USDC"), ("dev time", "moved:      7200 s"),
              ("dev pause", "paused: yes"), ("dev unpause", "paused: no"), ("admin pause", "opening: paused"),
              ("admin unpause", "opening: open"), ("admin set-params", "market: ETH-USD"), ("status", "")]
    return next(text for key, text in checks if f" {key} " in f" {line} ".replace("ringfence ", " "))


def expected_status(comment: str) -> int:
    """The exit status a README line's comment announces (``exit status 1``), else 0."""
    found = re.search(r"exit status (\d)", comment)
    return int(found.group(1)) if found else 0


def test_readme_devnet_quick_start_runs_as_written(tmp_path):
    only_in_embedded_pass()
    try:
        port = free_port()
        deployments = tmp_path / "ethereum-local.json"
        lines = readme_devnet_lines()
        commands = [command for command, _ in lines]
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
    failures = [(line, r.returncode, r.stdout[-500:], r.stderr[-500:])
                for (line, comment), (_, r) in zip(lines, outputs, strict=True)
                if r.returncode != expected_status(comment) or not _shows(r.stdout, expected_output(line))]
    assert failures == [], "\n\n".join(map(str, failures))
    traces = [line for line, r in outputs if "├──" in r.stdout + r.stderr or "reverted without message" in r.stdout]
    assert traces == [], f"a call trace printed by: {traces}"  # e.g. a refused view call shown by Ape
    opened = [re.search(r"opened:\s+(0x[0-9a-fA-F]{40})", r.stdout) for line, r in outputs if " open " in line]
    assert all(opened) and len(opened) == 2, "the README's two opens"
    statuses = {vault.group(1): [r.stdout for line, r in outputs if f" status {vault.group(1)}" in line]
                for vault in opened if vault is not None}
    assert all(len(reports) >= 2 for reports in statuses.values()), "the README's vaults are the ones opened"
    first, second = statuses.values()
    assert _shows(first[0], "liquidatable: no") and first[0] != first[1], first
    assert _shows(first[2], "status: liquidated in full at 2,550.00") and _shows(first[2], "claimable: 0.62 USDC"), first
    assert second[1].count("(Ctrl-C to stop)") >= 2, "--watch re-prints"
    assert _shows(second[-1], "status: closed at 2,550.00") and "payout" in second[-1], second
    waiting = next(r for (_, comment), (_, r) in zip(lines, outputs, strict=True) if expected_status(comment) == 1)
    assert waiting.stdout == "" and waiting.stderr.startswith("error: the deposit request of "), waiting.stderr
    assert "waits for an oracle round after" in waiting.stderr
    settled = [r.stdout for line, r in outputs if " lp settle " in line][1:]
    assert "deposit settled:" in settled[0] and "redemption settled:" in settled[1], settled
    assert refused.returncode == 1 and refused.stderr.strip() == (
        f"error: port {port} is in use (a devnet already running?): stop what listens there, or choose "
        f"another with --port"), refused.stderr
    assert process.returncode == 0 and "stopping the devnet" in rest, rest
    with pytest.raises(OSError):
        call(f"http://127.0.0.1:{port}", "eth_chainId", timeout=2)
