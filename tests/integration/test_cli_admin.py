"""``ringfence admin``: pause and unpause (guardian or owner), a parameter change through the owner
delay (queue, refused before its time, executed after), accepting a factory's ownership; refusals
of an account without the role and of parameters outside the factory's bounds, nothing sent. In this
process on the session's chain."""

from __future__ import annotations

from tests.conftest import USDC, advance_to
from tests.integration.test_cli_in_process import cli, one_line_error  # noqa: F401


def test_guardian_pauses_and_owner_unpauses_a_trader_is_refused(cli, market, guardian, owner, alice):
    nonce = alice.nonce
    line = one_line_error(cli("admin", "pause", account="TEST::2"))
    assert "may not pause" in line and guardian.address in line and owner.address in line
    assert alice.nonce == nonce and not market.pool.paused()
    paused = cli("admin", "pause", "--json", account="TEST::1").json()
    assert paused["paused"] is True and paused["role"] == "guardian" and market.pool.paused()
    assert paused["transactions"][-1]["function"] == "setPaused"
    assert "already paused" in one_line_error(cli("admin", "pause", account="TEST::0"))
    run = cli("admin", "unpause", account="TEST::0")
    assert run.code == 0 and "(owner)" in run.out, (run.out, run.err)
    assert not market.pool.paused()


def test_set_params_queues_waits_out_the_delay_then_executes(cli, protocol, market, chain, owner):
    delay = int(protocol.factory.delay())
    queued = cli("admin", "set-params", "--set", "open_fee=0.2%", "--set", "min_margin=20", "--json",
                 account="TEST::0")
    assert queued.code == 0, (queued.out, queued.err)
    data = queued.json()
    receipt = chain.provider.get_receipt(data["transactions"][-1]["tx_hash"])
    assert data["eta"] == chain.blocks[receipt.block_number].timestamp + delay
    assert {d["field"]: d["to"] for d in data["queued"]} == {"open_fee_wad": "0.2%", "min_margin": "20"}
    pending, eta = protocol.pending_params(market.pool)
    assert eta == data["eta"] and pending.open_fee_wad == 2 * 10**15 and pending.min_margin == 20 * USDC
    line = one_line_error(cli("admin", "set-params", "--execute", account="TEST::0"))
    assert "may be executed from" in line
    shown = cli("admin", "set-params", "--json").json()
    assert shown["eta"] == eta and len(shown["pending"]) == 2
    advance_to(chain, eta)
    run = cli("admin", "set-params", "--execute", account="TEST::0")
    assert run.code == 0 and "applied" in run.out, (run.out, run.err)
    assert market.params().open_fee_wad == 2 * 10**15 and market.params().min_margin == 20 * USDC
    assert protocol.pending_params(market.pool) == (None, 0)


def test_set_params_refuses_bounds_unknown_keys_and_non_owners(cli, protocol, market, owner, alice):
    nonce = owner.nonce
    line = one_line_error(cli("admin", "set-params", "--set", "initial_margin=0.5%", account="TEST::0"))
    assert "initial_margin 0.5% must be at least 1%" in line and "nothing sent" in line
    line = one_line_error(cli("admin", "set-params", "--set", "leverage=3", account="TEST::0"))
    assert "unknown parameter 'leverage'" in line
    line = one_line_error(cli("admin", "set-params", "--set", "open_fee", account="TEST::0"))
    assert "key=value" in line
    line = one_line_error(cli("admin", "set-params", "--set", "open_fee=0.2%", account="TEST::2"))
    assert "may not change the parameters" in line and owner.address in line
    assert owner.nonce == nonce and protocol.pending_params(market.pool) == (None, 0)


def test_accept_ownership_by_the_pending_owner_only(cli, protocol, owner, bob):
    protocol.factory.transferOwnership(bob, sender=owner)
    line = one_line_error(cli("admin", "accept-ownership", account="TEST::2"))
    assert "pending owner" in line and bob.address in line
    run = cli("admin", "accept-ownership", "--json", account="TEST::3")
    assert run.code == 0, (run.out, run.err)
    assert protocol.factory.owner() == bob.address and run.json()["owner"] == bob.address
