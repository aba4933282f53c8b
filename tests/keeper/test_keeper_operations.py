"""What a keeper operator sees and runs, against the 300-vault fleet (tests/keeper/conftest.py): the
log names each liquidated vault with its outcome and bonus and each transaction's gas; the Prometheus
endpoint (scraped over HTTP) counts the liquidations and ``/health`` turns 503 when passes fail or
stop; two sharded keepers build disjoint batches and a dead shard's vaults are still taken after the
grace; partially liquidated vaults are re-read with one ``Lens.vaults`` call per market, exactly."""

from __future__ import annotations

import re
import urllib.error
import urllib.request

import pytest

from ringfence import model
from ringfence.keeper.metrics import KeeperMetrics
from ringfence.keeper.reread import LensReader
from ringfence.keeper.shard import parse_shard, shard_of
from tests.conftest import advance_to
from tests.keeper.conftest import events, underwater


def _liquidated_events(chain, fleet, start: int) -> list:
    return [e for fm in fleet.markets for e in events(chain, fm.pool, "Liquidated", start)]


def _scrape(port: int, path: str = "/metrics") -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _sample(text: str, name: str, **labels: str) -> float:
    """One sample's value in a Prometheus text exposition (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = rf"^{re.escape(name)}{re.escape('{' + wanted + '}') if wanted else ''} (\S+)$"
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_logs_name_each_vault_its_outcome_bonus_and_the_gas_paid(chain, protocol, fleet, keeper, make_keeper,
                                                                 set_feed, keeper_logs):
    set_feed(fleet.a.feed, 2_600)
    start = chain.blocks.head.number + 1
    report = make_keeper(keeper).step()
    liquidated = _liquidated_events(chain, fleet, start)
    assert len(liquidated) == report.liquidated > 20
    assert report.full + report.partial == report.liquidated
    assert report.full == sum(1 for e in liquidated if e.full)
    text = keeper_logs.text
    for e in liquidated:
        assert re.search(rf"liquidated vault {e.vault} of \S+: {'full' if e.full else 'partial'}, bonus", text)
    bonus = sum(int(e.keeperBonus) for e in liquidated)
    assert sum(s.bonus for tx in report.sent for s in tx.outcome.pools.values()) == bonus > 0
    for tx in report.sent:
        assert tx.outcome.gas_cost == tx.gas_used * tx.outcome.gas_price > 0
        assert re.search(rf"sent {tx.txn_hash} .*\({tx.outcome.full} full, {tx.outcome.partial} partial\).*"
                         rf"bonus [\d,.]+ USDC in {fleet.a.pool.address}; gas {tx.gas_used} of \d+ at", text)
    assert f"pass {report.seconds:.3f} s" in report.summary()


def test_metrics_endpoint_counts_liquidations_and_health_follows_the_passes(chain, fleet, keeper, make_keeper,
                                                                            set_feed, monkeypatch):
    now = [1_000.0]
    metrics = KeeperMetrics(max_age=30, clock=lambda: now[0])
    port = metrics.serve(0)
    try:
        bot = make_keeper(keeper)
        bot.metrics = metrics
        assert _scrape(port, "/health")[0] == 503  # no pass yet
        set_feed(fleet.a.feed, 2_600)
        report = bot.step()
        status, text = _scrape(port)
        assert status == 200
        assert _sample(text, "ringfence_keeper_liquidations_total", kind="full") == report.full
        assert _sample(text, "ringfence_keeper_liquidations_total", kind="partial") == report.partial
        assert report.full + report.partial > 20
        assert _sample(text, "ringfence_keeper_vaults_tracked") == report.indexed == len(fleet.vaults)
        assert _sample(text, "ringfence_keeper_gas_used_total") == sum(tx.gas_used for tx in report.sent)
        bonus = sum(s.bonus for tx in report.sent for s in tx.outcome.pools.values()) / 10**6
        assert _sample(text, "ringfence_keeper_bonus_total", pool=fleet.a.pool.address) == pytest.approx(bonus)
        assert _sample(text, "ringfence_keeper_decision_seconds_count") == 1
        assert _sample(text, "ringfence_keeper_last_success_timestamp_seconds") == 1_000.0
        assert _scrape(port, "/health")[0] == 200
        now[0] += 31  # no pass for longer than max_age: stale
        assert _scrape(port, "/health")[0] == 503
        bot.step()
        assert _scrape(port, "/health")[0] == 200

        def node_down(*args, **kwargs):
            raise ConnectionError("node unreachable")

        monkeypatch.setattr(bot, "sync", node_down)
        with pytest.raises(ConnectionError):
            bot.step()
        status, text = _scrape(port, "/health")
        assert status == 503
        text = _scrape(port)[1]
        assert _sample(text, "ringfence_keeper_steps_total", result="failed") == 1
        assert _sample(text, "ringfence_keeper_steps_total", result="ok") == 2
        assert _sample(text, "ringfence_keeper_rpc_errors_total") == 1
    finally:
        metrics.close()


def test_two_shards_build_disjoint_first_batches(protocol, fleet, make_keeper, set_feed):
    set_feed(fleet.a.feed, 2_600)
    set_feed(fleet.b.feed, 2_300)
    expected = underwater(protocol.lens, fleet)
    first = {}
    for i in range(2):
        report = make_keeper(dry_run=True, shard=(i, 2)).step()
        deferred = {(p, v) for p, vs in report.deferred.items() for v in vs}
        confirmed = {(p, v) for p, vs in report.confirmed.items() for v in vs}
        assert confirmed == {(p, v) for p, vs in expected.items() for v in vs}
        first[i] = confirmed - deferred
        assert all(shard_of(v, 2) == i for _, v in first[i])
    assert first[0] and first[1]
    assert not first[0] & first[1]
    assert first[0] | first[1] == {(p, v) for p, vs in expected.items() for v in vs}


def test_a_dead_shards_vaults_are_taken_after_the_grace(chain, protocol, fleet, keeper, make_keeper, set_feed):
    set_feed(fleet.a.feed, 2_600)
    expected = underwater(protocol.lens, fleet)[fleet.a.pool.address]
    others = {v for v in expected if shard_of(v, 2) == 1}
    assert others and others != expected
    bot = make_keeper(keeper, shard=(0, 2), shard_grace=600)  # shard 1's keeper is down
    report = bot.step()
    assert set(report.deferred[fleet.a.pool.address]) == others
    assert underwater(protocol.lens, fleet)[fleet.a.pool.address] == others
    assert set(bot.step().deferred[fleet.a.pool.address]) == others  # within the grace: still left
    advance_to(chain, chain.blocks.head.timestamp + 600)
    set_feed(fleet.a.feed, 2_600)  # a fresh round at the same price
    late = bot.step()
    assert not late.deferred and late.liquidated >= len(others)
    assert not any(underwater(protocol.lens, fleet).values())


def test_shard_text_is_parsed_and_checked():
    assert parse_shard("1/3") == (1, 3) and parse_shard("") is None and parse_shard(None) is None
    for bad in ("3/3", "a/2", "1", "-1/2"):
        with pytest.raises(ValueError, match="shard"):
            parse_shard(bad)
    counts = [sum(shard_of(f"0x{i:040x}", 4) == s for i in range(400)) for s in range(4)]
    assert all(60 < c < 140 for c in counts)  # the hash spreads vaults over the shards


def test_partial_liquidations_are_reread_in_one_lens_call_per_market(chain, protocol, fleet, keeper,
                                                                      make_keeper, set_feed, monkeypatch):
    bot = make_keeper(keeper)
    bot.sync()
    set_feed(fleet.a.feed, 2_600)
    set_feed(fleet.b.feed, 2_300)
    start = chain.blocks.head.number + 1
    first = bot.step()
    partial = {(str(e.contract_address), str(e.vault)) for e in _liquidated_events(chain, fleet, start)
               if not e.full}
    assert first.partial == len(partial) > 0
    calls: list[tuple[str, int]] = []
    views = LensReader.views

    def counting(self, pool, vaults, block="latest"):
        calls.append((pool, len(vaults)))
        return views(self, pool, vaults, block)

    monkeypatch.setattr(LensReader, "views", counting)
    batched = bot._reread_batched
    done: set[str] = set()

    def recording(address, vaults, block):
        done.update(batched(address, vaults, block))
        return done & vaults

    monkeypatch.setattr(bot, "_reread_batched", recording)
    second = bot.step()
    pools = {p for p, _ in partial}
    assert sorted(p for p, _ in calls) == sorted(pools)  # one call per market with partial liquidations
    assert sum(n for _, n in calls) == len(partial) == second.reread
    assert done == {v for _, v in partial}  # none needed its own pool.position read
    positions = []
    for pool_address, vault in partial:
        pool = next(fm.pool for fm in fleet.markets if fm.pool.address == pool_address)
        on_chain = model.Position.from_chain(pool.position(vault))
        record = bot.index.markets[pool_address].vaults.get(vault)
        if not on_chain.is_open:
            assert record is None
            continue
        positions.append(vault)
        assert record.position() == on_chain  # the fee base included
    assert positions
