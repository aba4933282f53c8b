"""What ``ape run deploy`` checks before its first transaction (``ringfence.deploy.preflight``): the
factory's bounds on every market's parameters (a Python mirror of ``PoolFactory._checkParams``, held to
the contract's ``checkParams`` here), and the tokens and feeds of the whole file on the chain. Every
problem is one line in the file's own units, and nothing is sent."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from ringfence.deploy import (
    DeployChecksFailed,
    DeployError,
    deploy,
    load_markets,
    param_violation,
    preflight,
)
from ringfence.errors import RingfenceError, contract_errors
from ringfence.sdk import MarketParams
from ringfence.solidity import camel_case
from tests.integration.test_deploy import ETH_PARAMS_YAML, ROOT, write_markets

WAD = 10**18
BASE = MarketParams.default(6)
FIELDS = [f for f in BASE.__dataclass_fields__ if f != "asset_decimals"]
WIDTHS = {f: 64 if f.endswith("_wad") else 128 for f in FIELDS}


def _contract_verdict(factory, params: MarketParams):
    """None when the factory's checkParams passes, else (name, value, min, max) of its error."""
    try:
        with contract_errors():
            factory.checkParams(params.as_tuple())
    except RingfenceError as error:
        assert error.name == "ParameterOutOfBounds", error
        name = error.inputs["name"]
        name = name.rstrip(b"\0").decode() if isinstance(name, bytes) else str(name)
        return name, error.inputs["value"], error.inputs["min"], error.inputs["max"]
    return None


def _candidates() -> list[MarketParams]:
    """The default market with each field at and next to each of its bounds, and random mixes."""
    out = []
    for field in FIELDS:
        bound = preflight.OutOfBounds(field, 0, 0, 0)
        for p in (BASE, BASE.with_(initial_margin_wad=WAD // 2)):
            found = param_violation(p.with_(**{field: 2**WIDTHS[field] - 1})) or bound
            low = param_violation(p.with_(**{field: 0})) or bound
            for value in {low.low - 1, low.low, low.low + 1, found.high - 1, found.high, found.high + 1, 0}:
                if 0 <= value < 2**WIDTHS[field]:
                    out.append(p.with_(**{field: value}))
    rng = random.Random(16)
    for _ in range(60):
        changes = {f: int(getattr(BASE, f) * rng.choice([0, 0.5, 0.9, 1, 1.1, 2, 10])) for f in rng.sample(FIELDS, 3)}
        out.append(BASE.with_(**{f: min(v, 2**WIDTHS[f] - 1) for f, v in changes.items()}))
    return out


def test_the_bounds_mirror_agrees_with_the_factory(protocol):
    factory = protocol.factory
    assert (factory.MIN_INITIAL_MARGIN(), factory.MAX_FEE(), factory.MAX_BORROW_RATE(), factory.MIN_PROFIT_CAP(),
            factory.MAX_PROFIT_CAP(), factory.MAX_PRICE_AGE()) == (
        preflight.MIN_INITIAL_MARGIN, preflight.MAX_FEE, preflight.MAX_BORROW_RATE, preflight.MIN_PROFIT_CAP,
        preflight.MAX_PROFIT_CAP, preflight.MAX_PRICE_AGE)
    refused = 0
    for params in _candidates():
        mirror = param_violation(params)
        expected = None if mirror is None else (camel_case(mirror.field), mirror.value, mirror.low, mirror.high)
        assert _contract_verdict(factory, params) == expected, params
        refused += mirror is not None
    assert 20 < refused < len(_candidates()) - 20  # both verdicts are exercised


@pytest.mark.parametrize("change, message", [
    ({"maintenance_margin": "10%"}, "maintenance_margin 10% must be below initial_margin 10%"),
    ({"liquidation_target": "5%"}, "liquidation_target 5% must be above maintenance_margin 5%"),
    ({"liquidation_target": "12%"}, "liquidation_target 12% must be at most initial_margin 10%"),
    ({"initial_margin": "0.5%"}, "initial_margin 0.5% must be at least 1%"),
    ({"open_fee": "2%"}, "open_fee 2% must be at most 1%"),
    ({"borrow_rate_per_year": "150%"}, "borrow_rate_per_year 150% a year must be at most 100% a year"),
    ({"max_profit": "11x"}, "max_profit 11x must be at most 10x"),
    ({"max_position_notional": 10}, "max_position_notional 10 must be at least min_notional 50"),
    ({"keeper_bonus_min": 5}, ("keeper_bonus_min 5 must be at most (maintenance_margin - liquidation_penalty) "
                              "x min_notional 2")),
])
def test_an_out_of_bounds_parameter_is_named_in_the_files_units(tmp_path, change, message):
    import yaml

    params = {**yaml.safe_load(ETH_PARAMS_YAML), **change}
    body = "markets:\n  ETH-USD:\n    token: deploy-mock\n    oracle: {feed: deploy-mock, max_age: 1h}\n" \
           f"    params: {yaml.safe_dump(params, default_flow_style=True).strip()}\n"
    market = load_markets(write_markets(tmp_path / "m.yaml", body)).markets[0]
    bound = param_violation(market.market_params(6))
    assert bound is not None
    assert preflight.describe_violation(market, bound, 6) == f"market ETH-USD: {message}"


def _two_markets(token: str, feed: str, bad_params: str) -> str:
    params = "\n".join("      " + line.strip() for line in ETH_PARAMS_YAML.strip().splitlines())
    entry = "  {id}:\n    token: '{token}'\n    oracle: {{feed: '{feed}', max_age: 1d}}\n    params:\n{params}\n"
    return ("markets:\n" + entry.format(id="ETH-USD", token="0x" + "12" * 20, feed=feed, params=params)
            + entry.format(id="BTC-USD", token=token, feed=feed, params=params.replace("maintenance_margin: 5%",
                                                                                        bad_params)))


def test_the_whole_file_is_checked_before_any_transaction(owner, usdc, feed, set_price, tmp_path):
    """One market's token has no code, another's maintenance margin equals its initial margin: both are
    reported, the deploying account's nonce is unchanged and no deployments file is written."""
    set_price(3_000)
    file = write_markets(tmp_path / "m.yaml", _two_markets(usdc.address, feed.address, "maintenance_margin: 10%"))
    path = tmp_path / "deployments.json"
    nonce = owner.nonce
    with pytest.raises(DeployChecksFailed) as info:
        deploy(owner, file, path=path)
    assert info.value.problems == [
        f"market ETH-USD: no contract at token address {'0x' + '12' * 20}",
        "market BTC-USD: maintenance_margin 10% must be below initial_margin 10%",
    ]
    assert owner.nonce == nonce and not path.exists()


def test_a_feed_that_is_no_feed_or_stale_is_reported(owner, usdc, feed, chain, set_price, tmp_path):
    set_price(3_000)
    body = _two_markets(usdc.address, feed.address, "maintenance_margin: 5%").replace(
        f"token: '{'0x' + '12' * 20}'", f"token: '{usdc.address}'")
    spec = load_markets(write_markets(tmp_path / "ok.yaml", body))
    now = chain.blocks.head.timestamp

    def has_code(address: str) -> bool:
        return bool(chain.provider.get_code(address))

    assert preflight.chain_problems(spec, has_code, now) == []
    later = now + 2 * 86400
    assert preflight.chain_problems(spec, has_code, later)[0].startswith(
        f"market ETH-USD: feed {feed.address}: its answer is ")
    not_a_feed = load_markets(write_markets(tmp_path / "bad.yaml", body.replace(feed.address, usdc.address)))
    assert preflight.chain_problems(not_a_feed, has_code, now)[0] == (
        f"market ETH-USD: feed {usdc.address} does not answer decimals() and latestRoundData() "
        "(not a Chainlink feed?)")


def test_ape_run_deploy_prints_one_line_per_problem(owner, usdc, feed, chain, set_price, tmp_path, monkeypatch):
    """scripts/deploy.py in-process (its network handling given the session's provider): the problems,
    one ``Error:`` line each, exit status 1, nothing sent."""
    from ape.api.networks import ProviderContextManager
    from ape.cli import commands

    from scripts.deploy import cli

    monkeypatch.setattr(commands, "parse_network", lambda ctx: ProviderContextManager(provider=chain.provider))
    set_price(3_000)
    file = write_markets(tmp_path / "m.yaml", _two_markets(usdc.address, feed.address, "maintenance_margin: 10%"))
    nonce = owner.nonce
    result = CliRunner(mix_stderr=False).invoke(cli, ["--network", chain.provider.network.choice, "--markets", str(file),
                                      "--deployments", str(tmp_path / "d.json")])
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert lines == [f"Error: market ETH-USD: no contract at token address {'0x' + '12' * 20}",
                     (f"Error: market BTC-USD: maintenance_margin 10% must be below initial_margin 10% "
                     f"(2 problems in {file}: nothing was sent)")]
    assert owner.nonce == nonce and not Path(tmp_path / "d.json").exists()


# ==================================================================================== failed transactions


def test_a_failed_deployment_transaction_is_one_line_without_its_data(owner, tmp_path, monkeypatch):
    """A provider failure (insufficient funds, say) whose text carries the whole transaction, the
    contract's creation code in hex: one line, the hex shortened to its size."""
    from ape.exceptions import TransactionError

    def fail(self, txn, *args, **kwargs):
        raise TransactionError(f"insufficient funds for gas * price + value: tx {{'data': '0x{'ab' * 15_000}'}}\n"
                               "Trace:\n  ...")

    monkeypatch.setattr(type(owner), "call", fail)
    with pytest.raises(DeployError) as info:
        deploy(owner, ROOT / "markets" / "local.yaml", path=tmp_path / "d.json")
    message = str(info.value)
    assert message.startswith("deploy MarginPoolDeployer(") and "\n" not in message and len(message) < 500
    assert "the transaction failed: insufficient funds for gas * price + value: tx {'data': '0x… (15000 bytes)'}" \
        in message


def test_a_create2_address_already_taken_says_what_is_there(owner, usdc, tmp_path):
    """A CREATE2 deployment that reverts because its address already holds a contract: what is there,
    and how to adopt it or deploy a fresh set."""
    from ape.exceptions import ContractLogicError

    from ringfence.deploy.deployer import ProtocolDeployer

    run = ProtocolDeployer(owner, load_markets(ROOT / "markets" / "local.yaml"), tmp_path / "d.json",
                           lambda _: True, lambda _: None, use_create2=False)

    def revert():
        raise ContractLogicError("Transaction failed.")

    with pytest.raises(DeployError) as info:
        run.send("deploy Lens() at X (CREATE2)", revert, create2_target=usdc.address)
    assert str(info.value) == (f"deploy Lens() at X (CREATE2): a contract is already deployed at {usdc.address}: "
                               "run the deployment again to adopt it (its deployments file records it), or "
                               "deploy a fresh set with --no-create2")
    empty = "0x" + "00" * 19 + "77"
    with pytest.raises(RingfenceError):  # nothing there: the revert itself
        run.send("deploy Lens() at X (CREATE2)", revert, create2_target=empty)
