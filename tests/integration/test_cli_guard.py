"""``ringfence guard show|set|cancel``: a vault owner's top-up policy at the MarginGuard, in this process
on the session's chain (the guard given by ``--guard``; the deployments file's is tested by the devnet)."""

from __future__ import annotations

import pytest

from ringfence.guard import Guard
from tests.conftest import USDC
from tests.integration.test_cli_in_process import cli, one_line_error  # noqa: F401

WAD = 10**18


@pytest.fixture(scope="module")
def guard(owner, protocol) -> Guard:
    return Guard.deploy(owner, protocol.factory)


def test_set_show_and_cancel_a_wallet_policy(cli, guard, open_vault, usdc, alice, bob, set_price):
    vault = open_vault()  # alice (TEST::2): 1 ETH long at 3,000 with 400 USDC
    at = ("--guard", guard.address)
    assert "policy: none" in " ".join(cli("guard", "show", vault, *at).out.split())
    run = cli("guard", "set", vault, "--trigger", "1.3", "--target", "1.6", "--max-per-top-up", "100",
              "--budget", "300", "--fee", "1.5", "--expires", "30d", *at, "--json")
    assert run.code == 0, (run.out, run.err)
    data = run.json()
    assert [tx["function"] for tx in data["transactions"]] == ["approve", "setPolicy"]
    stored = guard.policy(alice, vault)
    assert (stored.trigger_health_wad, stored.target_health_wad) == (13 * WAD // 10, 16 * WAD // 10)
    assert (stored.max_per_top_up, stored.budget, stored.fee, stored.reserve_id) == \
        (100 * USDC, 300 * USDC, 1_500_000, 0)
    assert stored.expiry > 0 and data["expiry"] == stored.expiry
    assert usdc.allowance(alice, guard.address) == 300 * USDC  # exactly the budget

    healthy = cli("guard", "show", vault, *at).out
    assert "trigger: health below 1.300" in " ".join(healthy.split()), healthy
    assert f"top-up now: {vault} is healthy: health " in " ".join(healthy.split()), healthy
    assert "is not below the trigger 1.300" in healthy
    set_price(2_760)  # equity 400 - 3 - 240 = 157 on a requirement of 5 % of 2,760: health ~1.14
    due = cli("guard", "show", vault, *at, "--json").json()
    amount, fee, health = guard.quote(vault)
    assert due["top_up_now"] == {"amount": amount, "fee": fee, "health_wad": health}
    assert 0 < amount <= 100 * USDC and fee == 1_500_000 and health < 13 * WAD // 10

    done = cli("guard", "cancel", vault, *at, "--json")
    assert done.code == 0 and done.json()["cancelled"] is True
    assert not guard.policy(alice, vault).exists
    assert "has no policy" in one_line_error(cli("guard", "cancel", vault, *at))


def test_bad_policies_are_one_line_and_send_nothing(cli, guard, open_vault, alice, bob):
    vault = open_vault()
    at = ("--guard", guard.address)
    nonces = alice.nonce, bob.nonce
    base = ["guard", "set", vault, "--max-per-top-up", "100", "--budget", "300", *at]
    assert one_line_error(cli(*base, "--trigger", "1.5", "--target", "1.5")) == \
        "error: the target health 1.500 must be above the trigger 1.500"
    assert one_line_error(cli(*base, "--trigger", "1.3", "--target", "1.6", "--fee", "11")) == \
        "error: the fee 11.00 USDC is above 10.00 USDC, a tenth of the most per top-up"
    assert "does not own vault" in one_line_error(cli(*base, "--trigger", "1.3", "--target", "1.6",
                                                      account="TEST::3"))
    assert "--trigger" in one_line_error(cli(*base, "--trigger", "x", "--target", "1.6"))
    assert "--expires" in one_line_error(cli(*base, "--trigger", "1.3", "--target", "1.6", "--expires", "soon"))
    assert "no contract at the guard address" in one_line_error(
        cli("guard", "show", vault, "--guard", "0x" + "12" * 20))
    assert (alice.nonce, bob.nonce) == nonces
    assert not guard.policy(alice, vault).exists


def test_without_a_guard_in_the_deployments_file_the_command_says_what_to_do(cli, open_vault):
    line = one_line_error(cli("guard", "show", open_vault()))
    assert "records no MarginGuard" in line and "--guard <address>" in line, line
