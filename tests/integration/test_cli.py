"""The ``ringfence`` command line, driven as a subprocess against an Anvil node that this module
starts (the embedded chain does not outlive a process): deployed with ``ape run deploy`` and
``markets/local.yaml`` (a second run sends nothing), then a trader's story, an LP's story, and
every error path as one line on stderr with exit status 1 and nothing sent.

Runs once, in the embedded-chain pass of ``make test`` (see ``only_in_embedded_pass``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_deploy import (
    APE_LOCAL_CHAIN_ID,
    LOCAL_MARKETS,
    ROOT,
    AnvilNode,
    ape_env,
    call_selector,
    only_in_embedded_pass,
    rpc,
    run_ape_deploy,
)

USDC = 10**6
WAD = 10**18
ETH_USD = ["--market", "ETH-USD"]


@dataclass
class Deployed:
    anvil: AnvilNode
    deployments: Path
    data: dict
    accounts: list[str]

    @property
    def usdc(self) -> str:
        return self.data["mocks"]["token:USDC"]["address"]

    def market(self, market_id: str = "ETH-USD") -> dict:
        return self.data["markets"][market_id]

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "ringfence.cli", *args, "--network", self.anvil.ape_network,
                "--deployments", str(self.deployments)]

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(self.command(*args), cwd=ROOT, env=ape_env(), capture_output=True,
                              text=True, timeout=120)

    def ok(self, *args: str) -> Any:
        """Runs a command that must succeed; its JSON when it was asked for, else its output."""
        result = self.run(*args)
        assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
        return json.loads(result.stdout) if "--json" in args else result.stdout

    def ok_many(self, *commands: list[str]) -> list[Any]:
        """Runs independent commands concurrently (each pays Ape's start-up); all must succeed."""
        processes = [subprocess.Popen(self.command(*args), cwd=ROOT, env=ape_env(), text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                     for args in commands]
        results = []
        for args, process in zip(commands, processes):
            out, err = process.communicate(timeout=120)
            assert process.returncode == 0, f"{args}: {out}\n{err}"
            results.append(json.loads(out) if "--json" in args else out)
        return results

    def fail_all(self, cases: list[tuple[list[str], str]]) -> None:
        """Runs the failing commands concurrently; each prints one line `error: <text>` only."""
        processes = [subprocess.Popen(self.command(*args), cwd=ROOT, env=ape_env(), text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                     for args, _ in cases]
        for (args, expected), process in zip(cases, processes):
            out, err = process.communicate(timeout=120)
            assert process.returncode == 1, f"{args}: exit {process.returncode}\n{out}\n{err}"
            assert out == "", f"{args}: printed {out!r}"
            lines = err.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: "), f"{args}: {err!r}"
            assert expected in lines[0], f"{args}: {lines[0]!r} lacks {expected!r}"

    def balance(self, who: str) -> int:
        data = call_selector("balanceOf(address)", ["address"], [who])
        return int(rpc(self.anvil.url, "eth_call", {"to": self.usdc, "data": "0x" + data.hex()},
                       "latest"), 16)

    def nonce(self, who: str) -> int:
        return int(rpc(self.anvil.url, "eth_getTransactionCount", who, "latest"), 16)

    def open_raw(self, owner: str, *, nonce: int, is_long: bool, size: int, margin: int) -> str:
        """Opens a position without the CLI (approve + openPosition); returns the vault."""
        from eth_abi import decode
        from eth_utils import to_checksum_address

        pool = self.market()["pool"]
        self.anvil.send(owner, self.usdc, call_selector("approve(address,uint256)",
                                                        ["address", "uint256"], [pool, margin]))
        self.anvil.send(owner, pool, call_selector(
            "openPosition(uint96,bool,uint256,uint256,uint256)",
            ["uint96", "bool", "uint256", "uint256", "uint256"], [nonce, is_long, size, margin, 0]))
        data = call_selector("vaultAddress(address,uint96)", ["address", "uint96"], [owner, nonce])
        raw = rpc(self.anvil.url, "eth_call", {"to": pool, "data": "0x" + data.hex()}, "latest")
        return to_checksum_address(decode(["address"], bytes.fromhex(raw[2:]))[0])

    def set_price(self, usd: int, market_id: str = "ETH-USD") -> None:
        feed = self.data["mocks"][f"feed:{market_id}"]["address"]
        self.anvil.send(self.accounts[0], feed, call_selector("setAnswer(int256)", ["int256"],
                                                              [usd * 10**8]))


@pytest.fixture(scope="module")
def node(tmp_path_factory) -> Iterator[Deployed]:
    only_in_embedded_pass()
    anvil = AnvilNode("--chain-id", str(APE_LOCAL_CHAIN_ID))
    try:
        out = tmp_path_factory.mktemp("deployments")
        run_ape_deploy(anvil.ape_network, LOCAL_MARKETS, out)
        path = out / "ethereum-local.json"
        deployed = Deployed(anvil, path, json.loads(path.read_text()), anvil.accounts())
        for who in deployed.accounts[1:8]:
            anvil.send(who, deployed.usdc, call_selector("mint(address,uint256)",
                                                         ["address", "uint256"],
                                                         [who, 1_000_000 * USDC]))
        # LP liquidity for the traders (account 1, raw: the LP story below uses the CLI).
        lp, pool = deployed.accounts[1], deployed.market()["pool"]
        anvil.send(lp, deployed.usdc, call_selector("approve(address,uint256)",
                                                    ["address", "uint256"], [pool, 500_000 * USDC]))
        anvil.send(lp, pool, call_selector("deposit(uint256,address)", ["uint256", "address"],
                                           [500_000 * USDC, lp]))
        yield deployed
    finally:
        anvil.stop()


def test_ape_run_deploy_again_sends_nothing(node):
    data = node.data
    assert data["method"] == "create2" and data["chain_id"] == APE_LOCAL_CHAIN_ID
    block = int(rpc(node.anvil.url, "eth_blockNumber"), 16)
    again = run_ape_deploy(node.anvil.ape_network, LOCAL_MARKETS, node.deployments.parent)
    assert "0 transaction(s) sent" in again.stdout
    assert int(rpc(node.anvil.url, "eth_blockNumber"), 16) == block
    assert json.loads(node.deployments.read_text())["markets"] == data["markets"]


def test_markets_lists_both_markets(node):
    text, rows = node.ok_many(["markets"], ["markets", "--json"])
    assert "ETH-USD" in text and "BTC-USD" in text and "3,000.00" in text and "10.00x" in text
    assert [r["id"] for r in rows] == ["ETH-USD", "BTC-USD"]
    assert rows[0]["price_wad"] == 3000 * WAD and rows[0]["total_assets"] == 500_000 * USDC
    assert rows[1]["params"]["initial_margin_wad"] == WAD // 5


def test_trader_story_quote_open_status_add_remove_close(node):
    trader, friend = node.accounts[2], node.accounts[3]
    quote, text = node.ok_many(["quote", "--long", "--size", "1.5", "--margin", "600", *ETH_USD, "--json"],
                               ["quote", "--long", "--size", "1.5", "--margin", "600", *ETH_USD])
    assert quote["price_wad"] == 3000 * WAD and quote["notional"] == 4500 * USDC
    assert quote["open_fee"] == 4_500_000  # 0.1 % of 4,500
    assert quote["margin_required"] == 454_500_000  # 10 % of 4,500 plus the fee
    # long: (E - (m - f)/s) / (1 - MM) and E - (m - f)/s, with m - f = 595.5 over 1.5 ETH.
    assert quote["liquidation_price_wad"] == 2740 * WAD
    assert quote["bankruptcy_price_wad"] == 2603 * WAD
    assert "liquidation price: 2,740.00" in text and "margin required:   454.50 USDC" in text

    before = node.balance(trader)
    opened = node.ok("open", "--long", "--size", "1.5", "--margin", "600", *ETH_USD,
                     "--account", "TEST::2", "--json")
    vault = opened["vault"]
    assert opened["owner"] == trader and opened["margin"] == 600 * USDC
    assert node.balance(trader) == before - 600 * USDC
    # The quote is the model of the open: equal up to the borrow fee accrued since (wei-level).
    assert opened["entry_price_wad"] == quote["price_wad"]
    assert 0 <= opened["fees"] - quote["open_fee"] <= 10
    assert 0 <= opened["liquidation_price_wad"] - quote["liquidation_price_wad"] < WAD // 1000
    assert 0 <= opened["bankruptcy_price_wad"] - quote["bankruptcy_price_wad"] < WAD // 1000

    status, text = node.ok_many(["status", vault, "--json"], ["status", vault])
    assert status["side"] == "long" and status["size_wad"] == 3 * WAD // 2
    assert status["pnl"] == 0 and not status["liquidatable"]
    assert "liquidation price:" in text and "bankruptcy price:" in text and "leverage:" in text

    # Anyone may top up; only the owner takes out.
    added = node.ok("add-margin", vault, "--amount", "100", "--account", "TEST::3", "--json")
    assert added["margin"] == 700 * USDC and added["liquidation_price_wad"] < status["liquidation_price_wad"]
    assert node.balance(friend) == 1_000_000 * USDC - 100 * USDC
    removed = node.ok("remove-margin", vault, "--amount", "50", "--account", "TEST::2", "--json")
    assert removed["margin"] == 650 * USDC

    node.set_price(3100)
    try:
        status = node.ok("status", vault, "--json")
        assert status["pnl"] == 150 * USDC and status["price_wad"] == 3100 * WAD
        before = node.balance(trader)
        closed = node.ok("close", vault, "--account", "TEST::2", "--json")
        # 650 + 150 - 4.5 open fee - 4.65 close fee - a few units of borrow fee.
        assert 790_840_000 < closed["payout"] <= 790_850_000
        assert node.balance(trader) == before + closed["payout"]
    finally:
        node.set_price(3000)


def test_lp_story_deposit_withdraw(node):
    lp = node.accounts[5]
    start = node.balance(lp)
    deposited = node.ok("lp", "deposit", "--amount", "2500", *ETH_USD, "--account", "TEST::5", "--json")
    assert deposited["deposited"] == 2500 * USDC and deposited["minted"] == deposited["shares"] > 0
    assert 2500 * USDC - 2 <= deposited["assets"] <= 2500 * USDC  # ERC-4626 rounds down
    assert node.balance(lp) == start - 2500 * USDC
    withdrawn = node.ok("lp", "withdraw", "--amount", "1000", *ETH_USD, "--account", "TEST::5", "--json")
    assert withdrawn["withdrawn"] == 1000 * USDC and withdrawn["shares"] < deposited["shares"]
    assert node.balance(lp) == start - 1500 * USDC
    rest = node.ok("lp", "withdraw", "--all", *ETH_USD, "--account", "TEST::5", "--json")
    assert rest["max_withdraw"] == 0 and rest["assets"] <= 2
    assert node.balance(lp) >= start - 2


def test_every_error_is_one_line_and_sends_nothing(node):
    trader = node.accounts[2]
    vault = node.open_raw(trader, nonce=7, is_long=False, size=WAD, margin=600 * USDC)
    closed = node.open_raw(trader, nonce=8, is_long=True, size=WAD, margin=600 * USDC)
    node.anvil.send(trader, node.market()["pool"], call_selector(
        "closePosition(address,address,uint256)", ["address", "address", "uint256"],
        [closed, trader, 0]))
    watched = [node.accounts[i] for i in (2, 3, 6, 9)]
    nonces = [node.nonce(a) for a in watched]
    node.fail_all([
        (["open", "--long", "--size", "2", "--margin", "500", *ETH_USD, "--account", "TEST::6"],
         "leverage too high: margin after fees 494.00 USDC < initial margin 600.00 USDC"),
        (["close", vault, "--account", "TEST::3"],
         f"{node.accounts[3]} does not own this vault (owner {trader})"),
        (["open", "--long", "--size", "0.01", "--margin", "20", *ETH_USD, "--account", "TEST::6"],
         "position notional 30.00 USDC is below the market minimum 50.00 USDC"),
        (["open", "--short", "--size", "0.1", "--margin", "5", *ETH_USD, "--account", "TEST::6"],
         "margin 5.00 USDC is below the market minimum 10.00 USDC"),
        (["remove-margin", vault, "--amount", "450", "--account", "TEST::2"],
         "margin would fall below initial margin: 147.00 USDC < 300.00 USDC"),
        (["open", "--long", "--size", "1", "--margin", "500", *ETH_USD, "--account", "TEST::9"],
         f"balance 0.00 USDC of {node.accounts[9]} is below 500.00 USDC"),
        (["add-margin", vault, "--amount", "400.0000001"], "at most 6 decimals"),
        (["lp", "withdraw", "--amount", "1", *ETH_USD, "--account", "TEST::6"],
         "withdrawal of 1.00 USDC exceeds the maximum 0.00 USDC"),
        (["status", closed], f"the position of {closed} is not open"),
        (["claim", closed, "--account", "TEST::6"], f"nothing to claim in vault {closed}"),
    ])
    assert [node.nonce(a) for a in watched] == nonces  # no approval, no reverted transaction
