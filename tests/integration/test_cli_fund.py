"""``ringfence fund show|deposit``: a market's insurance fund, in this process on the session's chain."""

from __future__ import annotations

import re

from tests.conftest import USDC
from tests.integration.test_cli_in_process import cli, one_line_error, usdc_down  # noqa: F401


def test_fund_deposit_pays_the_fund_and_show_reports_it(cli, market, usdc, bob):
    fund = market.pool.insuranceFund()
    before_fund, before_bob = usdc.balanceOf(fund), usdc.balanceOf(bob)
    run = cli("fund", "deposit", "--amount", "250", "--json", account="TEST::3")
    assert run.code == 0, (run.out, run.err)
    data = run.json()
    assert usdc.balanceOf(fund) == before_fund + 250 * USDC and usdc.balanceOf(bob) == before_bob - 250 * USDC
    assert data["deposited"] == 250 * USDC and data["available"] == before_fund + 250 * USDC
    assert data["transactions"][-1]["function"] == "fund"
    assert usdc.allowance(bob, fund) == 0  # exactly the amount
    shown = cli("fund", "show", "--json").json()
    assert shown["fund"] == fund and shown["available"] == before_fund + 250 * USDC
    assert shown["funded"] == 250 * USDC and shown["funded_count"] == 1
    text = cli("fund", "show").out
    assert re.search(rf"available:\s+{re.escape(usdc_down(before_fund + 250 * USDC))} \(", text), text
    assert "1 deposit(s)" in text


def test_fund_deposit_refuses_more_than_the_balance_and_a_bad_amount(cli, market, usdc, accounts):
    fund = market.pool.insuranceFund()
    before = usdc.balanceOf(fund)
    line = one_line_error(cli("fund", "deposit", "--amount", "5", account="TEST::8"))
    assert "balance 0.00 USDC" in line
    line = one_line_error(cli("fund", "deposit", "--amount", "-3"))
    assert "--amount" in line
    assert usdc.balanceOf(fund) == before
