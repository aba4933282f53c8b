"""The keeper's chain-free parts: the index (no liquidatable vault is ever missed, fee drift
included), its event handling, the transaction packing and the decision timing."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ringfence import model
from ringfence.keeper import (
    MarketIndex,
    VaultIndex,
    VaultRecord,
    chunk_batches,
    split_batches,
    vaults_per_tx,
)
from ringfence.keeper.decision_timing import build_index, decision_figures, decision_time

WAD = model.WAD
POOL = "0x" + "11" * 20
T0 = 1_800_000_000
SCALE = 10**30
MAX_RATE = WAD // (365 * 24 * 3600)  # 100 %/year, the factory's bound


def exact_liquidatable(record: VaultRecord, market: MarketIndex, price: int, ts: int) -> bool:
    """What the Lens computes, from the model directly: positionFeesUp at the fee index of ``ts``,
    positionLiquidationPrice, isLiquidatable."""
    position = record.position()
    fees = model.position_fees_up(position, market.fee_index_at(ts), market.scale)
    liq = model.position_liquidation_price(position, fees, market.scale, market.mm_wad)
    return model.is_liquidatable(position.is_long, price, liq)


positions = st.tuples(
    st.booleans(),
    st.integers(100 * WAD, 100_000 * WAD),  # entry price
    st.integers(10 * 10**6, 10**12),  # entry notional, 6-decimal assets
    st.integers(10_000, 1_000_000),  # leverage in basis points: 1x to 100x
    st.integers(0, 10**16),  # fee index already accrued above the position's base (up to 1 %)
)


@given(
    specs=st.lists(positions, min_size=1, max_size=25),
    mm_bp=st.integers(50, 5_000),
    rate=st.integers(0, MAX_RATE),
    horizon=st.integers(1, 30 * 24 * 3600),
    t_fraction=st.floats(0, 1),
    price_bp=st.integers(-3_000, 3_000),
)
def test_no_liquidatable_vault_is_ever_missed(specs, mm_bp, rate, horizon, t_fraction, price_bp):
    """For any time up to the horizon and any price: every vault the Lens would find liquidatable is
    among the candidates, and the candidates are exactly the vaults liquidatable at the horizon (the
    only false candidates are those that fees alone make liquidatable before the horizon)."""
    fee_index = WAD + 10**17
    index = VaultIndex(horizon_ts=T0 + horizon)
    market = index.add_market(POOL, scale=SCALE, mm_wad=mm_bp * 10**14, borrow_rate_wad=rate,
                              fee_index=fee_index, fee_index_ts=T0)
    base_price = specs[0][1]
    for i, (is_long, entry, notional, leverage_bp, fee_gap) in enumerate(specs):
        size = max(1, notional * SCALE // entry)
        margin = max(1, notional * 10_000 // leverage_bp)
        market.upsert(VaultRecord(vault=f"0x{i:040x}", is_long=is_long, size=size, entry_price_wad=entry,
                                  margin=margin, max_profit=margin * 5, fee_base_wad=fee_index - fee_gap))
    index.commit()
    price = max(1, base_price * (10_000 + price_bp) // 10_000)
    t = T0 + int(horizon * t_fraction)
    candidates = set(market.candidates(price))
    for record in market.vaults.values():
        if exact_liquidatable(record, market, price, t):
            assert record.vault in candidates
        assert (record.vault in candidates) == exact_liquidatable(record, market, price, T0 + horizon)
    # prices near each vault's own boundary too
    for record in list(market.vaults.values())[:5]:
        liq = market.liquidation_price_at(record, t)
        for p in (liq - 1, liq, liq + 1):
            if p > 0 and exact_liquidatable(record, market, p, t):
                assert record.vault in market.candidates(p)


def _random_ops(rng: random.Random, index: VaultIndex, steps: int) -> None:
    pools = list(index.markets)
    nonces = 0
    for _ in range(steps):
        pool = rng.choice(pools)
        market = index.markets[pool]
        op = rng.random()
        vaults = list(market.vaults)
        if op < 0.45 or not vaults:
            nonces += 1
            entry = rng.randint(1_000, 5_000) * WAD
            size = rng.randint(1, 50) * WAD // 10
            margin = size * entry // SCALE // rng.randint(2, 20) + 1
            index.apply(pool, "PositionOpened", {
                "vault": f"0x{nonces:040x}", "isLong": rng.random() < 0.5, "size": size, "entryPriceWad": entry,
                "margin": margin, "maxProfit": margin * 5, "feeBaseWad": WAD - 10**15})
        elif op < 0.65:
            vault = rng.choice(vaults)
            name = rng.choice(["MarginAdded", "MarginRemoved"])
            index.apply(pool, name, {"vault": vault, "marginAfter": rng.randint(1, 10**10)})
        elif op < 0.75:
            index.apply(pool, "PositionClosed", {"vault": rng.choice(vaults)})
        elif op < 0.85:
            vault = rng.choice(vaults)
            full = rng.random() < 0.5
            index.apply(pool, "Liquidated", {"vault": vault, "full": full})
            if not full:  # the keeper re-reads the position
                record = market.vaults[vault]
                index.refresh(pool, vault, {
                    "size": record.size // 2, "entryPriceWad": record.entry_price_wad, "margin": record.margin // 2 + 1,
                    "maxProfit": record.max_profit // 2, "feeBaseWad": WAD, "isLong": record.is_long, "status": 1})
        elif op < 0.9:
            index.set_horizon(index.horizon_ts + rng.randint(1, 10_000))
        elif op < 0.95:
            market.set_market(mm_wad=rng.randint(1, 9) * 10**16, borrow_rate_wad=rng.randint(0, MAX_RATE))
        else:
            index.commit()


def test_incremental_index_equals_a_rebuilt_one():
    """After any sequence of events, horizon rolls and parameter changes, the sorted lists hold exactly
    every open vault at its key, and candidates equal a brute-force scan."""
    rng = random.Random(7)
    index = VaultIndex(horizon_ts=T0 + 3_600)
    for p in ("0x" + "aa" * 20, "0x" + "bb" * 20):
        index.add_market(p, scale=SCALE, mm_wad=5 * 10**16, borrow_rate_wad=MAX_RATE // 10, fee_index=WAD,
                         fee_index_ts=T0)
    for _ in range(20):
        _random_ops(rng, index, 60)
        index.commit()
        for market in index.markets.values():
            horizon_index = market.horizon_fee_index
            want_longs = sorted((market.liquidation_price(r, horizon_index), v)
                                for v, r in market.vaults.items() if r.is_long)
            want_shorts = sorted((market.liquidation_price(r, horizon_index), v)
                                 for v, r in market.vaults.items() if not r.is_long)
            assert list(market.longs) == want_longs and list(market.shorts) == want_shorts
            for price in (rng.randint(500, 6_000) * WAD for _ in range(5)):
                brute = {v for v, r in market.vaults.items()
                         if exact_liquidatable(r, market, price, market.horizon_ts)}
                assert set(market.candidates(price)) == brute


def test_events_before_the_market_is_read_are_replayed_and_dirty_vaults_reported():
    index = VaultIndex(horizon_ts=T0 + 3_600)
    opened = {"vault": "0x" + "01" * 20, "isLong": True, "size": WAD, "entryPriceWad": 3_000 * WAD,
              "margin": 400 * 10**6, "maxProfit": 2_000 * 10**6, "feeBaseWad": WAD - 10**15}
    index.apply(POOL, "PositionOpened", opened)  # the pool's parameters are not known yet
    market = index.add_market(POOL, scale=SCALE, mm_wad=5 * 10**16, borrow_rate_wad=0, fee_index=WAD,
                              fee_index_ts=T0)
    assert opened["vault"] in market
    index.apply(POOL, "Liquidated", {"vault": opened["vault"], "full": False})
    index.apply(POOL, "MarginAdded", {"vault": "0x" + "02" * 20, "marginAfter": 5})  # never seen: re-read it
    index.apply(POOL, "ParamsUpdated", {"params": ()})
    assert index.dirty[POOL] == {opened["vault"], "0x" + "02" * 20} and index.dirty_pools == {POOL}
    index.refresh(POOL, "0x" + "02" * 20, (0, 0, 0, 0, 0, False, 2))  # closed on chain: dropped
    assert "0x" + "02" * 20 not in market
    index.apply(POOL, "PositionClosed", {"vault": opened["vault"]})
    assert len(index) == 0 and not index.dirty[POOL]


def test_lp_requests_are_indexed_until_settled_and_ready_only_after_a_later_round():
    """DepositRequested / RedeemRequested (dated by their block) are pending until their Settled event;
    a request is ready only on a round strictly after it (the pool's RequestNotReady test is
    ``updatedAt <= time``); one of each kind per controller, a new one after a settlement."""
    index = VaultIndex(horizon_ts=T0 + 3_600)
    alice, bob = "0x" + "0a" * 20, "0x" + "0b" * 20
    index.apply(POOL, "DepositRequested", {"controller": alice, "owner": alice, "assets": 50, "quoteShares": 7},
                timestamp=T0, block=10)
    index.apply(POOL, "RedeemRequested", {"controller": alice, "owner": bob, "shares": 3, "quoteAssets": 2},
                timestamp=T0 + 5, block=11)
    index.apply(POOL, "DepositRequested", {"controller": bob, "owner": bob, "assets": 9, "quoteShares": 1},
                timestamp=T0 + 5, block=11)
    pending = index.pending_requests(POOL)
    assert [(r.kind, r.controller, r.amount, r.quote, r.time) for r in pending] == [
        ("deposit", alice, 50, 7, T0), ("deposit", bob, 9, 1, T0 + 5), ("redeem", alice, 3, 2, T0 + 5)]
    assert pending[2].owner == bob
    assert index.ready_requests(POOL, T0) == []  # a round in the request's own second is not after it
    assert [(r.kind, r.controller) for r in index.ready_requests(POOL, T0 + 1)] == [("deposit", alice)]
    assert len(index.ready_requests(POOL, T0 + 5)) == 1 and len(index.ready_requests(POOL, T0 + 6)) == 3
    assert index.ready_requests("0x" + "99" * 20, T0 + 6) == []
    index.apply(POOL, "DepositSettled", {"controller": alice, "assets": 50, "shares": 7})
    index.apply(POOL, "RedeemSettled", {"controller": bob, "shares": 1, "assets": 1})  # none pending: ignored
    assert [(r.kind, r.controller) for r in index.pending_requests()] == [("deposit", bob), ("redeem", alice)]
    index.apply(POOL, "DepositRequested", {"controller": alice, "owner": alice, "assets": 4, "quoteShares": 1},
                timestamp=T0 + 9, block=12)  # a new request once the first one settled
    assert index.ready_requests(POOL, T0 + 9) == index.ready_requests(POOL, T0 + 6)
    assert index.drop_request(POOL, "redeem", alice) and not index.drop_request(POOL, "redeem", alice)
    assert len(index) == 0  # no vault: LP requests are not open vaults
    with pytest.raises(ValueError):
        index.apply(POOL, "RedeemRequested", {"controller": bob, "owner": bob, "shares": 1, "quoteAssets": 1})


def test_candidates_are_the_crossed_vaults_deepest_first():
    market = build_index(2_000, seed=3).markets["0x" + "42" * 20]
    for price in (2_900 * WAD, 3_100 * WAD):
        longs = [(k - price, v) for k, v in market.longs if k > price]
        shorts = [(price - k, v) for k, v in market.shorts if k < price]
        candidates = market.candidates(price)
        assert sorted(candidates) == sorted(v for _, v in longs + shorts) and candidates
        depth = {v: d for d, v in longs + shorts}
        assert all(depth[a] >= depth[b] for a, b in zip(candidates, candidates[1:]))
    # both sides crossed at once (a market whose keys straddle the price)
    market.upsert(VaultRecord(vault="0x" + "ee" * 20, is_long=False, size=WAD, entry_price_wad=2_000 * WAD,
                              margin=10**6, max_profit=5 * 10**6, fee_base_wad=WAD - 10**15))
    price = 3_000 * WAD
    candidates = market.candidates(price)
    assert "0x" + "ee" * 20 == candidates[0]  # a short a third under water comes before any long


def test_packing_and_splitting():
    confirmed = {"p1": [f"a{i}" for i in range(7)], "p2": [f"b{i}" for i in range(4)]}
    txs = chunk_batches(confirmed, 5)
    assert [sum(len(v) for _, v in tx) for tx in txs] == [5, 5, 1]
    assert [v for tx in txs for _, vs in tx for v in vs] == confirmed["p1"] + confirmed["p2"]
    assert txs[1] == [("p1", ["a5", "a6"]), ("p2", ["b0", "b1", "b2"])]
    first, second = split_batches(txs[1])
    assert first == [("p1", ["a5", "a6"])] and second == [("p2", ["b0", "b1", "b2"])]
    first, second = split_batches([("p1", ["x", "y", "z"])])
    assert first == [("p1", ["x"])] and second == [("p1", ["y", "z"])]
    with pytest.raises(ValueError):
        split_batches([("p1", ["x"])])
    assert vaults_per_tx(100, 15_000_000, 100_000, 310_000) == 100
    assert vaults_per_tx(100, 1_500_000, 100_000, 310_000) == 11
    assert vaults_per_tx(100, 100_000, 100_000, 310_000) == 1


def test_decision_timing_runs():
    """The decision timing the gas bench reports (timed there, not asserted here)."""
    seconds = decision_time(1_000, repeats=2)
    assert 0 < seconds < 5
    figures = decision_figures(1_000, move=-0.2, repeats=1)
    assert figures.candidates > 0 and figures.n_vaults == 1_000
