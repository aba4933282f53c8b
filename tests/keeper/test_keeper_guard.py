"""The keeper's MarginGuard top-up pass on the session chain (``ringfence.keeper.topup``): a vault below its
policy's trigger is topped up by exactly the reference model's amount (``ringfence.model.top_up_quote``)
before anything is liquidated; healthy vaults, cancelled and expired policies and fees below their gas are
left alone; a liquidatable vault with a policy is topped up first and the pool's rules then decide;
several vaults go in gas-capped ``topUpBatch`` transactions in the order of their trigger prices
(``ringfence.model.top_up_price``); ``ape run keeper --once`` reports the top-ups and finds the guard in the
deployments file (none in an older file: no top-up pass)."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from ringfence import model
from ringfence.abi import at
from ringfence.chain.contracts import container
from ringfence.keeper.config import top_up_gas_cost
from ringfence.sdk import Guard, GuardPolicy
from tests.conftest import ETH, USDC, advance_to
from tests.keeper.conftest import events

WAD = 10**18
TRIGGER = 13 * WAD // 10  # a 1 ETH long with 400 USDC at 3,000 falls below 1.3 at ~2,782, is liquidatable below ~2,738


@pytest.fixture(scope="module")
def guard(owner, protocol, alice, usdc) -> Guard:
    g = Guard.deploy(owner, protocol.factory)
    g.approve_wallet(alice, usdc, 100_000 * USDC)
    return g


def policy(**kw) -> GuardPolicy:
    values = dict(trigger_health_wad=TRIGGER, target_health_wad=15 * WAD // 10, max_per_top_up=500 * USDC,
                  budget=2_000 * USDC, fee=2 * USDC)
    values.update(kw)
    return GuardPolicy(**values)


@pytest.fixture
def guarded(market, guard, alice):
    """Opens alice's 1 ETH long with ``margin`` USDC at nonce ``nonce`` and sets ``policy(**kw)`` on it."""

    def _open(nonce: int, margin: int = 400, **kw) -> str:
        vault = market.open(alice, is_long=True, size=ETH, margin=margin * USDC, nonce=nonce)
        if kw.get("no_policy"):
            return vault
        guard.set_policy(alice, vault, policy(**kw))
        return vault

    return _open


def _expected(market, guard, vault, position, block) -> model.TopUpQuote:
    """The model's top-up of ``vault`` (position read before) at ``block`` (the receipt's)."""
    oracle = at(container("ChainlinkOracle"), market.oracle_address)
    return model.top_up_quote(
        position, int(oracle.price(block_id=block.number)), int(market.pool.currentFeeIndex(block_id=block.number)),
        int(market.pool.priceScale()), market.params().maintenance_margin_wad, guard.policy(position.owner, vault),
        vault=vault, owner=position.owner, now=block.timestamp)


def test_keeper_tops_up_a_vault_below_its_trigger_by_the_models_amount(chain, market, guard, guarded, keeper,
                                                                       make_keeper, set_price, usdc):
    low, healthy = guarded(0), guarded(1, margin=1_000)
    set_price(2_780)
    before = {v: market.position(v) for v in (low, healthy)}
    budget = guard.policy(before[low].owner, low).budget
    paid = int(usdc.balanceOf(keeper))
    start = chain.blocks.head.number + 1
    report = make_keeper(keeper, guard=guard.address).step()
    assert report.guarded and report.top_up_candidates == [low] and report.top_up_due == [low]
    assert report.topped_up == 1 and report.liquidated == 0 and not report.errors
    (tx,) = report.top_ups
    (done,) = tx.done
    expected = _expected(market, guard, low, before[low], chain.blocks[tx.block])
    assert expected.health_wad < TRIGGER <= expected.health_after_wad or expected.capped
    assert (done.vault, done.amount, done.fee, done.health_after_wad) == (
        low, expected.amount, expected.fee, expected.health_after_wad)
    assert market.position(low).margin == before[low].margin + expected.amount
    assert guard.policy(before[low].owner, low).budget == budget - expected.amount - expected.fee
    assert int(usdc.balanceOf(keeper)) - paid == expected.fee == report.top_up_fees
    assert market.position(healthy).margin == before[healthy].margin  # its health is above 1.3
    assert [str(e.vault) for e in events(chain, guard.contract, "ToppedUp", start)] == [low]
    assert "top-ups: 1 candidate(s), 1 due, 0 below gas, 1 topped up in 1 transaction(s)" in report.summary()


def test_cancelled_and_expired_policies_and_healthy_vaults_are_skipped(chain, market, guard, guarded, alice,
                                                                       keeper, make_keeper, set_price):
    cancelled = guarded(0)
    expiring = guarded(1, expiry=chain.pending_timestamp + 60)
    healthy = guarded(2, margin=1_000)
    live = guarded(3)
    guard.cancel_policy(alice, cancelled)
    advance_to(chain, chain.blocks.head.timestamp + 120)  # past the expiry
    set_price(2_780)  # a fresh round: every 400-margin vault is below 1.3
    assert all(int(market.vault(v).health()) < TRIGGER for v in (cancelled, expiring, live))
    margins = {v: market.position(v).margin for v in (cancelled, expiring, healthy, live)}
    report = make_keeper(keeper, guard=guard.address).step()
    assert report.top_up_candidates == [live] and report.topped_up == 1
    assert {v: market.position(v).margin for v in (cancelled, expiring, healthy)} == {
        v: margins[v] for v in (cancelled, expiring, healthy)}
    assert market.position(live).margin > margins[live]


def test_fees_below_their_gas_are_skipped_and_dry_run_sends_nothing(chain, market, guard, guarded, keeper,
                                                                    make_keeper, set_price, keeper_logs):
    gas, gas_price, native = 100_000, 10**9, 3_000 * WAD  # 1 gwei, 3,000 USDC per ETH
    cost = top_up_gas_cost(gas, gas_price, native, 6)
    assert cost == 300_000  # 0.3 USDC: 1e5 gas × 1e9 wei × 3e3 USDC / 1e18
    cheap = guarded(0, fee=cost - 1, max_per_top_up=100 * USDC)
    paying = guarded(1, fee=cost, max_per_top_up=100 * USDC)
    set_price(2_780)
    config = dict(guard=guard.address, top_up_gas=gas, gas_price=gas_price, native_price_wad=native)
    nonce = keeper.nonce
    dry = make_keeper(keeper, dry_run=True, **config).step()
    assert set(dry.top_up_candidates) == {cheap, paying}
    assert dry.top_up_unprofitable == [cheap] and dry.top_up_due == [paying] and not dry.top_ups
    assert keeper.nonce == nonce and f"dry run: would top up 1 vault(s): {paying} +" in keeper_logs.text
    margins = {v: market.position(v).margin for v in (cheap, paying)}
    report = make_keeper(keeper, **config).step()
    assert report.top_up_unprofitable == [cheap] and report.topped_up == 1
    assert [d.vault for tx in report.top_ups for d in tx.done] == [paying]
    assert market.position(cheap).margin == margins[cheap] and market.position(paying).margin > margins[paying]
    # at a lower gas price the cheap fee pays too
    report = make_keeper(keeper, **{**config, "gas_price": gas_price // 2}).step()
    assert [d.vault for tx in report.top_ups for d in tx.done] == [cheap]


def test_a_liquidatable_vault_with_a_policy_is_topped_up_before_the_liquidations(chain, market, guard, guarded,
                                                                                  keeper, make_keeper, set_price,
                                                                                  protocol, keeper_logs):
    saved = guarded(0)
    capped = guarded(1, max_per_top_up=5 * USDC, fee=USDC // 2)  # too small a top-up to save it
    bare = guarded(2, no_policy=True)
    set_price(2_730)
    vaults = [saved, capped, bare]
    assert all(protocol.lens.liquidatable(market.pool, vaults))
    margins = {v: market.position(v).margin for v in vaults}
    make_keeper(keeper, guard=guard.address, dry_run=True).step()  # top-ups first in the plan too
    assert ("dry run: would liquidate 1 vault(s), 1 in pool " f"{market.pool.address}; 2 more only if the top-up"
            in keeper_logs.text), keeper_logs.text
    start = chain.blocks.head.number + 1
    report = make_keeper(keeper, guard=guard.address).step()
    assert sorted(report.top_up_candidates) == sorted([saved, capped]) and report.topped_up == 2
    (top_up,) = report.top_ups
    amounts = {d.vault: d.amount for d in top_up.done}
    assert amounts[capped] == 5 * USDC and amounts[saved] > 5 * USDC
    liquidated = {str(e.vault): e for e in events(chain, market.pool, "Liquidated", start)}
    assert set(liquidated) == {capped, bare}  # the saved one is healthy; the capped one still was not
    assert all(tx.block >= top_up.block for tx in report.sent)
    assert market.position(saved).margin == margins[saved] + amounts[saved]
    assert not protocol.lens.liquidatable(market.pool, [saved])[0]
    added = {str(e.vault): int(e.amount) for e in events(chain, market.pool, "MarginAdded", start)}
    assert added == {saved: amounts[saved], capped: 5 * USDC}
    assert int(liquidated[capped].equityBefore) > int(liquidated[bare].equityBefore)  # the 5 USDC counted


def test_several_vaults_go_in_gas_capped_batches_in_trigger_price_order(chain, market, guard, guarded, keeper,
                                                                        make_keeper, set_price):
    margins = [395, 370, 410, 380, 400]
    vaults = [guarded(i, margin=m) for i, m in enumerate(margins)]
    set_price(2_700)  # every one below its trigger
    index = market.pool.currentFeeIndex()
    scale, mm = int(market.pool.priceScale()), market.params().maintenance_margin_wad
    keys = {}
    for v in vaults:
        position = market.position(v)
        fees = model.fees_up(position.size, position.entry_price_wad, int(index), position.fee_base_wad, scale)
        keys[v] = model.top_up_price(position, fees, scale, mm, TRIGGER)
    order = sorted(vaults, key=lambda v: -keys[v])
    assert order != vaults and order[0] == vaults[1]  # the least margin triggers at the highest price
    cap = 60_000 + 150_000 + 2 * 100_000  # gas_per_tx + top_up_gas_per_batch + 2 × top_up_gas
    bot = make_keeper(keeper, guard=guard.address, top_up_gas=100_000, top_up_gas_per_batch=150_000, max_gas=cap,
                      estimate_gas=False)
    report = bot.step()
    assert report.top_up_candidates == order
    assert [tx.vaults for tx in report.top_ups] == [order[0:2], order[2:4], order[4:]]
    assert [len(tx.done) for tx in report.top_ups] == [2, 2, 1]
    assert all(tx.gas_used <= tx.gas_limit <= cap for tx in report.top_ups)
    assert all(d.health_after_wad >= 15 * WAD // 10 and d.amount < 500 * USDC for tx in report.top_ups
               for d in tx.done)  # each brought to its target at its block (none capped)
    # the next block: nothing below its trigger any more
    assert bot.step().top_up_candidates == []


@pytest.fixture
def cli(monkeypatch, chain):
    """scripts/keeper.py's command in-process on the session's chain (as in test_entry_points.py)."""
    from ape.api.networks import ProviderContextManager
    from ape.cli import commands

    from scripts.keeper import cli as command

    monkeypatch.setattr(commands, "parse_network", lambda ctx: ProviderContextManager(provider=chain.provider))
    return command


def test_ape_run_keeper_once_tops_up_through_the_deployments_files_guard(chain, protocol, market, guard, guarded,
                                                                         keeper, set_price, cli, tmp_path):
    low = guarded(0)
    set_price(2_780)
    record = {"PoolFactory": {"address": protocol.factory.address, "block": 0},
              "Lens": {"address": protocol.lens.address}}
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"format": 1, "contracts": record}))
    new = tmp_path / "new.json"
    new.write_text(json.dumps({"format": 1, "contracts": {**record, "MarginGuard": {"address": guard.address}}}))
    network = chain.provider.network.choice
    margin = market.position(low).margin
    result = CliRunner().invoke(cli, ["--network", network, "--deployments", str(old), "--account", "TEST::5",
                                      "--once"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "guard - (no top-ups)" in result.output and "top-ups:" not in result.output
    assert market.position(low).margin == margin
    result = CliRunner().invoke(cli, ["--network", network, "--deployments", str(new), "--account", "TEST::5",
                                      "--once"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"guard {guard.address}" in result.output
    assert "top-ups: 1 candidate(s), 1 due, 0 below gas, 1 topped up in 1 transaction(s)" in result.output
    assert re.search(r"1/1 topped up, fees \d+\.\d{6} USDC, gas \d+", result.output), result.output
    assert market.position(low).margin > margin
