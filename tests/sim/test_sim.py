"""The simulator (ringfence.sim): scenario validation, the oracle's round policy, and small runs on the
session's chain (both passes of `make test`) asserting what must hold; the fork run starts its own
upstream Anvil (embedded-chain pass only, like tests/integration/test_deploy.py)."""

from __future__ import annotations

import json
import subprocess
from fractions import Fraction
from pathlib import Path

import pytest

from ringfence.sim.cross import Action, CrossMarket, CrossModel
from ringfence.sim.oracle import rounds
from ringfence.sim.prices import price_path, volatility_at
from ringfence.sim.scenario import (
    ScenarioError,
    ScenarioOracle,
    load_scenario,
    parse_scenario,
)
from ringfence import model

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
WAD = 10**18


# ==================================================================================== no chain
def _minimal() -> dict:
    return {"blocks": 10, "markets": [{"id": "ETH", "start_price": 3000}], "traders": {"count": 1},
            "keepers": [{"delay": 1}]}


@pytest.mark.parametrize("change, where", [
    (lambda r: r.pop("markets"), "missing field"),
    (lambda r: r["markets"][0].update(start_price=-1), "markets[0].start_price"),
    (lambda r: r["markets"][0].update(oracle={"heartbeat": "1x"}), "markets[0].oracle.heartbeat"),
    (lambda r: r["markets"][0].update(price={"events": [{"type": "crash", "at": 1, "duration": 5,
                                                         "change": "+5%"}]}), "events[0].change"),
    (lambda r: r["traders"].update(leverage=[2, 50]), "traders.leverage"),
    (lambda r: r["markets"][0].update(params={"maintenance_margin": "20%"}), "markets[0].params"),
    (lambda r: r["keepers"][0].update(speed=3), "keepers[0]"),
    (lambda r: r["markets"][0].update(feed="0x1234"), "markets[0].feed"),
    (lambda r: r["traders"].update(guard={"trigger": 2, "target": 1.5}), "traders.guard"),
    (lambda r: r["traders"].update(guard={"fraction": 2}), "traders.guard.fraction"),
])
def test_bad_scenarios_are_named(change, where):
    raw = _minimal()
    change(raw)
    with pytest.raises(ScenarioError) as info:
        parse_scenario(raw)
    assert where in str(info.value)


def test_shipped_scenarios_parse():
    for name in ("calm", "flash-crash", "slow-bleed", "load"):
        sc = load_scenario(name)
        assert sc.name == name and sc.blocks > 0 and sc.markets
    assert load_scenario(HERE / "contagion.yaml").traders.count == 4


def test_oracle_publishes_on_deviation_or_heartbeat():
    spec = ScenarioOracle(deviation=Fraction(1, 100), heartbeat=60, decimals=8, max_age=120)
    path = [100.0, 100.5, 100.9, 101.2, 101.2, 101.2, 101.2, 101.2, 99.0]
    out = rounds(path, spec, block_time=12)
    assert [(r.block, r.reason) for r in out] == [(0, "start"), (3, "deviation"), (8, "deviation")]
    flat = rounds([100.0] * 12, spec, block_time=12)
    assert [r.block for r in flat] == [0, 5, 10]  # every 60 s, nothing else
    assert all(r.answer == 100 * 10**8 for r in flat)


def test_price_paths_are_seeded_and_crash_as_scheduled():
    sc = load_scenario("flash-crash")
    m = sc.markets[0]
    a = price_path(m.price, 3000.0, sc.blocks, sc.block_time, 1)
    assert a == price_path(m.price, 3000.0, sc.blocks, sc.block_time, 1)
    assert a != price_path(m.price, 3000.0, sc.blocks, sc.block_time, 2)
    start, end = 40 * 60 // sc.block_time, 100 * 60 // sc.block_time  # the crash's hour
    assert a[end] / a[start] < 0.8
    # A slow bleed ramps the volatility from its base to the event's level over the event's window.
    bleed = load_scenario("slow-bleed").markets[0].price
    e = bleed.events[0]
    assert volatility_at(0.4, bleed.events, e.at) == 0.4
    assert 0.4 < volatility_at(0.4, bleed.events, e.at + e.duration // 2) < 1.5
    assert volatility_at(0.4, bleed.events, e.at + e.duration + 3600) == 1.5


def test_cross_model_balances_money_and_shows_contagion():
    params = model.MarketParams(asset_decimals=6, initial_margin_wad=WAD // 10, maintenance_margin_wad=WAD // 20,
                                liquidation_target_wad=WAD * 75 // 1000, keeper_bonus_wad=WAD // 100,
                                liquidation_penalty_wad=WAD // 100, keeper_bonus_min=10**6,
                                keeper_bonus_max=10**9, max_profit_wad=5 * WAD)
    market = CrossMarket(params=params, fee_index0=WAD, ts0=0, insurance_fund=100 * 10**6, lp_deposits=10**12)
    price = 3000 * WAD

    def pos(margin: int, size: int) -> model.Position:
        return model.Position(size=size, entry_price_wad=price, margin=margin, max_profit=5 * margin,
                              fee_base_wad=WAD, is_long=True)

    # One trader: a 2x long of 1 ETH (solvent alone after -20 %) and a 10x long of 3 ETH (bankrupt
    # after -20 %: it loses 1,800 on a margin of 900, which the account's other margin pays).
    actions = [Action(0, 0, "open", 0, 0, 0, pos(1500 * 10**6, WAD)),
               Action(0, 0, "open", 0, 1, 0, pos(900 * 10**6, 3 * WAD))]
    prices = [[(0, price), (5, 2400 * WAD)]]
    cross = CrossModel([market], prices, delay=1)
    result = cross.run(actions, lambda b: 12 * b, last_block=10)
    assert result.liquidated_positions == 2 and result.contagion == 1
    assert [liq["contagion"] for liq in result.liquidations] == [True, False]
    assert result.trader_excess_loss == 900 * 10**6  # the 10x long's loss beyond its own margin
    assert result.bad_debt == 0 and cross.conservation_gap() == 0
    # Alone, each position is judged on its own margin: only the 10x long is liquidatable.
    isolated_alone = CrossModel([market], prices, delay=1)
    res = isolated_alone.run([actions[0], Action(0, 0, "open", 1, 1, 0, actions[1].pos)], lambda b: 12 * b, 10)
    assert res.liquidated_positions == 1 and res.contagion == 0


# ==================================================================================== on chain
@pytest.fixture(scope="module")
def contagion_runs(chain):
    """The contagion scenario run twice from the same chain state (same seed)."""
    from ringfence.sim.runner import run_scenario

    runs = []
    for _ in range(2):
        snapshot = chain.snapshot()
        try:
            runs.append(run_scenario(load_scenario(HERE / "contagion.yaml"), progress=False))
        finally:
            chain.restore(snapshot)
    return runs


@pytest.fixture(scope="module")
def contagion_run(contagion_runs):
    return contagion_runs[0]


def test_isolated_holds_and_cross_shows_contagion(contagion_run):
    run = contagion_run
    iso, cross = run.figures["isolated"], run.figures["cross"]
    assert iso["positions_opened"] == 8 and not iso["positions_failed"]
    # The crash does liquidate on chain (so the checks below are not vacuous)...
    assert iso["positions_liquidated"] > 0
    # ...but never a vault that was solvent on its own, and no trader loses more than its vaults' margin.
    assert iso["liquidated_solvent_alone"] == 0
    assert iso["trader_excess_loss"] == 0
    for mark in iso["liquidation_marks"]:
        assert not mark["solvent_alone"]
    # Conservation to the unit: minted = wallets + pool + insurance fund + vaults; the pool holds its
    # LPs' assets and the owners' unclaimed credits exactly (all claimed at the end).
    for figures in iso["conservation"].values():
        assert figures["minted"] > 0 and figures["gap"] == 0
    # ...and at the end it holds exactly the LPs' realized liquidity (credits claimed, no pending deposit)
    assert all(m["pool_balance_minus_liquidity"] == 0 and m["pending_deposits_end"] == 0 for m in iso["markets"])
    # every position closed at the end: the marked LP figures are the realized ones
    assert all(m["total_assets_marked_end"] == m["liquidity_end"] for m in iso["markets"])
    assert iso["lp_pnl_marked"] == iso["lp_pnl"]
    # The cross model, on the same positions and prices, liquidates solvent positions (contagion) and
    # makes traders lose beyond what a position was allocated; its money balances too.
    assert cross["liquidated_solvent_alone"] > 0
    assert cross["trader_excess_loss"] > 0
    assert cross["conservation_gap"] == 0
    # Every keeper transaction the loop saw was dated by the scenario's clock, in order.
    assert [b for _, b in run.block_map] == sorted(b for _, b in run.block_map)


def test_lps_enter_before_the_trades(contagion_run):
    """Two LPs of 100,000 each: the first deposits into the new pool at once, the second requests before
    block 0 and is settled on block 0's oracle round, before the first trade, at the bootstrap's price:
    with 6 share decimals more than the asset and nothing but deposits in the pool, both get exactly
    deposit x 10**6 shares (the request's quote, minted in full)."""
    run = contagion_run
    iso = run.figures["isolated"]
    assert run.scenario.lps.count == 2
    deposit = int(run.scenario.lps.deposit) * 10**6
    market = iso["markets"][0]
    assert market["deposits"] == 2 * deposit
    assert (market["lp_deposits_immediate"], market["lp_deposits_requested"], market["lp_deposits_settled"]) \
        == (1, 1, 1)
    assert sorted(market["lp_shares"].values()) == [deposit * 10**6] * 2
    events = [e for e in run.events if e["contract"].lower() == market["pool"].lower()]
    order = [e["event"] for e in events if e["event"] in ("Deposit", "DepositRequested", "DepositSettled",
                                                          "PositionOpened")]
    assert order[:3] == ["Deposit", "DepositRequested", "DepositSettled"]
    assert order.count("PositionOpened") == iso["positions_opened"] and "Deposit" not in order[3:]
    settled = next(e for e in events if e["event"] == "DepositSettled")
    assert settled["args"]["assets"] == deposit and settled["args"]["shares"] == deposit * 10**6
    assert run.step_of(settled["block"]) == 0


def test_same_seed_same_figures(contagion_runs, tmp_path):
    from ringfence.sim.report import write_report

    first, again = contagion_runs[0].figures, contagion_runs[1]
    keys = ("positions_liquidated", "liquidations_full", "liquidations_partial", "bad_debt", "lp_pnl",
            "fund_end", "keeper_bonus_total", "trader_excess_loss", "conservation")
    assert {k: first["isolated"][k] for k in keys} == {k: again.figures["isolated"][k] for k in keys}
    assert first["cross"] == again.figures["cross"]
    files = write_report(again, tmp_path / "report")
    text = files["report"].read_text()
    assert "cross (model)" in text and "| positions liquidated |" in text
    for name in ("price.png", "health.png", "insurance_fund.png", "lp_share_price.png", "comparison.png"):
        assert files[name].stat().st_size > 10_000
    data = json.loads(files["figures"].read_text())
    assert data["isolated"]["positions_opened"] == 8
    assert files["events"].read_text().count('"Liquidated"') == \
        again.figures["isolated"]["liquidations_full"] + again.figures["isolated"]["liquidations_partial"]


def test_fork_run_reads_the_upstream_feed_and_token(tmp_path):
    from tests.integration.test_deploy import AnvilNode, ape_env, deploy_bytecode, only_in_embedded_pass, rpc

    only_in_embedded_pass()
    from ape import project

    upstream = AnvilNode("--chain-id", "1")
    try:
        seeder = upstream.accounts()[9]
        feed = upstream.send(seeder, None, deploy_bytecode(project, "MockAggregator", 8,
                                                           2_500 * 10**8))["contractAddress"]
        token = upstream.send(seeder, None, deploy_bytecode(project, "MockERC20", "USD Coin", "USDC",
                                                            6))["contractAddress"]
        block = int(rpc(upstream.url, "eth_blockNumber"), 16)
        out = tmp_path / "fork"
        result = subprocess.run(
            [str(Path(ape_env()["PATH"].split(":")[0]) / "ape"), "run", "simulate",
             str(HERE / "fork.yaml"), "--network", "ethereum:mainnet-fork:foundry", "--out", str(out),
             "--no-progress"],
            cwd=ROOT, env=ape_env(MAINNET_RPC_URL=upstream.url, SIM_FEED=feed, SIM_TOKEN=token),
            capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
        data = json.loads((out / "figures.json").read_text())
        assert data["chain_id"] == 1 and "mainnet-fork" in data["network"]
        market = data["isolated"]["markets"][0]
        assert market["feed"].lower() == feed.lower() and market["token"].lower() == token.lower()
        assert market["start_answer"] == 2_500 * 10**8  # the start price is the upstream feed's answer
        assert data["isolated"]["positions_opened"] == 6
        assert all(c["gap"] == 0 for c in data["isolated"]["conservation"].values())
        # The simulation's rounds and trades stayed on the fork.
        assert int(rpc(upstream.url, "eth_blockNumber"), 16) == block
    finally:
        upstream.stop()


def test_the_demo_reproduces_its_reference_figures(tmp_path):
    """`make demo` (the flash crash on a fresh embedded chain) gives exactly the figures of
    docs/reference/flash-crash.json, the result the README shows. RINGFENCE_UPDATE_REFERENCE=1
    rewrites the reference on purpose (after a change that is meant to move the figures)."""
    import os

    from tests.integration.test_deploy import ape_env, only_in_embedded_pass

    from ringfence.sim.report import reference_figures

    only_in_embedded_pass()
    out = tmp_path / "demo"
    result = subprocess.run(
        [str(Path(ape_env()["PATH"].split(":")[0]) / "ape"), "run", "simulate", "flash-crash",
         "--out", str(out), "--no-progress"],
        cwd=ROOT, env=ape_env(), capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    figures = reference_figures(json.loads((out / "figures.json").read_text()))
    reference_path = ROOT / "docs" / "reference" / "flash-crash.json"
    if os.environ.get("RINGFENCE_UPDATE_REFERENCE") == "1":
        reference_path.write_text(json.dumps(figures, indent=1, sort_keys=True) + "\n")
    reference = json.loads(reference_path.read_text())
    diffs = [f"{section}.{key}: reference {reference[section].get(key)!r}, now {value!r}"
             for section in ("isolated", "cross") for key, value in figures[section].items()
             if reference[section].get(key) != value]
    assert figures == reference, "the demo's figures moved:\n" + "\n".join(diffs)
