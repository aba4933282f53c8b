"""``make bench``: Ringfence and Morpho Blue 1.0.0, side by side, in one run on one Anvil."""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ringfence.bench import artifacts as _artifacts
from ringfence.bench.measure import Measurement, Recorder
from ringfence.bench.offchain import OffchainFigure, keeper_figures, keeper_synthetic_figures
from ringfence.bench.report import (
    REPORTS,
    Row,
    guard_rich_table,
    guard_rows,
    rich_table,
    write_reports,
)
from ringfence.bench.ringfence_side import (
    BATCH_SIZES,
    RingfenceStories,
    account_factory,
    deploy_ringfence,
    liquidation_available,
)
from ringfence.bench.shared import SharedEnv, deploy_shared
from ringfence.bench.trace import TxTrace, trace_tx
from ringfence.chain.anvil import HARDFORK, PRUNE_HISTORY, anvil, anvil_binary, ape_on

# Transactions traced for the "where the gas goes" section (traced as soon as they are mined).
TRACE_OPS = {
    "ringfence": {"open_from_nothing", "reopen", "add_margin", "remove_margin", "close_profit", "close_loss",
                  "liquidate_full", "liquidate_full_direct", "liquidate_partial", "liquidate_bad_debt",
                  "batch_10_per_vault", "lp_settle_deposit", "lp_settle_redeem",
                  "guard_set_policy_first", "guard_top_up_wallet", "guard_top_up_reserve"},
    "morpho_blue": {"open_from_nothing", "close_profit", "liquidate_full"},
}
KEEPER_TIMING_BATCH = 100


@dataclass
class BenchResult:
    ringfence: Recorder
    morpho: Recorder | None
    rows: list[Row]
    paths: dict[str, Path]
    offchain: list[OffchainFigure] = field(default_factory=list)
    traces: list[TxTrace] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)


def _compiler_line(a: _artifacts.Artifact) -> str:
    s = a.settings
    return (f"solc {a.compiler}, via-IR {'on' if s.get('viaIR') else 'off'}, optimizer "
            f"{s['optimizer']['runs']:,} runs, EVM {s.get('evmVersion')}")


def _ringfence_compiler_line() -> str:
    import yaml

    cfg = yaml.safe_load((_artifacts.ROOT / "ape-config.yaml").read_text()).get("solidity", {})
    return (f"solc {cfg.get('version')}, via-IR {'on' if cfg.get('via_ir') else 'off'}, optimizer "
            f"{int(cfg.get('optimization_runs', 200)):,} runs, EVM {cfg.get('evm_version')}")


class _Tracer:
    """Traces selected operations' transactions right after they are measured."""

    def __init__(self, w3: Any, enabled: bool):
        self.w3 = w3
        self.enabled = enabled
        self.labels: dict[str, str] = {}
        self.traces: list[TxTrace] = []
        self.errors: list[str] = []

    def label(self, address: Any, name: str) -> None:
        self.labels[str(address).lower()] = name

    def _label_clones(self, frame: dict[str, Any]) -> None:
        to = str(frame.get("to", "")).lower()
        if to and to not in self.labels:
            code = self.w3.eth.get_code(self.w3.to_checksum_address(to))
            # EIP-1167 minimal proxy, with the owner as its 20-byte immutable argument
            if len(code) == 65 and bytes(code[:10]) == bytes.fromhex("363d3d373d3d3d363d73"):
                self.labels[to] = "PositionVault clone"
        for c in frame.get("calls", []) or []:
            self._label_clones(c)

    def hook(self, protocol: str):
        def on_measured(m: Measurement) -> None:
            if not self.enabled or m.op not in TRACE_OPS.get(protocol, set()):
                return
            for tx in m.txs:
                try:
                    calls = self.w3.provider.make_request("debug_traceTransaction",
                                                          [tx.hash, {"tracer": "callTracer"}])
                    self._label_clones(calls.get("result", {}))
                    self.traces.append(trace_tx(self.w3, tx.hash, m.op, protocol, tx.label, self.labels))
                except Exception as exc:  # noqa: BLE001 - tracing is a report extra: never fatal
                    self.errors.append(f"{protocol} {m.op}: {exc!r}")
        return on_measured


def run_bench(batch_sizes: Sequence[int] = BATCH_SIZES, with_morpho: bool = True, trace: bool = True,
              keeper_timing: bool = True, out_dir: Path = REPORTS, console: Any = None,
              write: bool = True) -> BenchResult:
    """Compiles what is needed, starts an Anvil, measures both protocols, writes the reports."""
    from rich.console import Console

    console = console or Console()
    started = time.monotonic()
    console.print("[bold]bench[/]: compiling Morpho Blue 1.0.0 and the feed contracts (cached in .build/bench/)")
    arts = _artifacts.all_artifacts()

    offchain: list[OffchainFigure] = []
    skipped: list[str] = []
    with anvil() as node, ape_on(node) as provider:
        from ape import accounts, project
        from ape.logging import logger

        logger.set_level("ERROR")
        console.print(f"[bold]bench[/]: Anvil {node.uri} ({HARDFORK}, --prune-history {PRUNE_HISTORY}); "
                      "compiling Ringfence with Ape")
        _ = project.MarginPool  # compiles the project if needed (fails loudly if it does not compile)
        w3 = provider.web3
        tracer = _Tracer(w3, trace)
        liquidation = liquidation_available(project)
        if not liquidation:
            skipped.append("liquidation rows (no `Liquidator` contract in the project yet)")

        env = deploy_shared(project, accounts.test_accounts[0])
        for name, c in [("USDC (OZ ERC20)", env.usdc), ("WETH (OZ ERC20)", env.weth),
                        ("MockV3Aggregator", env.aggregator), ("AggregatorProxy", env.proxy)]:
            tracer.label(c.address, name)

        console.print("[bold]bench[/]: Ringfence stories")
        rf = Recorder("ringfence", on_measured=tracer.hook("ringfence"))
        _ringfence_stories(project, env, rf, tracer, batch_sizes, keeper_timing, offchain)
        if keeper_timing and (not liquidation or not batch_sizes):
            offchain.extend(keeper_synthetic_figures())

        mb: Recorder | None = None
        if with_morpho:
            console.print("[bold]bench[/]: Morpho Blue stories")
            mb = Recorder("morpho_blue", on_measured=tracer.hook("morpho_blue"))
            _morpho_stories(w3, env, mb, tracer, arts, liquidation, batch_sizes)
        client = w3.client_version

    meta = _meta(time.monotonic() - started, client, arts, batch_sizes, tracer.errors)
    rows: list[Row] = []
    paths: dict[str, Path] = {}
    if write:
        rows, paths = write_reports(rf, mb, meta, offchain, tracer.traces, skipped, out_dir)
    else:
        from ringfence.bench.report import rows as _rows

        rows = _rows(rf, mb)
    _print_summary(console, rows, meta, offchain, skipped, tracer.errors, paths)
    if guard := guard_rows(rf):
        console.print(guard_rich_table(guard))
    return BenchResult(rf, mb, rows, paths, offchain, tracer.traces, meta)


def _ringfence_stories(project: Any, env: SharedEnv, rf: Recorder, tracer: _Tracer, batch_sizes: Sequence[int],
                       keeper_timing: bool, offchain: list[OffchainFigure]) -> None:
    """Deploys Ringfence on the shared tokens and feed and measures its stories; before the largest
    batch, the keeper's off-chain figures on that batch's vaults."""
    from ape import accounts, chain

    ctx = deploy_ringfence(project, list(accounts.test_accounts)[:7], env, rf, chain)
    pool = ctx.pool
    for name, address in [("MarginPool", pool.address), ("ChainlinkOracle", pool.oracle()),
                          ("PositionVault implementation", pool.vaultImplementation()),
                          ("InsuranceFund", pool.insuranceFund()), ("PoolFactory", ctx.protocol.factory.address)]:
        tracer.label(address, name)
    if ctx.liquidator is not None:
        tracer.label(ctx.liquidator.address, "Liquidator")
    if ctx.guard is not None:
        tracer.label(ctx.guard.address, "MarginGuard")

    def before_batch(n: int, vaults: list[str]) -> None:
        if keeper_timing and n == max(batch_sizes):
            price_wad = int(env.answer()) * 10**10
            offchain.extend(keeper_figures(ctx.market, vaults, price_wad, chain.blocks.head.timestamp,
                                           ctx.protocol.lens))

    RingfenceStories(ctx, rf, chain, account_factory(accounts, chain), before_batch).run(batch_sizes)


def _morpho_stories(w3: Any, env: SharedEnv, mb: Recorder, tracer: _Tracer, arts: dict[str, _artifacts.Artifact],
                    liquidation: bool, batch_sizes: Sequence[int]) -> None:
    """Morpho Blue's stories on the same tokens and feed, its contracts labelled as soon as they exist."""
    from ringfence.bench.morpho_side import MorphoStories

    stories = MorphoStories(w3, env, mb, env.set_price, env.set_answer,
                            {k: arts[k] for k in ("Morpho", "IrmMock")})
    # label Morpho's contracts as soon as they exist (setup deploys them)
    original_setup = stories.setup

    def setup_and_label() -> None:
        original_setup()
        tracer.label(stories.context.morpho.address, "Morpho")
        tracer.label(stories.context.irm.address, "IrmMock")
        tracer.label(stories.context.oracle.address, "MorphoChainlinkOracle")
        tracer.label(stories.context.bundler.address, "MorphoBundler")
        tracer.label(stories.context.keeper_bundler.address, "MorphoBundler (keeper's)")

    stories.setup = setup_and_label  # type: ignore[method-assign]
    stories.run(liquidation, batch_sizes)


def _meta(duration_s: float, client: str, arts: dict[str, _artifacts.Artifact], batch_sizes: Sequence[int],
          trace_errors: list[str]) -> dict[str, Any]:
    """How the run was made: when, how long, on which node and with which compilers."""
    return {
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "duration_s": duration_s,
        "anvil": client,
        "anvil_binary": anvil_binary(),
        "hardfork": HARDFORK,
        "prune_history": PRUNE_HISTORY,
        "ringfence_compiler": _ringfence_compiler_line(),
        "morpho_compiler": _compiler_line(arts["Morpho"]),
        "feed_compiler": _compiler_line(arts["AggregatorProxy"]),
        "batch_sizes": list(batch_sizes),
        "trace_errors": trace_errors,
    }


def _print_summary(console: Any, rows: list[Row], meta: dict[str, Any], offchain: list[OffchainFigure],
                   skipped: list[str], trace_errors: list[str], paths: dict[str, Path]) -> None:
    """The console's account of the run: the table, the off-chain figures, what was not measured or
    traced, and the files written."""
    console.print(rich_table(rows, title=f"Gas per operation — Ringfence vs Morpho Blue 1.0.0 "
                                         f"({meta['duration_s']:.0f} s)"))
    for f in offchain:
        console.print(f"off-chain: {f.name}: {f.cell()} ({f.detail})")
    for s in skipped:
        console.print(f"[yellow]not measured[/]: {s}")
    for e in trace_errors:
        console.print(f"[yellow]trace failed[/]: {e}")
    if paths:
        console.print("wrote " + ", ".join(str(p.relative_to(_artifacts.ROOT)) if p.is_relative_to(_artifacts.ROOT)
                                           else str(p) for p in paths.values()))


def run_ringfence_only(batch_sizes: Sequence[int] = BATCH_SIZES) -> tuple[dict[str, int], dict[str, Any]]:
    """Ringfence's gas on a fresh bench Anvil (for ``make gas-snapshot``)."""
    with anvil() as node, ape_on(node):
        from ape import accounts, chain, project
        from ape.logging import logger

        logger.set_level("ERROR")
        env = deploy_shared(project, accounts.test_accounts[0])  # same deployments as the bench
        rf = Recorder("ringfence")
        ctx = deploy_ringfence(project, list(accounts.test_accounts)[:7], env, rf, chain)
        RingfenceStories(ctx, rf, chain, account_factory(accounts, chain)).run(batch_sizes)
        meta = {"network": f"anvil ({HARDFORK})", "client": chain.provider.web3.client_version,
                "ringfence_compiler": _ringfence_compiler_line(), "batch_sizes": list(batch_sizes),
                "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    return rf.gas(), meta
