"""`ape run keeper` and `ape run deploy` fail in one line: a chain that does not answer, a fork whose
upstream RPC URL is not set, no deployment on the network. Each says what is wrong and what to do on
one line on stderr (``Error: …``), with a non-zero exit status and no traceback.

The message builders are tested in-process; each script is also run as a real process once (in the
embedded-chain pass: they need no chain of the session's)."""

from __future__ import annotations

import socket
import subprocess
from types import SimpleNamespace

import pytest

from ringfence.chain.connection import fork_upstream_problem, unreachable_message
from ringfence.chain.deployments import no_deployment_message
from ringfence.errors import one_line
from tests.integration.test_deploy import (
    LOCAL_MARKETS,
    ROOT,
    VENV_BIN,
    ape_env,
    only_in_embedded_pass,
)


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_ape(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(VENV_BIN / "ape"), "run", *args], check=False, cwd=ROOT, env=ape_env(**env),
                          capture_output=True, text=True, timeout=120)


def error_lines(result: subprocess.CompletedProcess) -> list[str]:
    """stderr without Ape's own log lines (``INFO: …``, ``WARNING: …``)."""
    return [line for line in result.stderr.splitlines()
            if line.strip() and not line.startswith(("INFO:", "WARNING:"))]


def assert_one_line(result: subprocess.CompletedProcess, *expected: str) -> str:
    lines = error_lines(result)
    assert result.returncode != 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and len(lines) == 1, result.stderr
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


# ==================================================================================== messages


def test_one_line_keeps_the_first_line_and_shortens_hex_blobs():
    blob = "0x" + "ab" * 15_000
    text = f"\n  Transaction failed: data {blob} gas 21000\nTrace:\n  ..."
    assert one_line(text) == "Transaction failed: data 0x… (15000 bytes) gas 21000"
    tx_hash = "0x" + "12" * 32
    assert one_line(f"sent {tx_hash}") == f"sent {tx_hash}"  # a hash is kept
    assert len(one_line("x" * 1_000)) == 300


def test_unreachable_and_no_deployment_messages():
    provider = SimpleNamespace(uri="http://127.0.0.1:9", network_choice="ethereum:local:http://127.0.0.1:9",
                               network=SimpleNamespace(choice="ethereum:local", is_dev=True))
    down = ConnectionError("No node found and 'ape-node' is unable to start one.\nThings you can do: ...")
    assert unreachable_message(provider, down) == \
        "cannot reach the chain at http://127.0.0.1:9: nothing answers there (start a node, or check the URL)"
    assert unreachable_message(provider, OSError("Connection refused")) == \
        "cannot reach the chain at http://127.0.0.1:9: Connection refused"
    assert no_deployment_message(provider, "deployments/ethereum-local.json") == (
        "no Ringfence deployment for ethereum:local in deployments/ethereum-local.json: run "
        "`ape run deploy --network ethereum:local:http://127.0.0.1:9 --markets markets/local.yaml` first, or "
        "start a chain that stays up with `make devnet` and use --network ethereum:local:http://127.0.0.1:8545")


def test_a_fork_without_its_upstream_variable_is_named(monkeypatch):
    from ape import networks

    provider = networks.parse_network_choice("ethereum:mainnet-fork:foundry")._provider
    monkeypatch.delenv("MAINNET_RPC_URL", raising=False)
    problem = fork_upstream_problem(provider)
    assert problem is not None and "forks ethereum:mainnet" in problem and "set MAINNET_RPC_URL" in problem
    monkeypatch.setenv("MAINNET_RPC_URL", " ")
    assert "set MAINNET_RPC_URL" in (fork_upstream_problem(provider) or "")
    monkeypatch.setenv("MAINNET_RPC_URL", "http://127.0.0.1:8545")
    assert fork_upstream_problem(provider) is None
    assert fork_upstream_problem(networks.parse_network_choice("ethereum:local:test")._provider) is None


# ==================================================================================== scripts


@pytest.mark.parametrize("script", ["keeper", "deploy"])
def test_a_chain_that_does_not_answer_is_one_line(script):
    only_in_embedded_pass()
    url = f"http://127.0.0.1:{free_port()}"
    extra = ["--once"] if script == "keeper" else ["--markets", str(LOCAL_MARKETS)]
    result = run_ape(script, "--network", f"ethereum:local:{url}", *extra)
    assert_one_line(result, f"Error: cannot reach the chain at {url}: ")


def test_deploy_on_a_fork_without_an_upstream_url_is_one_line(tmp_path):
    only_in_embedded_pass()
    env = ape_env()
    env.pop("MAINNET_RPC_URL", None)
    result = subprocess.run([str(VENV_BIN / "ape"), "run", "deploy", "--network", "ethereum:mainnet-fork:foundry",
                             "--markets", str(ROOT / "markets" / "example-mainnet.yaml"),
                             "--deployments-dir", str(tmp_path)],
                            check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert_one_line(result, "Error: ethereum:mainnet-fork forks ethereum:mainnet", "set MAINNET_RPC_URL")
    assert list(tmp_path.iterdir()) == []
