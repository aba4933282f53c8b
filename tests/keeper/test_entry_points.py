"""The keeper's entry points on a local chain: the Silverback bot's handlers (bots/keeper.py, imported
and called directly, no Silverback runner) and `ape run keeper` (scripts/keeper.py, in-process)."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import logging
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from eth_utils import to_checksum_address
from silverback import StateSnapshot

from tests.conftest import ETH, USDC
from tests.keeper.conftest import events

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def few_vaults(market, alice, bob):
    """Six vaults in the session market: three risky longs, a safe long, two shorts."""
    vaults = [market.open(alice, is_long=True, size=ETH, margin=m * USDC, nonce=i)
              for i, m in enumerate((320, 330, 340, 2_000))]
    vaults += [market.open(bob, is_long=False, size=ETH, margin=350 * USDC, nonce=i) for i in range(2)]
    return vaults


@pytest.fixture
def import_bot(monkeypatch, chain):
    """Imports bots/keeper.py afresh with ``env`` and does what Silverback's runner does before the
    first task: load the bot's state snapshot.

    Two things Silverback does on import are kept from leaking into the test session: it would enter
    a context for a *new* provider instance of the current network, whose connect/disconnect on the
    embedded chain invalidates every isolation snapshot of the session (and on Anvil may start another
    node) — the bot is given the connected provider instead, as with Silverback's ad-hoc networks; and
    it patches the signer's ``call`` (a test account object shared with the other tests), undone after."""
    from ape.api.networks import ProviderContextManager
    from silverback.settings import Settings

    monkeypatch.setattr(Settings, "get_provider_context",
                        lambda self: ProviderContextManager(provider=chain.provider))
    signers = []

    def _import(env: dict[str, str]):
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        spec = importlib.util.spec_from_file_location("ringfence_keeper_bot_under_test",
                                                      ROOT / "bots" / "keeper.py")
        module = importlib.util.module_from_spec(spec)
        monkeypatch.setitem(sys.modules, spec.name, module)
        spec.loader.exec_module(module)
        if module.bot.signer is not None:
            signers.append(module.bot.signer)
        snapshot = StateSnapshot(last_block_seen=-1, last_block_processed=-1)
        asyncio.run(module.bot._load_snapshot.original_func(snapshot))
        return module

    yield _import
    for signer in signers:
        signer.__dict__.pop("call", None)


def test_silverback_bot_handlers_liquidate(chain, protocol, market, few_vaults, keeper, set_price, import_bot,
                                           caplog):
    caplog.set_level(logging.INFO, logger="ringfence.keeper")
    module = import_bot({
        "SILVERBACK_SIGNER_ALIAS": "TEST::5",  # the `keeper` test account
        "RINGFENCE_KEEPER_FACTORY": protocol.factory.address,
        "RINGFENCE_KEEPER_LENS": protocol.lens.address,
        "RINGFENCE_KEEPER_START_BLOCK": "0",
        "RINGFENCE_KEEPER_BATCH_SIZE": "2",
    })
    assert module.bot.signer.address == keeper.address
    assert {t.name for t in module.bot.tasks[next(t for t in module.bot.tasks if "block" in str(t))]} == {
        "liquidate_underwater"}
    started = module.catch_up(None)
    # every market of the factory (the session chain may hold others than this module's), and its 6 vaults
    assert started == {"open_vaults": 6, "markets": len(protocol.factory.pools()), "lp_requests": 0}
    set_price(2_800)
    expected = {v for v, f in zip(few_vaults, protocol.lens.liquidatable(market.pool, few_vaults)) if f}
    assert len(expected) == 3
    start, nonce = chain.blocks.head.number + 1, keeper.nonce
    metrics = module.liquidate_underwater(chain.blocks.head)
    assert metrics["liquidated"] == 3 and metrics["transactions"] == 2 and metrics["errors"] == 0
    assert {str(e.vault) for e in events(chain, market.pool, "Liquidated", start)} == expected
    assert keeper.nonce - nonce == 2
    # the next block: nothing left to do
    metrics = module.liquidate_underwater(chain.blocks.head)
    assert metrics["transactions"] == 0 and keeper.nonce - nonce == 2
    assert "liquidated 2 of 2" in caplog.text


def test_silverback_bot_tops_up_before_it_liquidates(chain, protocol, market, few_vaults, owner, alice, usdc,
                                                     keeper, set_price, import_bot):
    """RINGFENCE_KEEPER_GUARD: the bot's pass tops up the vault with a policy (one of the three risky
    longs), then liquidates the two others."""
    from ringfence.sdk import Guard, GuardPolicy

    guard = Guard.deploy(owner, protocol.factory)
    guard.approve_wallet(alice, usdc, 10_000 * USDC)
    saved = few_vaults[0]
    guard.set_policy(alice, saved, GuardPolicy(trigger_health_wad=13 * 10**17, target_health_wad=15 * 10**17,
                                               max_per_top_up=1_000 * USDC, budget=2_000 * USDC, fee=USDC))
    module = import_bot({
        "SILVERBACK_SIGNER_ALIAS": "TEST::5",
        "RINGFENCE_KEEPER_FACTORY": protocol.factory.address,
        "RINGFENCE_KEEPER_LENS": protocol.lens.address,
        "RINGFENCE_KEEPER_START_BLOCK": "0",
        "RINGFENCE_KEEPER_GUARD": guard.address,
    })
    module.catch_up(None)
    set_price(2_800)
    start = chain.blocks.head.number + 1
    metrics = module.liquidate_underwater(chain.blocks.head)
    assert metrics["topped_up"] == 1 and metrics["top_up_transactions"] == 1 and metrics["liquidated"] == 2
    assert [str(e.vault) for e in events(chain, guard.contract, "ToppedUp", start)] == [saved]
    assert {str(e.vault) for e in events(chain, market.pool, "Liquidated", start)} == set(few_vaults[1:3])


def test_silverback_bot_without_signer_only_logs(chain, protocol, market, few_vaults, keeper, set_price,
                                                 import_bot, monkeypatch, caplog, tmp_path):
    caplog.set_level(logging.INFO, logger="ringfence.keeper")
    deployments = tmp_path / "deployments.json"
    deployments.write_text(json.dumps({
        "format": 1,
        "contracts": {"PoolFactory": {"address": protocol.factory.address, "block": 0},
                      "Lens": {"address": protocol.lens.address}},
    }))
    monkeypatch.delenv("SILVERBACK_SIGNER_ALIAS", raising=False)
    module = import_bot({"RINGFENCE_KEEPER_DEPLOYMENTS": str(deployments)})
    assert module.bot.signer is None and module.keeper().config.dry_run
    set_price(2_800)
    metrics = module.liquidate_underwater(chain.blocks.head)
    assert metrics["liquidatable"] == 3 and metrics["transactions"] == 0
    assert "dry run" in caplog.text


@pytest.fixture
def cli(monkeypatch, chain):
    """scripts/keeper.py's command, run in-process on the session's chain: Ape's --network handling
    would enter a context for a new provider instance (on the embedded chain its connect/disconnect
    invalidates the session's isolation snapshots), so the command gets the connected provider."""
    from ape.api.networks import ProviderContextManager
    from ape.cli import commands

    from scripts.keeper import cli as command

    monkeypatch.setattr(commands, "parse_network", lambda ctx: ProviderContextManager(provider=chain.provider))
    return command


def test_ape_run_keeper_once(chain, protocol, market, few_vaults, keeper, set_price, cli):
    set_price(2_800)
    start, nonce = chain.blocks.head.number + 1, keeper.nonce
    network = chain.provider.network.choice
    args = ["--network", network, "--factory", protocol.factory.address, "--lens", protocol.lens.address,
            "--account", "TEST::5", "--start-block", "0", "--batch-size", "50", "--max-gas", "5000000", "--once"]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "3 liquidated" in result.output
    assert keeper.nonce - nonce == 1
    assert len(events(chain, market.pool, "Liquidated", start)) == 3
    # again: nothing to do, nothing sent
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0 and "0 transaction(s)" in result.output and keeper.nonce - nonce == 1


def test_ape_run_keeper_reports_a_stale_oracle_with_status_1(chain, protocol, market, few_vaults, keeper,
                                                             set_price, cli):
    set_price(2_800)
    chain.mine(1, timestamp=chain.blocks.head.timestamp + 3_700)
    args = ["--network", chain.provider.network.choice, "--factory", protocol.factory.address, "--lens",
            protocol.lens.address, "--account", "TEST::5", "--once"]
    nonce = keeper.nonce
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 1 and "1 error(s)" in result.output and keeper.nonce == nonce


def test_ape_run_keeper_needs_a_deployment(chain, tmp_path, cli):
    """No deployments file, or one whose factory has no code on this chain: one line saying what to run."""
    network = chain.provider.network.choice
    missing = tmp_path / "none.json"
    gone = tmp_path / "gone.json"
    gone.write_text(json.dumps({"format": 1, "contracts": {"PoolFactory": {"address": "0x" + "de" * 20}}}))
    for path in (missing, gone):
        result = CliRunner().invoke(cli, ["--network", network, "--deployments", str(path), "--once"])
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert result.exit_code == 2 and len(lines) == 1, result.output
        assert lines[0].startswith(f"Error: no Ringfence deployment for {network} in {path}: run `ape run deploy "
                                   f"--network {chain.provider.network_choice} --markets markets/local.yaml` first")
        assert "Traceback" not in result.output and "ContractNotFound" not in result.output
        assert "`make devnet`" in lines[0], lines[0]  # a local chain: the devnet has it all deployed
    assert "has no code on this chain" in lines[0]
    result = CliRunner().invoke(cli, ["--network", network, "--factory", "0x" + "de" * 20, "--once"])
    factory = to_checksum_address("0x" + "de" * 20)
    assert result.exit_code == 2 and result.output.strip().splitlines() == [
        f"Error: no contract at the factory address {factory} on {network}: check --factory"]


def test_run_follows_blocks(chain, protocol, market, few_vaults, keeper, set_price):
    """The continuous loop: one pass per new block (bounded here by max_steps)."""
    from ringfence.keeper.ape_run import run

    set_price(2_800)
    nonce = keeper.nonce
    status = run(chain.provider, account=keeper, factory=protocol.factory.address, lens=protocol.lens.address,
                 start_block=0, poll_interval=0.01, max_steps=1, echo=lambda *_: None)
    assert status == 0 and keeper.nonce - nonce == 1


def test_without_a_lens_vaults_are_confirmed_one_by_one_and_passes_never_overlap(chain, protocol, market,
                                                                                  few_vaults, keeper, set_price,
                                                                                  keeper_logs):
    from ringfence.keeper import Keeper

    bot = Keeper(protocol.factory, account=keeper, lens=None, start_block=0)
    assert "no Lens" in keeper_logs.text
    set_price(2_800)
    confirm, inner = bot._confirm, []

    def confirm_during_another_pass(pool, vaults, report):
        inner.append(bot.step())  # e.g. Silverback delivering the next block while this pass runs
        return confirm(pool, vaults, report)

    bot._confirm = confirm_during_another_pass
    report = bot.step()
    assert inner[0].skipped and "previous pass still running" in keeper_logs.text
    assert report.liquidated == 3 and len(report.confirmed[market.pool.address]) == 3


def test_a_transaction_out_of_gas_raises_the_gas_model(chain, protocol, market, few_vaults, keeper, set_price,
                                                       make_keeper, keeper_logs):
    """A gas model far too low (and no estimates): the transaction fails (its inner call runs out of
    gas and reverts without data), is logged, and the model doubles until a later pass gets through."""
    set_price(2_800)
    bot = make_keeper(keeper, estimate_gas=False, gas_per_market=40_000, gas_per_vault=40_000)
    reports = [bot.step() for _ in range(3)]
    failed = [r for r in reports if any("liquidateBatch of 3 vault(s) failed" in e for e in r.errors)]
    assert failed and reports[0] in failed and not reports[0].sent
    assert sum(r.liquidated for r in reports) == 3 and reports[len(failed)].liquidated == 3
    assert bot._gas_coefficients == (40_000 * 2 ** len(failed), 40_000 * 2 ** len(failed))
    assert "gas model doubled" in keeper_logs.text
