"""The keeper against a local chain with 300 vaults in two markets (tests/keeper/conftest.py):
it liquidates exactly what the Lens says is underwater and touches nothing else, survives a racing
keeper, a restart in the middle of a pass and reverts, and follows new events, parameter changes
and fee drift."""

from __future__ import annotations

import pytest
from ape.exceptions import ContractLogicError

from ringfence.keeper import KeeperConfig
from tests.conftest import USDC, apply_params
from tests.keeper.conftest import events, lens_flags, positions, underwater


class Crash(BaseException):
    """The keeper process dies (not an Exception: nothing in the keeper may swallow it)."""


def _liquidated_since(chain, fleet, start: int) -> dict[str, list[str]]:
    return {fm.pool.address: [str(e.vault) for e in events(chain, fm.pool, "Liquidated", start)]
            for fm in fleet.markets}


def _assert_exactly(chain, protocol, fleet, expected, start, before=None) -> None:
    """Every expected vault liquidated exactly once (by events), nothing left underwater (Lens) and,
    given the positions ``before``, no other position changed."""
    liquidated = _liquidated_since(chain, fleet, start)
    for pool, vaults in liquidated.items():
        assert sorted(vaults) == sorted(expected[pool]), f"market {pool}"
    assert not any(underwater(protocol.lens, fleet).values())
    if before is not None:
        after = positions(protocol.lens, fleet)
        changed = {v for v in before if before[v] != after[v]}
        assert changed == set().union(*expected.values())


def _batches_by(chain, protocol, keeper_address: str, start: int) -> list:
    return [e for e in events(chain, protocol.liquidator, "BatchLiquidated", start)
            if str(e.keeper) == keeper_address]


def test_index_matches_the_open_vaults(protocol, fleet, make_keeper):
    bot = make_keeper(chunk_size=25)  # catch up in many chunks
    bot.sync()
    indexed = bot.indexed_vaults()
    assert indexed[fleet.a.pool.address] == set(fleet.a.vaults)
    assert indexed[fleet.b.pool.address] == set(fleet.b.vaults)
    for fm in fleet.markets:
        market = bot.index.markets[fm.pool.address]
        for view in protocol.lens.vaults(fm.pool, fm.vaults[:40]):
            record = market.vaults[str(view.vault)]
            assert (record.size, record.entry_price_wad, record.margin, record.is_long) == (
                view.size, view.entryPriceWad, view.margin, view.isLong)
            # the key is the liquidation price at the horizon: at least today's for a long, at most for a short
            today = view.liquidationPriceWad
            assert record.key >= today if view.isLong else record.key <= today


def test_crash_liquidates_exactly_the_underwater_longs(chain, protocol, fleet, keeper, make_keeper, set_feed,
                                                       keeper_logs):
    set_feed(fleet.a.feed, 2_600)
    expected = underwater(protocol.lens, fleet)
    assert len(expected[fleet.a.pool.address]) > 20 and not expected[fleet.b.pool.address]
    assert expected[fleet.a.pool.address] <= set(fleet.a.longs)
    before = positions(protocol.lens, fleet)
    start, nonce = chain.blocks.head.number + 1, keeper.nonce
    bot = make_keeper(keeper)
    report = bot.step()
    # only crossed vaults were candidates: the longs above the price, not the 300 vaults
    candidates = report.candidates[fleet.a.pool.address]
    assert set(candidates) == expected[fleet.a.pool.address]
    assert fleet.b.pool.address not in report.candidates
    _assert_exactly(chain, protocol, fleet, expected, start, before)
    assert keeper.nonce - nonce == len(report.sent) >= 1
    assert all(tx.attempted == tx.liquidated for tx in report.sent)
    assert report.liquidated == len(expected[fleet.a.pool.address])
    assert "liquidated" in keeper_logs.text
    # a second pass finds nothing and sends nothing
    again = bot.step()
    assert not again.sent and not again.confirmed and keeper.nonce - nonce == len(report.sent)


def test_spike_liquidates_exactly_the_underwater_shorts_in_both_markets(chain, protocol, fleet, keeper,
                                                                        make_keeper, set_feed):
    set_feed(fleet.a.feed, 3_450)
    set_feed(fleet.b.feed, 2_250)
    expected = underwater(protocol.lens, fleet)
    assert expected[fleet.a.pool.address] <= set(fleet.a.shorts)
    assert expected[fleet.b.pool.address] <= set(fleet.b.shorts)
    assert all(len(v) > 5 for v in expected.values())
    before = positions(protocol.lens, fleet)
    start = chain.blocks.head.number + 1
    report = make_keeper(keeper).step()
    _assert_exactly(chain, protocol, fleet, expected, start, before)
    assert {p for tx in report.sent for p, _ in tx.batches} == set(expected)


def test_gas_cap_splits_transactions(chain, protocol, fleet, keeper, make_keeper, set_feed):
    set_feed(fleet.a.feed, 2_500)
    expected = underwater(protocol.lens, fleet)
    n = len(expected[fleet.a.pool.address])
    start = chain.blocks.head.number + 1
    cap = 1_500_000
    bot = make_keeper(keeper, max_gas=cap)
    report = bot.step()
    _assert_exactly(chain, protocol, fleet, expected, start)
    assert len(report.sent) >= n * 45_000 // cap  # several transactions
    assert all(tx.gas_limit <= cap and tx.gas_used <= tx.gas_limit for tx in report.sent)


def test_second_keeper_racing_causes_no_failure(chain, protocol, fleet, keeper, mallory, make_keeper,
                                                set_feed, keeper_logs):
    """Keeper B liquidates part of the set between keeper A's simulation and A's transaction, and all
    the rest before A's second transaction: A's first transaction skips what B did, A's second one
    is not sent at all, nothing fails, every vault is liquidated once."""
    set_feed(fleet.a.feed, 2_600)
    expected = underwater(protocol.lens, fleet)
    target = sorted(expected[fleet.a.pool.address])
    start = chain.blocks.head.number + 1
    a = make_keeper(keeper, batch_size=len(target) // 2 + 1, name="A")
    b = make_keeper(mallory, name="B")
    sends = 0
    transact = a._transact

    def racing(args, gas_limit):
        nonlocal sends
        sends += 1
        if sends == 1:  # B takes a third of A's first batch just before A's transaction lands
            first = args[0][1]
            protocol.liquidate_batch(mallory, [(args[0][0], first[: len(first) // 3])])
        receipt = transact(args, gas_limit)
        if sends == 1:  # ...and everything else before A's second transaction
            b_report.append(b.step())
        return receipt

    b_report: list = []
    a._transact = racing
    nonce_a = keeper.nonce
    report = a.step()
    assert not report.errors
    assert sends == 1 and keeper.nonce - nonce_a == 1  # A's second transaction was never sent
    first = report.sent[0]
    assert 0 < first.liquidated < first.attempted  # A's batch skipped what B had done
    assert report.not_sent_races > 0 and report.lost_races == (first.attempted - first.liquidated
                                                               + report.not_sent_races)
    assert "lost race" in keeper_logs.text
    _assert_exactly(chain, protocol, fleet, expected, start)
    # B never failed either
    assert not b_report[0].errors


def test_restart_midway_sends_no_duplicate(chain, protocol, fleet, keeper, make_keeper, set_feed):
    set_feed(fleet.a.feed, 2_600)
    expected = underwater(protocol.lens, fleet)
    n = len(expected[fleet.a.pool.address])
    assert n >= 31
    before = positions(protocol.lens, fleet)
    start, nonce = chain.blocks.head.number + 1, keeper.nonce

    first = make_keeper(keeper, batch_size=15)
    transact = first._transact
    sent = 0

    def crash_after_two(args, gas_limit):
        nonlocal sent
        receipt = transact(args, gas_limit)
        sent += 1
        if sent == 2:
            raise Crash("killed after its second transaction")
        return receipt

    first._transact = crash_after_two
    with pytest.raises(Crash):
        first.step()
    assert keeper.nonce - nonce == 2

    second = make_keeper(keeper, batch_size=15)  # a new process: rebuilds its index from events
    report = second.step()
    assert keeper.nonce - nonce == 2 + len(report.sent)
    assert report.liquidated == n - 30
    batches = _batches_by(chain, protocol, keeper.address, start)
    assert len(batches) == keeper.nonce - nonce
    assert all(int(e.attempted) == int(e.liquidated) for e in batches)  # no vault sent twice
    _assert_exactly(chain, protocol, fleet, expected, start, before)
    # and a third start finds nothing to do
    assert not make_keeper(keeper).step().sent


def test_stale_oracle_is_logged_and_retried_next_block(chain, protocol, fleet, keeper, make_keeper, set_feed,
                                                       keeper_logs):
    set_feed(fleet.a.feed, 2_600)
    expected = underwater(protocol.lens, fleet)
    start, nonce = chain.blocks.head.number + 1, keeper.nonce
    bot = make_keeper(keeper)
    bot.sync()
    chain.mine(1, timestamp=chain.blocks.head.timestamp + 3_700)  # both feeds older than max age
    report = bot.step()
    assert keeper.nonce == nonce and not report.sent
    assert any("StalePrice" in e for e in report.errors) and "StalePrice" in keeper_logs.text
    set_feed(fleet.a.feed, 2_600)
    set_feed(fleet.b.feed, 2_000)
    report = bot.step()
    assert report.sent and not report.errors
    _assert_exactly(chain, protocol, fleet, expected, start)


def test_revert_between_confirmation_and_send_is_retried(chain, protocol, fleet, keeper, make_keeper, set_feed,
                                                         keeper_logs):
    """The oracle goes stale after the Lens confirmed the vaults: the simulation reverts with the
    oracle's error, nothing is sent; then a transaction that reverts on inclusion is logged too."""
    set_feed(fleet.a.feed, 2_600)
    expected = underwater(protocol.lens, fleet)
    start, nonce = chain.blocks.head.number + 1, keeper.nonce
    bot = make_keeper(keeper)
    confirm = bot._confirm

    def confirm_then_stale(pool, vaults, report):
        flags = confirm(pool, vaults, report)
        chain.mine(1, timestamp=chain.blocks.head.timestamp + 3_700)
        return flags

    bot._confirm = confirm_then_stale
    report = bot.step()
    assert not report.sent and keeper.nonce == nonce
    assert any("would revert (StalePrice" in e for e in report.errors)

    bot._confirm = confirm
    set_feed(fleet.a.feed, 2_600)
    set_feed(fleet.b.feed, 2_000)

    def reverted(args, gas_limit):
        raise ContractLogicError("execution reverted (injected)")

    transact, bot._transact = bot._transact, reverted
    report = bot.step()
    assert not report.sent and any("failed" in e for e in report.errors)
    bot._transact = transact
    report = bot.step()
    assert report.sent and not report.errors
    _assert_exactly(chain, protocol, fleet, expected, start)


def test_follows_new_positions_margin_and_closes(chain, protocol, fleet, keeper, make_keeper, set_feed, owner,
                                                 alice, usdc, market):
    bot = make_keeper(keeper)
    bot.step()
    pool = fleet.a.pool
    # a vault saved by a top-up, a new risky vault, a closed one
    saved = max(fleet.a.longs, key=lambda v: lens_view(protocol, pool, v).liquidationPriceWad)
    market.add_margin(alice, saved, 5_000 * USDC)
    new = market.open(alice, is_long=True, size=10**18, margin=320 * USDC, nonce=7)
    closed = market.open(alice, is_long=True, size=10**18, margin=320 * USDC, nonce=8)
    market.close(alice, closed)
    bot.step()
    indexed = bot.indexed_vaults()[pool.address]
    assert new in indexed and closed not in indexed
    assert bot.index.markets[pool.address].vaults[saved].margin == lens_view(protocol, pool, saved).margin
    set_feed(fleet.a.feed, 2_800)
    expected = underwater(protocol.lens, fleet)
    new_flag = lens_flags(protocol.lens, pool, [new])[new]
    assert new_flag and saved not in expected[pool.address]
    start = chain.blocks.head.number + 1
    report = bot.step()
    liquidated = _liquidated_since(chain, fleet, start)
    assert sorted(liquidated[pool.address]) == sorted(expected[pool.address] | {new})
    assert report.liquidated == len(expected[pool.address]) + 1


def lens_view(protocol, pool, vault):
    return protocol.lens.vaults(pool, [vault])[0]


def test_parameter_change_rekeys_the_market(chain, protocol, fleet, keeper, make_keeper, owner):
    bot = make_keeper(keeper)
    assert not bot.step().confirmed
    params = fleet.a.market.params().with_(maintenance_margin_wad=8 * 10**16, liquidation_target_wad=9 * 10**16)
    apply_params(protocol, fleet.a.pool, params, owner)
    expected = underwater(protocol.lens, fleet)
    assert expected[fleet.a.pool.address]  # the higher maintenance margin put some vaults underwater
    start = chain.blocks.head.number + 1
    report = bot.step()
    assert bot.index.markets[fleet.a.pool.address].mm_wad == 8 * 10**16
    _assert_exactly(chain, protocol, fleet, expected, start)
    assert report.liquidated == len(expected[fleet.a.pool.address])


def test_fee_drift_alone_is_caught_without_a_price_move(chain, protocol, fleet, keeper, make_keeper, set_feed):
    """Market B charges 100 %/year. Price set just above the riskiest long's liquidation price: healthy
    now, liquidatable 30 minutes later by fees alone. The index keyed it at the horizon, so it is a
    candidate from the start (the Lens says no), and liquidated once time has passed, with no
    re-keying and no price update in between."""
    pool = fleet.b.pool
    views = protocol.lens.vaults(pool, fleet.b.longs)
    riskiest = max(views, key=lambda v: v.liquidationPriceWad)
    vault = str(riskiest.vault)
    # fees over 30 minutes move this long's liquidation price by about 6e-5 of its entry
    price = riskiest.liquidationPriceWad + riskiest.entryPriceWad * 2 // 100_000
    set_feed(fleet.b.feed, price / 10**18)
    assert not lens_flags(protocol.lens, pool, [vault])[vault]
    bot = make_keeper(keeper, horizon=3_600, horizon_lead=600)
    nonce = keeper.nonce
    report = bot.step()
    horizon = bot.index.horizon_ts
    assert vault in report.candidates[pool.address] and not report.confirmed and keeper.nonce == nonce
    chain.mine(1, timestamp=chain.blocks.head.timestamp + 1_800)
    assert lens_flags(protocol.lens, pool, [vault])[vault]
    start = chain.blocks.head.number + 1
    report = bot.step()
    assert bot.index.horizon_ts == horizon  # no re-key was needed
    assert [str(e.vault) for e in events(chain, pool, "Liquidated", start)] == [vault]
    assert report.liquidated == 1
    # ten days later (far past the horizon: re-keyed), same price: fees alone sank more vaults
    chain.mine(1, timestamp=chain.blocks.head.timestamp + 10 * 86_400)
    set_feed(fleet.b.feed, price / 10**18)
    set_feed(fleet.a.feed, 3_000)
    expected = underwater(protocol.lens, fleet)
    assert len(expected[pool.address]) >= 3 and not expected[fleet.a.pool.address]
    start = chain.blocks.head.number + 1
    report = bot.step()
    assert bot.index.horizon_ts == report.timestamp + 3_600 > horizon  # rolled before deciding
    _assert_exactly(chain, protocol, fleet, expected, start)


def test_nothing_is_sent_while_an_own_transaction_is_pending(chain, protocol, fleet, keeper, make_keeper,
                                                             set_feed, keeper_logs):
    """A transaction of the keeper's account still in the mempool (say, sent before a restart):
    no new one until it is mined."""
    if chain.provider.name == "test":
        pytest.skip("needs a node with a mempool (Anvil): the embedded chain mines every transaction at once")
    set_feed(fleet.a.feed, 2_600)
    expected = underwater(protocol.lens, fleet)
    bot = make_keeper(keeper)
    bot.sync()
    start, nonce = chain.blocks.head.number + 1, keeper.nonce
    chain.provider.make_request("evm_setAutomine", [False])
    try:
        chain.provider.make_request("eth_sendTransaction", [{"from": keeper.address, "to": keeper.address,
                                                              "value": "0x0"}])
        assert bot._pending_transactions()
        report = bot.step()
        assert not report.sent and any("still pending" in e for e in report.errors)
    finally:
        chain.provider.make_request("evm_setAutomine", [True])
        chain.mine(1)
    assert keeper.nonce == nonce + 1 and not bot._pending_transactions()
    report = bot.step()
    assert report.sent and not report.errors
    _assert_exactly(chain, protocol, fleet, expected, start)


def test_a_reorganised_chain_is_reindexed(chain, protocol, fleet, keeper, make_keeper, set_feed, market, alice,
                                          keeper_logs):
    """The blocks the keeper indexed are replaced by another history (a reorg; here a snapshot
    revert and longer new blocks): it notices the hash and rebuilds its index from the events."""
    bot = make_keeper(keeper)
    snapshot = chain.snapshot()
    set_feed(fleet.a.feed, 2_600)
    assert bot.step().liquidated > 0
    liquidated_block = chain.blocks.head.number
    chain.restore(snapshot)  # those liquidations never happened
    new = market.open(alice, is_long=False, size=10**18, margin=400 * USDC, nonce=3)
    chain.mine(liquidated_block + 2 - chain.blocks.head.number)
    report = bot.step()
    assert "rebuilding the index" in keeper_logs.text
    assert not report.confirmed
    indexed = bot.indexed_vaults()
    assert indexed[fleet.a.pool.address] == set(fleet.a.vaults) | {new}
    assert indexed[fleet.b.pool.address] == set(fleet.b.vaults)


def test_dry_run_sends_nothing(chain, protocol, fleet, keeper, make_keeper, set_feed, keeper_logs):
    set_feed(fleet.a.feed, 2_600)
    nonce = keeper.nonce
    report = make_keeper(keeper, dry_run=True).step()
    assert report.confirmed and not report.sent and keeper.nonce == nonce
    assert "dry run" in keeper_logs.text


def test_estimate_gas_path(chain, protocol, fleet, keeper, make_keeper, set_feed):
    """With eth_estimateGas (the default on a node; forced here on both chains): the four riskiest
    longs (few: py-evm's estimate is a binary search of executions)."""
    liqs = sorted((int(v.liquidationPriceWad) for v in protocol.lens.vaults(fleet.a.pool, fleet.a.longs)),
                  reverse=True)
    set_feed(fleet.a.feed, (liqs[3] - 10**10) // 10**10 / 10**8)  # just under the 4th highest
    expected = underwater(protocol.lens, fleet)
    assert len(expected[fleet.a.pool.address]) == 4
    start = chain.blocks.head.number + 1
    report = make_keeper(keeper, estimate_gas=True).step()
    _assert_exactly(chain, protocol, fleet, expected, start)
    # the limit is 1.25 x the estimate (which is a little above the gas used: the 63/64 rule)
    assert all(tx.gas_used <= tx.gas_limit <= tx.gas_used * 1.5 for tx in report.sent)


def test_config_is_checked():
    with pytest.raises(ValueError):
        KeeperConfig(batch_size=0)
    with pytest.raises(ValueError):
        KeeperConfig(horizon=600, horizon_lead=600)
