"""`ape run keeper` as a real process against an Anvil node this test starts (the session's chain
does not outlive a process): deployed with `ape run deploy` and markets/local.yaml, positions opened
by raw transactions, then `--once` (liquidates), `--once` again (a restarted keeper sends nothing),
and the continuous mode following new blocks until it is stopped.

Runs once, in the embedded-chain pass (it starts its own Anvil; the Anvil harness is
tests/integration/test_deploy.py's)."""

from __future__ import annotations

import json
import subprocess
import time

from tests.integration.test_deploy import (
    APE_LOCAL_CHAIN_ID,
    LOCAL_MARKETS,
    ROOT,
    VENV_BIN,
    AnvilNode,
    ape_env,
    call_selector,
    only_in_embedded_pass,
    rpc,
    run_ape_deploy,
)

USDC = 10**6
OPEN = ("openPosition(uint96,bool,uint256,uint256,uint256)", ["uint96", "bool", "uint256", "uint256", "uint256"])


def test_ape_run_keeper_once_restart_and_follow(tmp_path):
    only_in_embedded_pass()
    anvil = AnvilNode("--chain-id", str(APE_LOCAL_CHAIN_ID))
    follower = None
    try:
        run_ape_deploy(anvil.ape_network, LOCAL_MARKETS, tmp_path)
        path = tmp_path / "ethereum-local.json"
        data = json.loads(path.read_text())
        usdc, feed = data["mocks"]["token:USDC"]["address"], data["mocks"]["feed:ETH-USD"]["address"]
        pool = data["markets"]["ETH-USD"]["pool"]
        owner, lp, trader, *_ = anvil.accounts()
        keeper = anvil.accounts()[5]  # TEST::5
        for who in (lp, trader):
            anvil.send(who, usdc, call_selector("mint(address,uint256)", ["address", "uint256"], [who, 10**6 * USDC]))
            anvil.send(who, usdc, call_selector("approve(address,uint256)", ["address", "uint256"], [pool, 2**255]))
        anvil.send(lp, pool, call_selector("deposit(uint256,address)", ["uint256", "address"], [500_000 * USDC, lp]))
        for nonce, margin in enumerate((320, 330, 2_000)):  # two risky longs, one safe
            anvil.send(trader, pool, call_selector(*OPEN, [nonce, True, 10**18, margin * USDC, 0]))

        def set_price(usd: int) -> None:
            anvil.send(owner, feed, call_selector("setAnswer(int256)", ["int256"], [usd * 10**8]))

        def keeper_nonce() -> int:
            return int(rpc(anvil.url, "eth_getTransactionCount", keeper, "latest"), 16)

        command = [str(VENV_BIN / "ape"), "run", "keeper", "--network", anvil.ape_network, "--deployments",
                   str(path), "--account", "TEST::5"]
        set_price(2_800)
        once = subprocess.run([*command, "--once"], cwd=ROOT, env=ape_env(), capture_output=True, text=True,
                              timeout=240)
        assert once.returncode == 0, once.stdout + once.stderr
        assert "2 liquidatable, 1 transaction(s), 2 liquidated" in once.stdout, once.stdout
        assert keeper_nonce() == 1

        again = subprocess.run([*command, "--once"], cwd=ROOT, env=ape_env(), capture_output=True, text=True,
                               timeout=240)
        assert again.returncode == 0 and "0 transaction(s)" in again.stdout, again.stdout + again.stderr
        assert keeper_nonce() == 1  # the restarted keeper sent nothing

        follower = subprocess.Popen([*command, "--poll-interval", "0.2"], cwd=ROOT, env=ape_env(), text=True,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        anvil.send(trader, pool, call_selector(*OPEN, [9, False, 10**18, 320 * USDC, 0]))  # a risky short
        set_price(3_200)
        deadline = time.monotonic() + 120
        while keeper_nonce() == 1 and time.monotonic() < deadline and follower.poll() is None:
            time.sleep(0.5)
        assert keeper_nonce() == 2, "the following keeper did not liquidate the short"
        follower.terminate()
        output, _ = follower.communicate(timeout=30)
        assert "liquidated 1 of 1 vault(s)" in output, output
    finally:
        if follower is not None and follower.poll() is None:
            follower.kill()
            follower.communicate()
        anvil.stop()
