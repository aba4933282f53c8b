"""The ``ringfence`` command line, driven as a subprocess against an Anvil node that this module
starts (the embedded chain does not outlive a process): deployed with ``ape run deploy`` and
``markets/local.yaml`` (a second run sends nothing), then a trader's story, an LP's story (the
first deposit, then requests settled after an oracle round), views under a refused price, every
error path as one line on stderr with exit status 1 and nothing sent, and the README's LP
walkthrough run as written on a node of its own.

Those run once, in the embedded-chain pass of ``make test`` (see ``only_in_embedded_pass``). The
LP contract errors' one-line messages are checked in-process, on both chains.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import pytest

from ringfence.chain.contracts import fn
from tests.integration.test_deploy import (
    APE_LOCAL_CHAIN_ID,
    LOCAL_MARKETS,
    ROOT,
    AnvilNode,
    ape_env,
    local_deployment,
    only_in_embedded_pass,
    rpc,
    run_ape_deploy,
)

USDC = 10**6
WAD = 10**18
ETH_USD = ["--market", "ETH-USD"]
OFFSET = 10**6  # the pool's shares carry 6 more decimals than the token (ERC-4626 decimals offset)


def usd(units: int) -> str:
    """Token units as the CLI prints USDC amounts held or paid (2 decimals rounded down, thousands
    separated)."""
    return f"{Decimal(units).scaleb(-6).quantize(Decimal('0.01'), ROUND_FLOOR):,} USDC"


def utc(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def shares_for(assets: int, supply: int, total_assets: int, up: bool = False) -> int:
    """OpenZeppelin ERC-4626's conversion with the 6-decimal offset (floor, or ceiling)."""
    numerator, denominator = assets * (supply + OFFSET), total_assets + 1
    return -(-numerator // denominator) if up else numerator // denominator


def assets_for(shares: int, supply: int, total_assets: int) -> int:
    return shares * (total_assets + 1) // (supply + OFFSET)


def _communicate(process: subprocess.Popen, timeout: float = 180) -> tuple[str, str]:
    """A command's output; on a timeout the command is killed (no process outlives the test)."""
    try:
        return process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise


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
                              text=True, timeout=180)

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
            out, err = _communicate(process)
            assert process.returncode == 0, f"{args}: {out}\n{err}"
            results.append(json.loads(out) if "--json" in args else out)
        return results

    def fail_all(self, cases: list[tuple[list[str], str]], batch: int = 5) -> None:
        """Runs the failing commands, ``batch`` at a time concurrently (each pays Ape's start-up: more
        at once only thrash a small machine); each prints one line `error: <text>` only."""
        for start in range(0, len(cases), batch):
            self._fail_batch(cases[start:start + batch])

    def _fail_batch(self, cases: list[tuple[list[str], str]]) -> None:
        processes = [subprocess.Popen(self.command(*args), cwd=ROOT, env=ape_env(), text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                     for args, _ in cases]
        for (args, expected), process in zip(cases, processes):
            out, err = _communicate(process)
            assert process.returncode == 1, f"{args}: exit {process.returncode}\n{out}\n{err}"
            assert out == "", f"{args}: printed {out!r}"
            lines = err.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: "), f"{args}: {err!r}"
            assert expected in lines[0], f"{args}: {lines[0]!r} lacks {expected!r}"

    def balance(self, who: str) -> int:
        data = fn("MockERC20", "balanceOf")(who)
        return int(rpc(self.anvil.url, "eth_call", {"to": self.usdc, "data": "0x" + data.hex()},
                       "latest"), 16)

    def nonce(self, who: str) -> int:
        return int(rpc(self.anvil.url, "eth_getTransactionCount", who, "latest"), 16)

    def open_raw(self, owner: str, *, nonce: int, is_long: bool, size: int, margin: int) -> str:
        """Opens a position without the CLI (approve + openPosition); returns the vault."""
        from eth_utils import to_checksum_address

        pool = self.market()["pool"]
        self.anvil.send(owner, self.usdc, fn("MockERC20", "approve")(pool, margin))
        self.anvil.send(owner, pool, fn("MarginPool", "openPosition")(nonce, is_long, size, margin, 0))
        return to_checksum_address(self.read("MarginPool", "vaultAddress", [owner, nonce], pool))

    def set_price(self, usd: int, market_id: str = "ETH-USD") -> None:
        feed = self.data["mocks"][f"feed:{market_id}"]["address"]
        self.anvil.send(self.accounts[0], feed, fn("MockAggregator", "setAnswer")(usd * 10**8))

    def read(self, contract: str, name: str, args: list, to: str) -> Any:
        """``contract.name(*args)`` at ``to``, decoded (a tuple when it returns several values)."""
        from eth_abi import decode

        f = fn(contract, name)
        raw = rpc(self.anvil.url, "eth_call", {"to": to, "data": "0x" + f(*args).hex()}, "latest")
        out = decode(f.returns, bytes.fromhex(raw[2:]))
        return out[0] if len(out) == 1 else out

    def pool(self, name: str, *args: str, market_id: str = "ETH-USD") -> int:
        """A uint view of the pool: ``pool("totalAssets")``, ``pool("balanceOf", who)``."""
        return int(self.read("MarginPool", name, list(args), self.market(market_id)["pool"]))

    def feed(self, market_id: str = "ETH-USD") -> str:
        return self.data["mocks"][f"feed:{market_id}"]["address"]

    def round_time(self, market_id: str = "ETH-USD") -> int:
        return int(self.read("MockAggregator", "latestRoundData", [], self.feed(market_id))[3])

    def head_time(self) -> int:
        return int(rpc(self.anvil.url, "eth_getBlockByNumber", "latest", False)["timestamp"], 16)

    def next_round(self, market_id: str = "ETH-USD") -> None:
        """tests.conftest.next_round for this node: a new round with the same answer, in a later
        second than the head (LP requests settle only on a round published after them)."""
        rpc(self.anvil.url, "evm_setNextBlockTimestamp", self.head_time() + 1)
        answer = int(self.read("MockAggregator", "latestAnswer", [], self.feed(market_id)))
        self.anvil.send(self.accounts[0], self.feed(market_id), fn("MockAggregator", "setAnswer")(answer))

    def one_line_error(self, *args: str) -> str:
        """Runs a command that must fail with one line on stderr and print nothing; the line."""
        result = self.run(*args)
        assert result.returncode == 1, f"{args}: exit {result.returncode}\n{result.stdout}\n{result.stderr}"
        assert result.stdout == "", f"{args}: printed {result.stdout!r}"
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), f"{args}: {result.stderr!r}"
        return lines[0]


@pytest.fixture(scope="module")
def node(tmp_path_factory) -> Iterator[Deployed]:
    only_in_embedded_pass()
    with local_deployment(tmp_path_factory) as (anvil, path, data):
        deployed = Deployed(anvil, path, data, anvil.accounts())
        for who in deployed.accounts[1:8]:
            anvil.send(who, deployed.usdc, fn("MockERC20", "mint")(who, 1_000_000 * USDC))
        # LP liquidity for the traders (account 1, raw: the LP story below uses the CLI).
        lp, pool = deployed.accounts[1], deployed.market()["pool"]
        anvil.send(lp, deployed.usdc, fn("MockERC20", "approve")(pool, 500_000 * USDC))
        anvil.send(lp, pool, fn("MarginPool", "deposit")(500_000 * USDC, lp))
        yield deployed


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
    assert rows[0]["liquidity"] == 500_000 * USDC and rows[0]["pending_deposits"] == 0
    assert "500,000.00 USDC marked to the oracle price" in text
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


def test_lp_first_deposit_is_immediate_then_deposits_are_requests(node):
    lp = node.accounts[4]
    start = node.balance(lp)
    btc = ["--market", "BTC-USD", "--account", "TEST::4", "--json"]
    first = node.ok("lp", "deposit", "--amount", "2500", *btc)
    # An empty pool: the sync ERC-4626 deposit, assets * (0 + 10**6) / (0 + 1) shares.
    assert first["deposited"] == 2500 * USDC and first["minted"] == first["shares"] == 2500 * USDC * OFFSET
    assert first["deposit_request"] is None and first["liquidity"] == first["total_assets"] == 2500 * USDC
    second = node.ok("lp", "deposit", "--amount", "1000", *btc)
    # Now the pool has shares: a request, quoted 1000e6 * (2500e12 + 1e6) / (2500e6 + 1) = 1000e12.
    assert "deposited" not in second and second["requested_deposit"] == 1000 * USDC
    assert second["quote_shares"] == 1000 * USDC * OFFSET
    assert second["shares"] == first["shares"] and second["liquidity"] == 2500 * USDC
    assert second["pending_deposits"] == 1000 * USDC
    assert node.balance(lp) == start - 3500 * USDC


def test_lp_story_request_round_settle_redeem(node):
    lp, keeper, whale = node.accounts[5], node.accounts[6], node.accounts[7]
    me = [*ETH_USD, "--account", "TEST::5"]
    start = node.balance(lp)
    supply, assets = node.pool("totalSupply"), node.pool("totalAssets")
    assert assets == node.pool("liquidity")  # no open position: marked == realized

    requested = node.ok("lp", "deposit", "--amount", "2500", *me, "--json")
    quote = shares_for(2500 * USDC, supply, assets)
    assert requested["requested_deposit"] == 2500 * USDC and requested["quote_shares"] == quote
    assert requested["shares"] == 0 and requested["pending_deposits"] == 2500 * USDC
    assert requested["liquidity"] == assets  # the LPs' only once settled
    assert node.balance(lp) == start - 2500 * USDC
    request = requested["deposit_request"]
    assert request["assets"] == 2500 * USDC and request["quote_shares"] == quote
    assert request["time"] == node.head_time() and request["waits_for"] is not None

    # Too early: one line with the request's time and the latest round's, nothing sent.
    nonce = node.nonce(lp)
    line = node.one_line_error("lp", "settle", *me)
    assert line == (f"error: the deposit request of {lp} waits for an oracle round after "
                    f"{utc(request['time'])} (latest round at {utc(node.round_time())})")
    assert node.nonce(lp) == nonce

    node.next_round()
    shown, text = node.ok_many(["lp", "show", *me, "--json"], ["lp", "show", *me])
    assert shown["deposit_request"]["waits_for"] is None and shown["deposit_request"]["shares_now"] == quote
    assert "ready to settle" in text and f"for at most {Decimal(quote).scaleb(-12).quantize(Decimal('0.0001'), ROUND_FLOOR):,} shares" in text

    # Anyone may settle (here a keeper, for the LP): the shares go to the LP, the keeper pays only gas.
    keeper_usdc = node.balance(keeper)
    settled = node.ok("lp", "settle", "--controller", lp, *ETH_USD, "--account", "TEST::6", "--json")
    assert settled["settled_deposit_shares"] == quote and settled["shares"] == quote
    assert settled["deposit_request"] is None and settled["pending_deposits"] == 0
    assert settled["liquidity"] == assets + 2500 * USDC
    assert node.pool("balanceOf", keeper) == 0 and node.balance(keeper) == keeper_usdc

    # Redeem 1,000 USDC's worth: the shares rounded up, the quote their worth rounded down.
    supply, assets = node.pool("totalSupply"), node.pool("totalAssets")
    shares = shares_for(1000 * USDC, supply, assets, up=True)
    quote_assets = assets_for(shares, supply, assets)
    redeem = node.ok("lp", "redeem", "--amount", "1000", *me, "--json")
    assert redeem["requested_redeem"] == shares and redeem["quote_assets"] == quote_assets >= 1000 * USDC
    assert redeem["shares"] == quote - shares  # the rest; the requested ones are the pool's now
    assert node.pool("balanceOf", node.market()["pool"]) == shares
    line = node.one_line_error("lp", "redeem", "--all", *me)
    assert "a redemption of" in line and "is pending (one at a time, not cancellable)" in line

    # Ready, but a large position reserves the free liquidity: it waits for free liquidity.
    node.next_round()
    free = node.pool("freeLiquidity")
    margin = (free - 500 * USDC) // 5  # the reserve is 5x the margin (max_profit 5x, notional 2x margin)
    vault = node.open_raw(whale, nonce=0, is_long=True, size=2 * margin * 10**12 // 3000, margin=margin)
    free = node.pool("freeLiquidity")
    needed = node.pool("previewSettleRedeem", lp)
    assert free < needed == quote_assets
    line = node.one_line_error("lp", "settle", *me)
    assert line == (f"error: the redemption request of {lp} waits for free liquidity ({usd(free)} free, "
                    f"{usd(needed)} to pay)")
    shown = node.ok("lp", "show", *me, "--json")
    assert shown["redeem_request"]["waits_for"] == f"free liquidity ({usd(free)} free, {usd(needed)} to pay)"

    node.anvil.send(whale, node.market()["pool"], fn("MarginPool", "closePosition")(vault, whale, 0))
    before = node.balance(lp)
    paid = node.ok("lp", "settle", *me, "--json")
    # The whale's fees raised the share price since the request: the quote is paid, not more.
    assert paid["settled_redeem_assets"] == quote_assets and paid["redeem_request"] is None
    assert node.balance(lp) == before + quote_assets

    rest = node.ok("lp", "redeem", "--all", *me, "--json")
    assert rest["requested_redeem"] == quote - shares and rest["shares"] == 0
    node.next_round()
    last = node.ok("lp", "settle", *me, "--json")
    assert last["settled_redeem_assets"] == rest["quote_assets"] and last["shares"] == 0
    # Out with what it paid in plus its part of the whale's fees (on the shares it still held).
    assert node.balance(lp) == start - 2500 * USDC + quote_assets + rest["quote_assets"] > start


def test_views_show_the_realized_liquidity_when_the_oracle_refuses_the_price(node):
    node.set_price(2_000_000)  # above the ETH-USD band (max_answer 1,000,000): PriceOutOfBounds
    try:
        rows, shown, text = node.ok_many(["markets", "--json"],
                                         ["lp", "show", *ETH_USD, "--account", "TEST::1", "--json"],
                                         ["lp", "show", *ETH_USD, "--account", "TEST::1"])
        eth = rows[0]
        assert eth["price_wad"] is None and eth["total_assets"] is None
        assert eth["liquidity"] == node.pool("liquidity") > 0
        assert "outside the market's band" in eth["price_refused"]
        assert shown["total_assets"] is None and shown["value"] is None and shown["redeemable"] is None
        assert shown["shares"] == node.pool("balanceOf", node.accounts[1]) > 0
        assert shown["liquidity"] == eth["liquidity"]
        assert "marked value unavailable: the oracle refuses the price" in text
        assert "price:           refused: oracle answer" in text
        # A request needs the price for its quote: refused by name, nothing sent.
        nonce = node.nonce(node.accounts[1])
        line = node.one_line_error("lp", "redeem", "--all", *ETH_USD, "--account", "TEST::1")
        assert "outside the market's band" in line and node.nonce(node.accounts[1]) == nonce
    finally:
        node.set_price(3000)


def test_every_error_is_one_line_and_sends_nothing(node):
    trader = node.accounts[2]
    vault = node.open_raw(trader, nonce=7, is_long=False, size=WAD, margin=600 * USDC)
    closed = node.open_raw(trader, nonce=8, is_long=True, size=WAD, margin=600 * USDC)
    node.anvil.send(trader, node.market()["pool"], fn("MarginPool", "closePosition")(closed, trader, 0))
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
         "USDC < 300.00 USDC; at most 296.99"),  # 600 - 450 - fees < 10 % of 3,000; 600 - 303 at most
        (["open", "--long", "--size", "1", "--margin", "500", *ETH_USD, "--account", "TEST::9"],
         f"balance 0.00 USDC of {node.accounts[9]} is below 500.00 USDC"),
        (["add-margin", vault, "--amount", "400.0000001"], "at most 6 decimals"),
        (["lp", "redeem", "--amount", "1", *ETH_USD, "--account", "TEST::6"],
         f"{node.accounts[6]} holds no shares of this pool"),
        (["lp", "withdraw", "--all", *ETH_USD, "--account", "TEST::6"],
         f"{node.accounts[6]} holds no shares of this pool"),
        (["lp", "redeem", "--shares", "1", "--all", *ETH_USD, "--account", "TEST::6"],
         "give --shares or --all, not both"),
        (["lp", "settle", *ETH_USD, "--account", "TEST::6"],
         f"{node.accounts[6]} has no pending deposit or redemption request"),
        (["lp", "deposit", "--amount", "10", *ETH_USD, "--account", "TEST::9"],
         f"balance 0.00 USDC of {node.accounts[9]} is below 10.00 USDC"),
        (["mock", "round", "--price", "3000.000000001", *ETH_USD], "at most 8 decimals"),
        (["claim", closed, "--account", "TEST::6"], f"nothing to claim in vault {closed}"),
    ])
    assert [node.nonce(a) for a in watched] == nonces  # no approval, no reverted transaction


# ==================================================================================== LP errors


def test_lp_contract_errors_read_as_one_line_with_numbers(market, lp, alice, mallory):
    """The named errors of the LP paths, through the CLI's formatter: amounts in tokens, shares with
    the pool's decimals, times in UTC."""
    from ringfence.cli import human_error
    from ringfence.errors import RingfenceError, contract_errors
    from tests.conftest import next_round

    pool = market.pool
    share_decimals = int(pool.decimals())
    assert share_decimals == 12  # 6-decimal token, 6-decimal offset

    def message(call) -> str:
        with pytest.raises(RingfenceError) as info:
            with contract_errors():
                call()
        text = human_error(info.value, 6, "USDC", share_decimals)
        assert "\n" not in text
        return text

    tail_in = "LPs enter by request (requestDeposit, settled after the next oracle round)"
    tail_out = "LPs leave by request (requestRedeem, settled after the next oracle round)"
    assert message(lambda: market.deposit(alice, 5 * USDC)) == \
        f"deposit of 5.00 USDC exceeds the maximum 0.00 USDC: once the pool has shares, {tail_in}"
    assert message(lambda: pool.mint(3 * 10**12, alice, sender=alice)) == \
        f"mint of 3.0000 shares exceeds the maximum 0.0000 shares: once the pool has shares, {tail_in}"
    assert message(lambda: pool.redeem(10**12, lp, lp, sender=lp)) == \
        f"redemption of 1.0000 shares exceeds the maximum 0.0000 shares: {tail_out}"
    assert message(lambda: pool.withdraw(USDC, lp, lp, sender=lp)) == \
        f"withdrawal of 1.00 USDC exceeds the maximum 0.00 USDC: {tail_out}"
    assert message(lambda: market.settle_deposit(mallory, alice)) == \
        f"{alice.address} has no pending request to settle"

    quote = market.request_deposit(alice, 100 * USDC)
    assert message(lambda: market.request_deposit(alice, 100 * USDC)) == \
        f"{alice.address} already has a pending request of this kind (one at a time): settle it first"
    requested_at = market.lp_requests(alice).deposit_time
    round_at = int(at_feed(market).latestRoundData()[3])
    assert round_at <= requested_at
    assert message(lambda: market.settle_deposit(mallory, alice)) == \
        f"the request waits for an oracle round after {utc(requested_at)} (latest round at {utc(round_at)})"
    next_round(market, mallory)
    assert market.settle_deposit(mallory, alice) == quote  # nothing moved the share price


def at_feed(market):
    from ape import project

    from ringfence.abi import at

    return at(project.MockAggregator, str(at(project.ChainlinkOracle, market.pool.oracle()).feed()))
