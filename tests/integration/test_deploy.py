"""Deployment (``ringfence.deploy``, ``ape run deploy``): markets files in human units, the full
protocol and its markets, idempotent re-runs, owner hand-over, and dry runs on Anvil and on a fork.

Two kinds of tests:

* in-process, on the session's chain: they run in both passes of ``make test`` (plain CREATE on the
  embedded chain, CREATE2 through the deterministic-deployment proxy on Anvil);
* ``separate_anvil_pass``: they start their own Anvil node(s) and drive ``ape run deploy`` as a
  subprocess, so they are independent of the session's chain and run once, in the embedded-chain
  pass (skipped when the session's provider is not the embedded ``test`` provider). The fork dry
  run is here; ``ape run deploy`` twice on a plain Anvil is in ``test_cli.py`` (its node).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ringfence.abi import at
from ringfence.chain.anvil import Anvil
from ringfence.chain.rpc import call
from ringfence.deploy import (
    CREATE2_PROXY,
    DeployAborted,
    DeployChecksFailed,
    DeployError,
    deploy,
    load_markets,
    market_params,
    parse_duration,
)
from ringfence.sdk import SECONDS_PER_YEAR, MarketParams
from ringfence.units import WAD

ROOT = Path(__file__).resolve().parents[2]
LOCAL_MARKETS = ROOT / "markets" / "local.yaml"
VENV_BIN = Path(sys.executable).parent
ANVIL_MNEMONIC = "test test test test test test test test test test test junk"


def _ape_local_chain_id() -> int:
    """The chain id Ape's node provider signs for on ``ethereum:local:<uri>`` (``node.ethereum.local
    .chain_id``, 1337 unless configured): a node started for that network must use it."""
    from ape import config

    return int(config.get_config("node").ethereum.local.get("chain_id", 1337))


APE_LOCAL_CHAIN_ID = _ape_local_chain_id()

ETH_PARAMS_YAML = """
    initial_margin: 10%
    maintenance_margin: 5%
    liquidation_target: 7.5%
    keeper_bonus: 1%
    liquidation_penalty: 1%
    open_fee: 0.1%
    close_fee: 0.1%
    borrow_rate_per_year: 10%
    max_profit: 5x
    min_margin: 10
    min_notional: 50
    max_position_notional: 1_000_000
    max_open_interest: 10_000_000
    keeper_bonus_min: 1
    keeper_bonus_max: 1_000
"""


# ==================================================================================== helpers


def rpc(url: str, method: str, *params):
    return call(url, method, *params, timeout=10)


class AnvilNode(Anvil):
    """A test's own Anvil (the test mnemonic, Anvil's default accounts and balances) on a free loopback
    port, started on construction; the test is skipped when Anvil is not installed."""

    def __init__(self, *args: str):
        try:
            super().__init__("--mnemonic", ANVIL_MNEMONIC, *args)
        except FileNotFoundError:
            pytest.skip("anvil is not installed (make install)")
        self.start()

    @property
    def url(self) -> str:
        return self.uri

    @property
    def ape_network(self) -> str:
        return f"ethereum:local:{self.url}"

    def send(self, sender: str, to: str | None, data: bytes) -> dict:
        """An unlocked-account transaction, waited for (anvil may answer before sealing)."""
        tx = {"from": sender, "data": "0x" + data.hex(), "gas": hex(8_000_000)}
        if to is not None:
            tx["to"] = to
        tx_hash = rpc(self.url, "eth_sendTransaction", tx)
        for _ in range(200):
            receipt = rpc(self.url, "eth_getTransactionReceipt", tx_hash)
            if receipt is not None:
                assert int(receipt["status"], 16) == 1, receipt
                return receipt
            time.sleep(0.05)
        raise RuntimeError(f"no receipt for {tx_hash}")

    def accounts(self) -> list[str]:
        from eth_utils import to_checksum_address

        return [to_checksum_address(a) for a in rpc(self.url, "eth_accounts")]


def deploy_bytecode(project, name: str, *args) -> bytes:
    """Creation code and constructor arguments of one of the project's contracts."""
    from eth_abi import encode

    contract_type = getattr(project, name).contract_type
    code = bytes.fromhex(contract_type.deployment_bytecode.bytecode[2:])
    constructor = contract_type.constructor
    types = [i.canonical_type for i in constructor.inputs] if constructor else []
    return code + (encode(types, list(args)) if types else b"")


def call_selector(signature: str, types: list[str], args: list) -> bytes:
    from eth_abi import encode
    from eth_utils import keccak

    return keccak(text=signature)[:4] + encode(types, args)


def ape_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("SOLCX_BINARY_PATH", str(ROOT / ".solcx"))
    env.update(extra)
    return env


def run_ape_deploy(network: str, markets: Path, out_dir: Path, *extra: str,
                   env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    command = [str(VENV_BIN / "ape"), "run", "deploy", "--network", network, "--markets",
               str(markets), "--deployments-dir", str(out_dir), *extra]
    result = subprocess.run(command, cwd=ROOT, env=env or ape_env(), capture_output=True,
                            text=True, timeout=240)
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stdout}\n{result.stderr}"
    return result


@contextmanager
def local_deployment(tmp_path_factory) -> Iterator[tuple[AnvilNode, Path, dict]]:
    """markets/local.yaml deployed by ``ape run deploy`` on an Anvil of its own (the embedded chain's
    chain id): the node, the deployments file and its contents; the node is stopped afterwards."""
    anvil = AnvilNode("--chain-id", str(APE_LOCAL_CHAIN_ID))
    try:
        out = tmp_path_factory.mktemp("deployments")
        run_ape_deploy(anvil.ape_network, LOCAL_MARKETS, out)
        path = out / "ethereum-local.json"
        yield anvil, path, json.loads(path.read_text())
    finally:
        anvil.stop()


def only_in_embedded_pass() -> None:
    """Tests that start their own Anvil run once: in the embedded-chain pass of `make test`
    (the session's provider is Ape's embedded ``test`` provider); skipped in the Anvil pass."""
    import ape

    if ape.chain.provider.name != "test":
        pytest.skip("starts its own Anvil: runs once, in the embedded-chain pass of `make test`")


@pytest.fixture
def separate_anvil_pass():
    only_in_embedded_pass()


def write_markets(path: Path, body: str) -> Path:
    path.write_text(body)
    return path


def count_nonce(account) -> int:
    return int(account.nonce)


# ==================================================================================== markets files


def test_human_units_convert_exactly():
    p = market_params({
        "initial_margin": "10%", "maintenance_margin": 0.05, "liquidation_target": "7.5%",
        "keeper_bonus": "1%", "liquidation_penalty": "0.01", "open_fee": "0.1%", "close_fee": "0.1%",
        "borrow_rate_per_year": "10%", "max_profit": "5x", "min_margin": 10, "min_notional": "50",
        "max_position_notional": 1_000_000, "max_open_interest": "10,000,000",
        "keeper_bonus_min": 1, "keeper_bonus_max": 1000,
    }, decimals=6)
    assert p == MarketParams.default(6)
    assert p.liquidation_target_wad == 75 * 10**15
    assert p.borrow_rate_wad == WAD // 10 // SECONDS_PER_YEAR == 3_170_979_198
    assert market_params({**_params(), "min_margin": "0.000001"}, 6).min_margin == 1
    # The raw struct field works instead of its human key.
    assert market_params({**_params(exclude="borrow_rate_per_year"), "borrow_rate_wad": 7}, 6) \
        .borrow_rate_wad == 7


def _params(exclude: str | None = None) -> dict:
    import yaml

    values = yaml.safe_load(ETH_PARAMS_YAML)
    values.pop(exclude, None)
    return values


@pytest.mark.parametrize("change, message", [
    ({"min_margin": "0.0000001"}, "more than 6 decimals"),
    ({"initial_margin": "1e-19"}, "more than 18 decimals"),
    ({"initial_margin": "ten"}, "is not a number"),
    ({"leverage": 5}, "unknown parameter 'leverage'"),
    ({"borrow_rate_wad": 1}, "given twice"),
])
def test_bad_parameters_are_named(change, message):
    with pytest.raises(DeployError, match=message):
        market_params({**_params(), **change}, 6)
    with pytest.raises(DeployError, match="missing parameters: max_profit"):
        market_params(_params(exclude="max_profit"), 6)


def test_durations():
    assert [parse_duration(v) for v in (3600, "3600", "90m", "1h", "1h30m", "2d", "1.5h")] == \
        [3600, 3600, 5400, 3600, 5400, 172800, 5400]
    for bad in ("1 hour", "-5", "0.5s", True):
        with pytest.raises(DeployError):
            parse_duration(bad)


def test_markets_files_of_the_repository_parse():
    local = load_markets(LOCAL_MARKETS)
    assert [m.id for m in local.markets] == ["ETH-USD", "BTC-USD"] and local.uses_mocks
    assert local.markets[0].market_params(6) == MarketParams.default(6)
    mainnet = load_markets(ROOT / "markets" / "example-mainnet.yaml")
    assert not mainnet.uses_mocks and mainnet.owner and mainnet.guardian
    assert all(m.oracle.max_age == 3900 for m in mainnet.markets)
    assert local.delay == mainnet.delay == 24 * 3600
    assert [m.max_keeper_bonus_min_units(6) for m in mainnet.markets] == [20 * 10**6] * 2


def test_delay_and_floor_cap_settings(tmp_path):
    """The factory's owner delay (default 24 h, within the factory's bounds) and a market's cap on its
    keeper-bonus floor (whole tokens, default the factory's largest, 100)."""
    body = _single_market_file("ETH-USD", 3000)
    assert load_markets(write_markets(tmp_path / "a.yaml", body)).delay == 24 * 3600
    spec = load_markets(write_markets(tmp_path / "b.yaml", "delay: 2d\n" + body))
    assert spec.delay == 2 * 86400 and spec.markets[0].max_keeper_bonus_min_units(6) == 100 * 10**6
    for bad in ("59m", "31d"):
        with pytest.raises(DeployError, match="delay must be between 1h and 30d"):
            load_markets(write_markets(tmp_path / "c.yaml", f"delay: {bad}\n" + body))
    capped = body.replace("    token:", "    max_keeper_bonus_min: 2.5\n    token:", 1)
    assert load_markets(write_markets(tmp_path / "d.yaml", capped)).markets[0] \
        .max_keeper_bonus_min_units(6) == 2_500_000
    with pytest.raises(DeployError, match="max_keeper_bonus_min must be between 0 and 100"):
        load_markets(write_markets(tmp_path / "e.yaml", capped.replace("2.5", "101")))


def test_markets_file_errors_are_one_line(tmp_path):
    cases = {
        "markets: {}": "no markets",
        "markets: {X: {token: deploy-mock, oracle: {feed: 0x12}, params: {}}}": "not an address",
        "markets: {X: {token: deploy-mock, oracle: {feed: deploy-mock}, params: {}}}": "max_age",
        "owner: bob\nmarkets: {}": "owner: 'bob' is not an address",
        "markets: [1, 2]": "mapping",
        "extra: 1\nmarkets: {}": "unknown top-level",
    }
    for body, message in cases.items():
        path = write_markets(tmp_path / "m.yaml", body)
        with pytest.raises(DeployError, match=message) as info:
            load_markets(path)
        assert "\n" not in str(info.value)


# ==================================================================================== in-process


def test_deploys_everything_then_nothing(accounts, project, chain, tmp_path):
    owner = accounts[0]
    path = tmp_path / "deployments.json"
    report = deploy(owner, LOCAL_MARKETS, path=path)

    create2 = bool(chain.provider.get_code(CREATE2_PROXY))
    data = json.loads(path.read_text())
    assert data == report.data and data["method"] == ("create2" if create2 else "create")
    assert data["chain_id"] == chain.provider.chain_id
    # Core 4 + setLiquidator, one mock token, two feeds, two oracles, two pools, the guard.
    assert len(report.sent) == 13
    factory = at(project.PoolFactory, report.factory)
    contracts = data["contracts"]
    assert factory.liquidator() == contracts["Liquidator"]["address"] == data["liquidator"]
    assert at(project.Liquidator, contracts["Liquidator"]["address"]).factory() == factory.address
    assert at(project.MarginGuard, contracts["MarginGuard"]["address"]).factory() == factory.address
    assert factory.owner() == owner.address and factory.guardian() == owner.address
    assert contracts["PoolFactory"]["args"] == [owner.address, owner.address,
                                                contracts["MarginPoolDeployer"]["address"], 24 * 3600]
    assert contracts["MarginPoolDeployer"]["args"] == [factory.address]
    assert factory.delay() == 24 * 3600
    assert at(project.MarginPoolDeployer, factory.deployer()).factory() == factory.address
    for record in [*contracts.values(), *data["mocks"].values()]:
        assert record["tx_hash"].startswith("0x") and record["block"] >= 1
        assert chain.provider.get_code(record["address"])
    assert [t["action"] for t in data["transactions"]] == ["setLiquidator"]

    usdc = data["mocks"]["token:USDC"]["address"]
    expected = {"ETH-USD": MarketParams.default(6),
                "BTC-USD": MarketParams.default(6).with_(initial_margin_wad=WAD // 5,
                                                         maintenance_margin_wad=WAD // 10,
                                                         liquidation_target_wad=WAD * 15 // 100)}
    for market_id, params in expected.items():
        market = data["markets"][market_id]
        pool = at(project.MarginPool, market["pool"])
        assert factory.isPool(pool) and pool.asset() == usdc == market["asset"]
        assert MarketParams.from_chain(pool.params()) == params
        oracle = at(project.ChainlinkOracle, market["oracle"]["address"])
        assert pool.oracle() == oracle.address and oracle.feed() == market["feed"]
        assert oracle.maxAge() == 3600 and oracle.minAnswer() == 10**8
        assert market["tx_hash"] and market["block"] and market["insurance_fund"]
    assert at(project.ChainlinkOracle, data["markets"]["ETH-USD"]["oracle"]["address"]).price() \
        == 3000 * WAD

    nonce = count_nonce(owner)
    again = deploy(owner, LOCAL_MARKETS, path=path)
    assert again.sent == [] and again.adopted == [] and again.warnings == []
    assert count_nonce(owner) == nonce
    assert again.data["markets"] == data["markets"] and again.data["contracts"] == contracts

    if create2:
        # Lost the file: the CREATE2 addresses and the factory's registry are found again.
        path.unlink()
        found = deploy(owner, LOCAL_MARKETS, path=path)
        assert found.sent == [] and "market ETH-USD" in found.adopted
        assert {k: v["pool"] for k, v in found.data["markets"].items()} == \
            {k: v["pool"] for k, v in data["markets"].items()}
        assert found.data["contracts"]["Liquidator"]["address"] == contracts["Liquidator"]["address"]


def test_a_new_market_deploys_only_what_it_needs(accounts, project, tmp_path):
    owner = accounts[0]
    path = tmp_path / "deployments.json"
    one = tmp_path / "one.yaml"
    one.write_text(_single_market_file("ETH-USD", 3000))
    first = deploy(owner, one, path=path)
    two = tmp_path / "two.yaml"
    two.write_text(_single_market_file("ETH-USD", 3000) + _market_entry("SOL-USD", 150))
    second = deploy(owner, two, path=path)
    # Only the SOL feed mock, its oracle and its pool.
    assert [s.split("(")[0] for s in second.sent] == ["deploy MockAggregator", "deploy ChainlinkOracle",
                                                      "factory.createPool"]
    assert second.data["markets"]["ETH-USD"] == first.data["markets"]["ETH-USD"]
    assert second.data["contracts"] == first.data["contracts"]
    factory = at(project.PoolFactory, second.factory)
    assert factory.poolCount() == 2
    # Changing the parameters of an existing market is reported, not redeployed.
    three = tmp_path / "three.yaml"
    three.write_text(two.read_text().replace("max_profit: 5x", "max_profit: 4x"))
    third = deploy(owner, three, path=path)
    assert third.sent == [] and any("max_profit_wad" in w for w in third.warnings)


def _market_entry(market_id: str, price: int) -> str:
    params = "\n".join("      " + line.strip() for line in ETH_PARAMS_YAML.strip().splitlines())
    return f"""  {market_id}:
    token: {{deploy-mock: {{symbol: USDC, decimals: 6}}}}
    oracle:
      feed: {{deploy-mock: {{decimals: 8, answer: {price}}}}}
      max_age: 1h
    params:
{params}
"""


def _single_market_file(market_id: str, price: int, header: str = "") -> str:
    return header + "markets:\n" + _market_entry(market_id, price)


def test_owner_and_guardian_from_the_file(accounts, project, tmp_path):
    deployer, multisig, guardian = accounts[0], accounts[1], accounts[2]
    path = tmp_path / "deployments.json"
    file = tmp_path / "m.yaml"
    file.write_text(_single_market_file(
        "ETH-USD", 3000, f"owner: '{multisig.address}'\nguardian: '{guardian.address}'\n"))
    report = deploy(deployer, file, path=path)
    factory = at(project.PoolFactory, report.factory)
    # Created by the deployer (it sets the liquidator and creates the pools), then handed over.
    assert factory.pendingOwner() == multisig.address and factory.owner() == deployer.address
    assert factory.guardian() == guardian.address
    assert [t["action"] for t in report.data["transactions"]] == \
        ["setLiquidator", "transferOwnership"]
    assert deploy(deployer, file, path=path).sent == []  # the transfer is pending: nothing to do

    factory.acceptOwnership(sender=multisig)
    file.write_text(file.read_text() + _market_entry("SOL-USD", 150))
    with pytest.raises(DeployError, match="factory's owner must send"):
        deploy(deployer, file, path=path)
    done = deploy(multisig, file, path=path)
    assert [s.split("(")[0] for s in done.sent][-1] == "factory.createPool"
    assert factory.poolCount() == 2


@pytest.mark.parametrize("declined, stops_at, left", [
    (3, "deploy Liquidator", 11),
    (9, "factory.createPool", 5),  # the ETH-USD oracle is deployed, its pool is not
])
def test_declining_a_transaction_stops_and_a_rerun_finishes(accounts, tmp_path, declined, stops_at,
                                                            left):
    owner = accounts[0]
    path = tmp_path / "deployments.json"
    asked: list[str] = []

    def decline(description: str) -> bool:
        asked.append(description)
        return len(asked) < declined

    with pytest.raises(DeployAborted, match=f"aborted before: {stops_at}"):
        deploy(owner, LOCAL_MARKETS, path=path, confirm=decline)
    partial = json.loads(path.read_text())
    rest = deploy(owner, LOCAL_MARKETS, path=path)
    assert len(rest.sent) == left
    assert rest.data["contracts"]["PoolFactory"] == partial["contracts"]["PoolFactory"]
    if "ETH-USD" in partial["markets"]:
        assert "pool" not in partial["markets"]["ETH-USD"]
        assert rest.data["markets"]["ETH-USD"]["oracle"] == partial["markets"]["ETH-USD"]["oracle"]


def test_out_of_bounds_parameters_stop_before_any_market(accounts, tmp_path):
    owner = accounts[0]
    file = tmp_path / "m.yaml"
    file.write_text(_single_market_file("ETH-USD", 3000).replace("initial_margin: 10%",
                                                                 "initial_margin: 0.5%")
                    .replace("maintenance_margin: 5%", "maintenance_margin: 0.25%")
                    .replace("liquidation_target: 7.5%", "liquidation_target: 0.3%")
                    .replace("keeper_bonus: 1%", "keeper_bonus: 0.1%")
                    .replace("liquidation_penalty: 1%", "liquidation_penalty: 0.1%"))
    path = tmp_path / "deployments.json"
    nonce = count_nonce(owner)
    with pytest.raises(DeployChecksFailed) as info:
        deploy(owner, file, path=path)
    assert info.value.problems == ["market ETH-USD: initial_margin 0.5% must be at least 1%"]
    assert count_nonce(owner) == nonce and not path.exists()  # checked before the first transaction


# ==================================================================================== separate nodes


def test_fork_dry_run_uses_the_upstream_feed_and_token(separate_anvil_pass, project, tmp_path):
    upstream = AnvilNode("--chain-id", "1")
    try:
        seeder = upstream.accounts()[9]
        feed_receipt = upstream.send(seeder, None, deploy_bytecode(project, "MockAggregator", 8,
                                                                   2500 * 10**8))
        token_receipt = upstream.send(seeder, None, deploy_bytecode(project, "MockERC20", "USD Coin",
                                                                    "USDC", 6))
        feed, token = feed_receipt["contractAddress"], token_receipt["contractAddress"]
        markets = tmp_path / "fork.yaml"
        markets.write_text(
            "markets:\n  ETH-USD:\n"
            f"    token: '{token}'\n"
            f"    oracle: {{feed: '{feed}', max_age: 1h, min_answer: 100, max_answer: 100000}}\n"
            "    params:\n"
            + "\n".join("      " + line.strip() for line in ETH_PARAMS_YAML.strip().splitlines())
            + "\n"
        )
        block = int(rpc(upstream.url, "eth_blockNumber"), 16)
        deployer = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
        nonce = rpc(upstream.url, "eth_getTransactionCount", deployer, "latest")

        result = run_ape_deploy("ethereum:mainnet-fork:foundry", markets, tmp_path,
                                env=ape_env(MAINNET_RPC_URL=upstream.url))
        assert "transaction(s) sent" in result.stdout
        data = json.loads((tmp_path / "ethereum-mainnet-fork.json").read_text())
        assert data["chain_id"] == 1 and data["network"] == "ethereum:mainnet-fork"
        market = data["markets"]["ETH-USD"]
        assert market["asset"].lower() == token.lower() and market["feed"].lower() == feed.lower()
        assert market["decimals"] == 6 and data["mocks"] == {}
        assert market["oracle"]["args"][:4] == [market["feed"], 3600, 100 * 10**8, 100_000 * 10**8]
        assert market["params"]["min_margin"] == 10 * 10**6

        # The upstream is untouched: no block, no nonce, no code where the fork deployed.
        assert int(rpc(upstream.url, "eth_blockNumber"), 16) == block
        assert rpc(upstream.url, "eth_getTransactionCount", deployer, "latest") == nonce
        for address in [market["pool"], data["contracts"]["PoolFactory"]["address"]]:
            assert rpc(upstream.url, "eth_getCode", address, "latest") in ("0x", "0x0")
    finally:
        upstream.stop()


def test_abi_export_writes_one_file_per_contract(tmp_path):
    from ringfence.deploy import export_abis

    deployments = tmp_path / "deployments"
    deployments.mkdir()
    (deployments / "ethereum-local.json").write_text('{"format": 1}')
    out = tmp_path / "abi"
    written = export_abis(out, deployments)
    factory = json.loads((out / "PoolFactory.json").read_text())
    assert any(item.get("name") == "createPool" for item in factory)
    assert (out / "test" / "MockERC20.json").exists() and not (out / "MockERC20.json").exists()
    index = json.loads((out / "index.json").read_text())
    assert index["MarginPool"] == {"abi": "MarginPool.json", "source": "contracts/MarginPool.sol"}
    assert {"Liquidator", "Lens", "ChainlinkOracle", "PositionVault"} <= set(index)
    assert (out / "deployments" / "ethereum-local.json").read_text() == '{"format": 1}'
    assert len(written) == len(index) + 2
