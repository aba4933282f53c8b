"""``ringfence positions`` in this process on the session's chain: every vault of an account, open
and closed, with its liquidation price, health, PnL and the credit left to claim."""

from __future__ import annotations

import re

from tests.conftest import ETH, USDC, apply_params
from tests.integration.test_cli_in_process import cli, one_line_error, usdc_down  # noqa: F401

WAD = 10**18


def test_positions_lists_open_closed_and_liquidated_vaults_with_the_claim_command(
        cli, protocol, market, pool, open_vault, keeper, set_price, owner, params, alice):
    apply_params(protocol, pool, params.with_(min_notional=250 * USDC), owner)
    open_one = open_vault(size=ETH, margin=400 * USDC, nonce=0)
    closed = open_vault(size=ETH, margin=400 * USDC, nonce=1)
    market.close(alice, closed)
    doomed = open_vault(size=ETH // 10, margin=40 * USDC, nonce=2)
    set_price(market.state(doomed).liquidation_price_wad // WAD - 1)
    event = protocol.liquidator.liquidate(doomed, sender=keeper).decode_logs(pool.Liquidated)[0]
    assert event.full and event.ownerCredit > 0
    data = cli("positions", "--json").json()
    assert data["owner"] == alice.address
    by_vault = {row["vault"]: row for row in data["positions"]}
    assert set(by_vault) == {open_one, closed, doomed}
    assert by_vault[open_one]["status"] == "open" and by_vault[open_one]["nonce"] == 0
    state = market.state(open_one)
    assert by_vault[open_one]["liquidation_price_wad"] == state.liquidation_price_wad
    assert by_vault[open_one]["health_wad"] == state.health_wad and by_vault[open_one]["pnl"] == state.pnl
    assert by_vault[closed]["status"] == "closed" and by_vault[closed]["last_close"]["payout"] > 0
    assert by_vault[doomed]["status"] == "liquidated" and by_vault[doomed]["claimable"] == event.ownerCredit
    assert by_vault[doomed]["claim_command"] == f"ringfence claim {doomed}"
    run = cli("positions")
    assert run.code == 0, run.err
    assert f"ringfence claim {doomed}" in run.out and usdc_down(event.ownerCredit) in run.out
    assert re.search(r"status:\s+open", run.out) and re.search(r"status:\s+closed", run.out)
    # Another owner's view, through --owner, from any account.
    other = cli("positions", "--owner", alice.address, "--json", account="TEST::3").json()
    assert {row["vault"] for row in other["positions"]} == {open_one, closed, doomed}


def test_positions_of_an_account_without_vaults_and_a_bad_owner(cli, open_vault):
    open_vault()
    run = cli("positions", account="TEST::6")
    assert run.code == 0 and "no vaults found" in run.out, (run.out, run.err)
    assert cli("positions", "--json", account="TEST::6").json()["positions"] == []
    line = one_line_error(cli("positions", "--owner", "0x1234"))
    assert "not an address" in line
