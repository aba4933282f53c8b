"""``ringfence guard show|set|cancel``: a vault owner's top-up policy at the MarginGuard; ``guard reserve
open|deposit|withdraw|earmark|show``: the owner's reserves, a policy paying from one, and their one-line
refusals; the top-up price ``status`` and ``guard show`` print (``ringfence.model.top_up_price``). In this
process on the session's chain (the guard given by ``--guard``, or recorded in the deployments file)."""

from __future__ import annotations

import json
import re

import pytest

from ringfence import model
from ringfence.cli.formatting import fmt_price
from ringfence.guard import Guard, GuardPolicy
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
    healthy_json = cli("guard", "show", vault, *at, "--json")  # the guard's refusal leaves stdout JSON (no trace)
    assert healthy_json.json()["top_up_now"] is None and "is healthy" in healthy_json.json()["top_up_refused"]
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


# ==================================================================================== reserves


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_reserve_open_deposit_earmark_show_and_withdraw(cli, guard, open_vault, usdc, alice, bob):
    vault, other = open_vault(), open_vault(nonce=1)
    at = ("--guard", guard.address)
    opened = cli("guard", "reserve", "open", "--market", "ETH-USD", "--vault", vault, *at)
    assert opened.code == 0, (opened.out, opened.err)
    rid = int(re.search(r"reserve opened:\s+(\d+)", opened.out).group(1))
    assert rid == guard.contract.reserveCount()
    state = guard.reserve(rid)
    assert (state.owner, state.token, state.balance) == (alice.address, usdc.address, 0)
    assert guard.is_earmarked(rid, vault) and not guard.is_earmarked(rid, other)

    wallet, allowance = usdc.balanceOf(alice), usdc.allowance(alice, guard.address)
    assert allowance == 0
    deposit = cli("guard", "reserve", "deposit", str(rid), "250.5", *at, "--json")
    assert deposit.code == 0, (deposit.out, deposit.err)
    data = deposit.json()
    assert [tx["function"] for tx in data["transactions"]] == ["approve", "depositReserve"]
    assert data["balance"] == guard.reserve(rid).balance == 250_500_000 and data["deposited"] == 250_500_000
    assert wallet - usdc.balanceOf(alice) == 250_500_000
    assert usdc.allowance(alice, guard.address) == 0  # approved exactly the amount, all of it spent
    guard.approve_wallet(alice, usdc, 40 * USDC)  # an allowance that covers the next deposit: no approval
    again = cli("guard", "reserve", "deposit", str(rid), "40", *at, "--json").json()
    assert [tx["function"] for tx in again["transactions"]] == ["depositReserve"]
    assert guard.reserve(rid).balance == 290_500_000

    added = cli("guard", "reserve", "earmark", str(rid), other, *at)
    assert added.code == 0 and f"earmarked: {other}" in _flat(added.out), (added.out, added.err)
    assert guard.is_earmarked(rid, other)
    shown = cli("guard", "reserve", "show", str(rid), *at, "--json").json()
    assert shown["earmarked"] == [vault, other] and shown["balance"] == 290_500_000
    removed = cli("guard", "reserve", "earmark", str(rid), other, "--remove", *at)
    assert removed.code == 0 and f"no longer earmarked: {other}" in _flat(removed.out), removed.out
    assert not guard.is_earmarked(rid, other) and guard.is_earmarked(rid, vault)

    shown_text = _flat(cli("guard", "reserve", "show", str(rid), *at).out)
    assert f"owner: {alice.address}" in shown_text and f"token: USDC {usdc.address}" in shown_text
    assert "balance: 290.50 USDC" in shown_text, shown_text
    assert f"earmarked: {vault} (no policy of the owner pays from it)" in shown_text
    assert other not in shown_text

    bob_before = usdc.balanceOf(bob)
    withdrawn = cli("guard", "reserve", "withdraw", str(rid), "90.25", "--to", bob.address, *at)
    assert withdrawn.code == 0, (withdrawn.out, withdrawn.err)
    assert "withdrawn: 90.25 USDC" in _flat(withdrawn.out) and "balance: 200.25 USDC" in _flat(withdrawn.out)
    assert usdc.balanceOf(bob) - bob_before == 90_250_000 and guard.reserve(rid).balance == 200_250_000


def test_a_policy_funded_from_a_reserve_is_topped_up_from_it(cli, guard, market, open_vault, usdc, alice, bob,
                                                            set_price):
    vault = open_vault()
    at = ("--guard", guard.address)
    rid = cli("guard", "reserve", "open", "--market", "ETH-USD", "--vault", vault, *at, "--json").json()["reserve_id"]
    assert cli("guard", "reserve", "deposit", str(rid), "500", *at).code == 0
    allowance = usdc.allowance(alice, guard.address)
    run = cli("guard", "set", vault, "--trigger", "1.3", "--target", "1.6", "--max-per-top-up", "100",
              "--budget", "300", "--fee", "1.5", "--reserve", str(rid), *at, "--json")
    assert run.code == 0, (run.out, run.err)
    assert [tx["function"] for tx in run.json()["transactions"]] == ["setPolicy"]  # no wallet approval
    assert usdc.allowance(alice, guard.address) == allowance
    assert guard.policy(alice, vault).reserve_id == rid
    shown = _flat(cli("guard", "reserve", "show", str(rid), *at).out)
    assert f"earmarked: {vault} (its policy pays from it)" in shown, shown
    assert f"source: reserve {rid}" in _flat(cli("guard", "show", vault, *at).out)

    set_price(2_760)  # health ~1.14, below the trigger 1.3
    reserve_before, margin_before = guard.reserve(rid).balance, market.position(vault).margin
    wallet_before, executor_before = usdc.balanceOf(alice), usdc.balanceOf(bob)
    done = guard.top_up(bob, vault)  # anyone executes it (bob as the keeper)
    assert done.amount > 0 and done.fee == 1_500_000 and done.reserve_id == rid
    assert reserve_before - guard.reserve(rid).balance == done.amount + done.fee
    assert market.position(vault).margin - margin_before == done.amount
    assert usdc.balanceOf(bob) - executor_before == done.fee
    assert usdc.balanceOf(alice) == wallet_before  # the wallet paid nothing
    assert guard.policy(alice, vault).budget == 300 * USDC - done.amount - done.fee


def test_guard_set_refuses_a_reserve_its_top_ups_could_not_spend(cli, guard, open_vault, usdc, alice, bob):
    vault = open_vault()
    at = ("--guard", guard.address)
    mine = guard.open_reserve(alice, usdc, [])
    theirs = guard.open_reserve(bob, usdc, [vault])
    nonces = alice.nonce, bob.nonce
    base = ["guard", "set", vault, "--trigger", "1.3", "--target", "1.6", "--max-per-top-up", "100",
            "--budget", "300", *at, "--reserve"]
    assert one_line_error(cli(*base, str(mine))) == (
        f"error: reserve {mine} is not earmarked to {vault}: run `ringfence guard reserve earmark {mine} "
        f"{vault}` first")
    assert one_line_error(cli(*base, str(theirs))) == f"error: {alice.address} does not own reserve {theirs}"
    assert one_line_error(cli(*base, "99")) == "error: reserve 99 does not exist"
    assert (alice.nonce, bob.nonce) == nonces and not guard.policy(alice, vault).exists


def test_withdrawing_more_than_the_balance_is_one_line_with_the_numbers_and_moves_nothing(
        cli, guard, usdc, alice, bob):
    rid = guard.open_reserve(alice, usdc, [])
    guard.deposit_reserve(alice, rid, 100 * USDC)
    at = ("--guard", guard.address)
    nonces, wallets = (alice.nonce, bob.nonce), (usdc.balanceOf(alice), usdc.balanceOf(bob))

    assert one_line_error(cli("guard", "reserve", "withdraw", str(rid), "100.01", *at)) == \
        f"error: reserve {rid} holds 100.00 USDC, short of 100.01 USDC"
    refused = cli("guard", "reserve", "withdraw", str(rid), "100.01", *at, "--json")
    assert refused.code == 1 and json.loads(refused.out) == {
        "error": "ReserveTooLow", "message": f"reserve {rid} holds 100.00 USDC, short of 100.01 USDC"}
    assert one_line_error(cli("guard", "reserve", "withdraw", str(rid), "1", *at, account="TEST::3")) == \
        f"error: {bob.address} does not own reserve {rid}"
    assert one_line_error(cli("guard", "reserve", "deposit", str(rid), "1", *at, account="TEST::3")) == \
        f"error: {bob.address} does not own reserve {rid}"
    assert one_line_error(cli("guard", "reserve", "show", "99", *at)) == "error: reserve 99 does not exist"

    assert (alice.nonce, bob.nonce) == nonces and (usdc.balanceOf(alice), usdc.balanceOf(bob)) == wallets
    assert guard.reserve(rid).balance == 100 * USDC
    assert usdc.allowance(bob, guard.address) == 0  # no approval sent for the refused deposit


# ==================================================================================== the top-up price


@pytest.fixture
def guard_deployments(deployments, guard):
    """The deployments file recording the guard as ``MarginGuard``."""
    data = json.loads(deployments.read_text())
    data["contracts"]["MarginGuard"] = {"address": guard.address}
    deployments.write_text(json.dumps(data))
    return deployments


def _model_top_up_price(market, vault: str, trigger_wad: int) -> int:
    """``model.top_up_price`` from the pool's own reads: the position, its fees accrued to the pool's
    fee index now, the price scale and the market's MM."""
    position = market.position(vault)
    scale = int(market.pool.priceScale())
    fees = model.position_fees_up(position, int(market.pool.currentFeeIndex()), scale)
    return model.top_up_price(position, fees, scale, market.params().maintenance_margin_wad, trigger_wad)


def test_status_and_guard_show_print_the_top_up_price_the_model_computes(
        cli, guard, guard_deployments, market, open_vault, alice, set_price):
    vault, bare = open_vault(), open_vault(nonce=1)
    trigger = 13 * WAD // 10
    guard.set_policy(alice, vault, GuardPolicy(trigger_health_wad=trigger, target_health_wad=16 * WAD // 10,
                                               max_per_top_up=100 * USDC, budget=300 * USDC))
    expected = _model_top_up_price(market, vault, trigger)
    liquidation = market.state(vault).liquidation_price_wad
    assert liquidation < expected < 3_000 * WAD  # a long is topped up before it can be liquidated

    data = cli("status", vault, "--json").json()  # the guard from the deployments file
    assert data["top_up_price_wad"] == expected and data["top_up_trigger_wad"] == trigger
    assert data["top_up_guard"] == guard.address and data["liquidation_price_wad"] == liquidation
    text = cli("status", vault).out
    keys = [line.split(":")[0] for line in text.splitlines()]
    assert keys.index("top-up price") == keys.index("liquidation price") + 1, text
    assert f"top-up price: {fmt_price(expected)} (a keeper may top up below it: health below 1.300)" in _flat(text)
    assert "top-up price" not in cli("status", bare).out  # no policy, no line
    shown = cli("guard", "show", vault, "--json").json()
    assert shown["top_up_price_wad"] == expected and shown["liquidation_price_wad"] == liquidation
    assert f"top-up price: {fmt_price(expected)}" in _flat(cli("guard", "show", vault).out)

    # What the figure means on chain: a dollar below it the guard tops up, a dollar above it it refuses.
    set_price(expected // WAD - 1)
    assert guard.quote(vault)[2] < trigger
    set_price(expected // WAD + 1)
    assert "is not below the trigger 1.300" in _flat(cli("guard", "show", vault).out)
