"""The ``ringfence`` command line run in this process on the test session's chain (both chains): what
it reports once a transaction is mined, what ``status`` shows without a price or after a
liquidation, the default slippage bound, the flags it refuses, and the numbers of its refusals.
Also the SDK's exact approvals, which the commands rely on."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import pytest
from click.testing import CliRunner

from tests.conftest import ETH, USDC, advance_to, apply_params

WAD = 10**18


class Run:
    """One command's exit code, stdout and stderr lines."""

    def __init__(self, result: Any):
        self.code = result.exit_code
        self.out = result.stdout
        self.err = [line for line in result.stderr.splitlines() if line.strip()]

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def cli(deployments, in_process):
    """``cli("status", vault, account="TEST::2")``: the command in this process, on this chain."""
    from ringfence.cli import main

    def _run(*args: str, account: str = "TEST::2") -> Run:
        result = CliRunner(mix_stderr=False).invoke(
            main, [*args, "--deployments", str(deployments), "--account", account])
        return Run(result)

    return _run


def usdc_down(units: int) -> str:
    """Token units as the CLI shows an amount held or received: 2 decimals, rounded down."""
    return f"{Decimal(units).scaleb(-6).quantize(Decimal('0.01'), ROUND_FLOOR):,} USDC"


def one_line_error(run: Run) -> str:
    assert run.code == 1 and run.out == "", (run.code, run.out, run.err)
    assert len(run.err) == 1 and run.err[0].startswith("error: "), run.err
    return run.err[0]


def make_stale(chain) -> None:
    advance_to(chain, chain.blocks.head.timestamp + 2 * 3600)  # the oracle's maxAge is one hour


# ==================================================================================== after a transaction


def test_add_margin_with_a_stale_price_reports_the_mined_transaction(cli, market, open_vault, chain):
    vault = open_vault(margin=400 * USDC)
    make_stale(chain)
    run = cli("add-margin", vault, "--amount", "10")
    assert run.code == 0, run.err
    assert market.position(vault).margin == 410 * USDC
    assert "added:" in run.out and "10.00 USDC" in run.out and "margin:" in run.out
    assert len(run.err) == 1 and run.err[0].startswith("warning: ") and "stale" in run.err[0], run.err
    assert not any("error" in line for line in run.err)


# ==================================================================================== status


def test_status_with_a_stale_price_shows_the_position_without_a_price(cli, market, open_vault, chain):
    vault = open_vault(size=ETH, margin=400 * USDC)
    make_stale(chain)
    run = cli("status", vault)
    assert run.code == 0, run.err
    assert re.search(r"margin:\s+400\.00 USDC", run.out) and re.search(r"size:\s+1\b", run.out)
    assert re.search(r"entry price:\s+3,000\.00", run.out) and "fees owed:" in run.out
    assert re.search(r"price:\s+unavailable \(.*stale", run.out), run.out
    data = cli("status", vault, "--json").json()
    assert data["price_wad"] is None and data["margin"] == 400 * USDC and data["size_wad"] == ETH
    assert data["fees"] >= 3 * USDC and data["price_unavailable"]


def test_status_of_a_liquidated_vault_shows_the_credit_and_the_claim_command(
        cli, protocol, market, pool, open_vault, keeper, set_price, owner, params):
    apply_params(protocol, pool, params.with_(min_notional=250 * USDC), owner)
    vault = open_vault(size=ETH // 10, margin=40 * USDC)
    set_price(market.state(vault).liquidation_price_wad // WAD - 1)
    event = protocol.liquidator.liquidate(vault, sender=keeper).decode_logs(pool.Liquidated)[0]
    assert event.full and event.ownerCredit > 0
    run = cli("status", vault)
    assert run.code == 0, run.err
    assert re.search(rf"claimable:\s+{re.escape(usdc_down(event.ownerCredit))}", run.out), run.out
    assert f"ringfence claim {vault}" in run.out
    assert "liquidated" in run.out and "full" in run.out
    data = cli("status", vault, "--json").json()
    assert data["status"] == "liquidated" and data["claimable"] == event.ownerCredit
    assert data["liquidation"]["full"] is True and data["liquidation"]["owner_credit"] == event.ownerCredit


def test_status_refuses_a_market_the_vault_is_not_in(cli, open_vault):
    vault = open_vault()
    line = one_line_error(cli("status", vault, "--market", "DOGE-USD"))
    assert "ETH-USD" in line and "DOGE-USD" in line


# ==================================================================================== slippage and sides


def test_open_bounds_the_price_by_default_slippage(cli, market, monkeypatch, alice):
    """Without --slippage the open carries a 0.5 % bound around the price the CLI read: a quote read at
    2,900 (the oracle says 3,000) is refused by the pool's slippage check, nothing sent."""
    from ringfence.sdk import Market

    opened = cli("open", "--long", "--size", "1", "--margin", "400", "--json").json()
    assert opened["acceptable_price_wad"] == 3000 * WAD * 1005 // 1000
    real = Market.quote_open

    def stale_quote(self, *args, **kwargs):
        quote, nonce = real(self, *args, **kwargs)
        return replace(quote, price_wad=2900 * WAD), nonce

    monkeypatch.setattr(Market, "quote_open", stale_quote)
    nonce = alice.nonce
    line = one_line_error(cli("open", "--long", "--size", "1", "--margin", "400"))
    assert "acceptable price 2,914.50" in line and alice.nonce == nonce


def test_slippage_is_a_percentage_and_sides_are_exclusive(cli, market, alice):
    half = cli("open", "--short", "--size", "1", "--margin", "400", "--slippage", "0.5", "--json").json()
    assert half["acceptable_price_wad"] == 3000 * WAD * 995 // 1000  # 0.5 %, not 50 %
    nonce = alice.nonce
    line = one_line_error(cli("open", "--long", "--short", "--size", "1", "--margin", "400"))
    assert "--long" in line and "--short" in line and alice.nonce == nonce
    line = one_line_error(cli("open", "--size", "1", "--margin", "400"))
    assert "--long" in line and alice.nonce == nonce


def test_close_bounds_the_price_by_default_slippage(cli, open_vault):
    long_vault = open_vault(is_long=True, nonce=0)
    short_vault = open_vault(is_long=False, nonce=1)
    closed_long = cli("close", long_vault, "--json").json()
    closed_short = cli("close", short_vault, "--json").json()
    assert closed_long["acceptable_price_wad"] == 3000 * WAD * 995 // 1000  # selling: a floor
    assert closed_short["acceptable_price_wad"] == 3000 * WAD * 1005 // 1000  # buying: a ceiling


# ==================================================================================== numbers


def test_quote_and_status_show_the_same_leverage(cli, open_vault):
    quoted = cli("quote", "--long", "--size", "1", "--margin", "400")
    vault = open_vault(size=ETH, margin=400 * USDC)
    status = cli("status", vault)
    assert re.search(r"leverage:\s+7\.50x \(notional / margin\)", quoted.out), quoted.out
    assert re.search(r"leverage:\s+7\.50x \(notional / margin\)", status.out), status.out


def test_remove_margin_refusals_show_distinct_numbers_and_the_most_removable(cli, market, open_vault, chain):
    vault = open_vault(size=ETH, margin=310 * USDC)
    advance_to(chain, chain.blocks.head.timestamp + 600)  # some borrow fees: 310 - 7 - fees < 300
    line = one_line_error(cli("remove-margin", vault, "--amount", "7"))
    available, required = re.search(r"([\d,.]+) USDC < ([\d,.]+) USDC", line).groups()
    assert available != required, line
    most = re.search(r"at most ([\d,.]+) USDC", line).group(1)
    assert 6.99 < float(most) < 7
    assert cli("remove-margin", vault, "--amount", most).code == 0
    line = one_line_error(cli("remove-margin", vault, "--amount", "1000"))
    assert "exceeds" in line and f"margin {usdc_down(market.position(vault).margin)}" in line


def test_lp_withdraw_without_shares_and_with_two_amounts(cli):
    line = one_line_error(cli("lp", "withdraw", "--amount", "5", account="TEST::6"))
    assert "holds no shares" in line
    line = one_line_error(cli("lp", "withdraw", "--amount", "5", "--all", account="TEST::4"))
    assert "not both" in line


# ==================================================================================== the SDK's approvals


def test_sdk_approves_exactly_the_amount(market, usdc, owner, accounts):
    trader = accounts[7]
    usdc.mint(trader, 10_000 * USDC, sender=owner)
    vault = market.open(trader, is_long=True, size=ETH, margin=400 * USDC)
    assert usdc.allowance(trader, market.pool) == 0
    market.add_margin(trader, vault, 50 * USDC)
    assert usdc.allowance(trader, market.pool) == 0
    market.request_deposit(trader, 1_000 * USDC)
    assert usdc.allowance(trader, market.pool) == 0
    market.add_margin(trader, vault, 10 * USDC, approve="unlimited")
    assert usdc.allowance(trader, market.pool) == 2**256 - 1
