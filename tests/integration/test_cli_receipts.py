"""What the sending commands say while they work (simulating, approving, sent, confirmed in block N,
gas used) and the transactions they list in their output, human and JSON; errors as one JSON object
with ``--json``. In this process on the session's chain."""

from __future__ import annotations

import re

from tests.conftest import USDC
from tests.integration.test_cli_in_process import cli, one_line_error  # noqa: F401


def test_open_with_progress_reports_each_step_and_lists_its_transactions(cli, chain, usdc, owner, accounts):
    trader = accounts[7]  # no allowance yet: the open approves first
    usdc.mint(trader, 1_000 * USDC, sender=owner)
    run = cli("open", "--long", "--size", "1", "--margin", "400", "--progress", account="TEST::7")
    assert run.code == 0, run.err
    assert run.err[0] == "simulating openPosition (eth_call)…", run.err
    assert "approving the pool to pull 400.000000 USDC…" in run.err
    assert run.err.index("sending approve…") < run.err.index("sending openPosition…")
    sent = [re.fullmatch(r"sent (0x[0-9a-f]{64}): (\w+) confirmed in block (\d+), gas used ([\d,]+)", line)
            for line in run.err if line.startswith("sent ")]
    assert [m.group(2) for m in sent] == ["approve", "openPosition"], run.err
    for match in sent:
        receipt = chain.provider.get_receipt(match.group(1))
        assert receipt.block_number == int(match.group(3))
        assert receipt.gas_used == int(match.group(4).replace(",", ""))
        assert str(receipt.sender) == trader.address
        assert re.search(rf"transaction:\s+{match.group(1)} \({match.group(2)}, block {match.group(3)},", run.out)


def test_json_output_lists_the_transactions_and_progress_stays_off(cli, chain, open_vault, usdc, owner, accounts):
    vault = open_vault()
    usdc.mint(accounts[7], 1_000 * USDC, sender=owner)
    added = cli("add-margin", vault, "--amount", "10", "--json", "--progress", account="TEST::7")
    assert added.code == 0 and added.err == [], added.err
    data = added.json()
    assert [tx["function"] for tx in data["transactions"]] == ["approve", "addMargin"]
    last = data["transactions"][-1]
    receipt = chain.provider.get_receipt(last["tx_hash"])
    assert receipt.block_number == last["block"] and receipt.gas_used == last["gas_used"]
    assert data["added"] == 10 * USDC
    # Without --progress and without a terminal, stderr stays quiet.
    quiet = cli("add-margin", vault, "--amount", "10", account="TEST::7")
    assert quiet.code == 0 and quiet.err == [] and quiet.out.count("transaction:") == 2


def test_errors_with_json_are_one_object_with_the_error_name(cli, alice):
    nonce = alice.nonce
    run = cli("open", "--long", "--size", "10", "--margin", "400", "--json")
    assert run.code == 1 and run.err == [], (run.out, run.err)
    error = run.json()
    assert error["error"] == "LeverageTooHigh" and "3,000.00 USDC" in error["message"] and "transactions" not in error
    refused = cli("open", "--long", "--short", "--size", "1", "--margin", "400", "--json")
    assert refused.code == 1 and refused.json()["error"] == "CliError" and "--long" in refused.json()["message"]
    assert alice.nonce == nonce
    # Without --json the same refusal is one line on stderr, as before.
    assert "--long" in one_line_error(cli("open", "--long", "--short", "--size", "1", "--margin", "400"))


def test_usage_errors_with_json_are_one_object_too(cli):
    missing = cli("open", "--long", "--size", "1", "--json")
    assert missing.code == 2 and missing.err == [], (missing.out, missing.err)
    assert missing.json() == {"error": "UsageError", "message": "Missing option '--margin'."}
    unknown = cli("status", "0x" + "11" * 20, "--interval", "x", "--json")
    assert unknown.code == 2 and unknown.json()["error"] == "UsageError" and "'x'" in unknown.json()["message"]
    assert cli("no-such-command", "--json").json()["error"] == "UsageError"
    # Without --json, click's usage text on stderr, as before.
    plain = cli("open", "--long", "--size", "1")
    assert plain.code == 2 and plain.out == "" and "Missing option '--margin'" in "\n".join(plain.err)
