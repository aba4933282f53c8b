"""``ringfence dev`` (mint, round, time, pause, unpause) and the devnet's account roles, in this process
on the test session's chain (both chains): each command's success and a bad input refused in one line;
a deployments file whose contracts are not on the chain names ``make devnet``."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from ringfence.chain.deployments import FORMAT_VERSION
from tests.conftest import USDC, feed_answer


@pytest.fixture
def dev_deployments(tmp_path, protocol, market, usdc, feed, chain):
    """A deployments file naming the market, its mock token and its mock feed."""
    path = tmp_path / "deployments.json"
    path.write_text(json.dumps({
        "format": FORMAT_VERSION, "chain_id": chain.provider.chain_id,
        "contracts": {"Lens": {"address": str(protocol.lens.address)}},
        "mocks": {"token:USDC": {"address": str(usdc.address)}, "feed:ETH-USD": {"address": str(feed.address)}},
        "markets": {"ETH-USD": {"pool": market.address}},
    }))
    return path


@pytest.fixture
def dev(dev_deployments, in_process):
    from ringfence.cli import main

    def _run(*args: str):
        return CliRunner(mix_stderr=False).invoke(main, ["dev", *args, "--deployments", str(dev_deployments)])

    return _run


def one_line_error(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 1 and result.stdout == "" and len(lines) == 1, (result.stdout, result.stderr)
    return lines[0]


def test_dev_mint_to_a_role(dev, usdc, accounts):
    trader = accounts[5]  # the role "trader" is TEST::5
    before = int(usdc.balanceOf(trader))
    result = dev("mint", "--amount", "1234.5", "--account", "trader")
    assert result.exit_code == 0, result.stderr
    assert int(usdc.balanceOf(trader)) == before + 1234_500_000
    assert str(trader.address) in result.stdout and "1,234.50 USDC" in result.stdout


def test_dev_mint_refuses_a_bad_amount_and_an_unknown_role(dev, usdc, owner):
    assert "--amount: '1.0000001' is not an amount with at most 6 decimals" in one_line_error(
        dev("mint", "--amount", "1.0000001"))
    line = one_line_error(dev("mint", "--amount", "1", "--account", "traderX"))
    assert "no Ape account with alias 'traderX'" in line and "trader" in line and "deployer" in line


def test_dev_round_sets_the_price_in_a_new_round(dev, feed, chain):
    round_before = int(feed.latestRoundData()[0])
    result = dev("round", "--price", "3100.5", "--account", "TEST::0")
    assert result.exit_code == 0, result.stderr
    assert int(feed.latestAnswer()) == feed_answer(3100.5)
    assert int(feed.latestRoundData()[0]) == round_before + 1
    assert "answer:   3100.5" in result.stdout


def test_dev_round_refuses_a_negative_price(dev, feed):
    answer = int(feed.latestAnswer())
    assert "--price must be positive" in one_line_error(dev("round", "--price", "-1"))
    assert int(feed.latestAnswer()) == answer


def test_dev_time_moves_the_chain(dev, chain):
    before = chain.blocks.head.timestamp
    result = dev("time", "2h")
    assert result.exit_code == 0, result.stderr
    assert chain.blocks.head.timestamp >= before + 7200
    assert "moved:      7200 s" in result.stdout


@pytest.mark.parametrize(("duration", "message"), [
    ("soon", "DURATION: 'soon' is not a duration (e.g. 3600, 90m, 1h, 2d)"),
    ("0", "DURATION must be positive, e.g. 1h"),
])
def test_dev_time_refuses_a_bad_duration(dev, chain, duration, message):
    head = chain.blocks.head.number
    assert one_line_error(dev("time", duration)) == f"error: {message}"
    assert chain.blocks.head.number == head


def test_dev_pause_and_unpause_as_the_guardian(dev, pool, guardian):
    assert not pool.paused()
    result = dev("pause")
    assert result.exit_code == 0, result.stderr
    assert pool.paused() and str(guardian.address) in result.stdout
    result = dev("unpause")
    assert result.exit_code == 0, result.stderr
    assert not pool.paused()


def test_dev_pause_refuses_twice_and_a_stranger(dev, pool, accounts):
    assert one_line_error(dev("unpause")) == "error: market ETH-USD is already not paused"
    line = one_line_error(dev("pause", "--account", "TEST::6"))
    assert f"{accounts[6].address} is neither the factory's guardian" in line
    assert not pool.paused()


def test_dev_commands_are_refused_on_a_live_network(dev, monkeypatch, chain):
    monkeypatch.setattr(type(chain.provider.network), "is_dev", property(lambda self: False))
    line = one_line_error(dev("time", "1h"))
    assert line.startswith("error: dev commands run on local chains and forks only")


def test_mock_is_an_alias_of_dev(dev_deployments, in_process, usdc, owner):
    from ringfence.cli import main

    before = int(usdc.balanceOf(owner))
    result = CliRunner(mix_stderr=False).invoke(
        main, ["mock", "mint", "--amount", "7", "--deployments", str(dev_deployments)])
    assert result.exit_code == 0, result.stderr
    assert int(usdc.balanceOf(owner)) == before + 7 * USDC


def test_a_deployments_file_of_another_chain_names_the_devnet(tmp_path, in_process, chain):
    from ringfence.cli import main

    path = tmp_path / "stale.json"
    path.write_text(json.dumps({
        "format": FORMAT_VERSION, "chain_id": chain.provider.chain_id, "genesis_hash": "0x" + "12" * 32,
        "markets": {"ETH-USD": {"pool": "0x" + "34" * 20}},
    }))
    line = one_line_error(CliRunner(mix_stderr=False).invoke(main, ["markets", "--deployments", str(path)]))
    assert "was written on another chain" in line and "make devnet" in line
    path.write_text(json.dumps({"format": FORMAT_VERSION, "chain_id": chain.provider.chain_id,
                                "markets": {"ETH-USD": {"pool": "0x" + "34" * 20}}}))
    line = one_line_error(CliRunner(mix_stderr=False).invoke(main, ["markets", "--deployments", str(path)]))
    assert "no contract at pool" in line and "make devnet" in line
