"""Deployment and the block loop.

One run: deploy the protocol (and, unless the scenario names existing ones, a 6-decimal OpenZeppelin
ERC-20 and a Chainlink-style feed per market), fund LPs, the insurance funds and traders, then for
each block of the scenario, in this order:

0. (block 0 only) the LPs' deposit requests are settled, right after the scenario's first oracle
   round, before any trade: LPs enter a pool that has shares by ``requestDeposit`` and a settlement
   on a round published after the request. The first LP's deposit into each new pool is immediate
   (the pool has no shares yet); the others request theirs during set-up, dated before block 0's
   round, so every LP is in, at the same share price, before the traders' risk builds up;
1. the oracle: a new round if the Chainlink-like policy publishes one at this block;
2. traders: planned opens (size and margin from the price the chain shows), top-ups by the traders
   who watch their vaults' health (one ``Lens.vaults`` read per market), planned early closes;
3. keepers: each keeper (:class:`ringfence.keeper.Keeper`, the real bot, one instance and account
   per keeper) runs one pass ``delay`` blocks after each oracle round, and on the next block again
   while it has confirmed vaults it could not liquidate; its gas budget caps each transaction;
4. every ``sample_every`` blocks: vault health, insurance-fund balances, LP share prices.

At the end the traders close what is still open and claim liquidation credits; every protocol
event is read back (``events.jsonl``); the same actions are replayed on the cross-margin model
(:mod:`ringfence.sim.cross`); :mod:`ringfence.sim.report` writes the figures and plots.

Blocks where nothing happens send nothing (the clock simply moves on: the next block is dated at
its step's time).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from eth_utils import to_checksum_address

from ringfence import model
from ringfence.errors import RingfenceError
from ringfence.keeper import Keeper, KeeperConfig
from ringfence.sdk import Market, Protocol, deploy_oracle
from ringfence.sim.agents import PlannedPosition, Trader, plan_traders, size_and_margin
from ringfence.sim.chain import SimChain
from ringfence.sim.cross import Action, CrossMarket, CrossModel, capital_needs
from ringfence.sim.oracle import Round
from ringfence.sim.oracle import rounds as oracle_rounds
from ringfence.sim.prices import price_path
from ringfence.sim.scenario import Scenario

__all__ = ["SimKeeper", "SimRun", "run_scenario"]

WAD = 10**18
MAX = 2**256 - 1


class SimKeeper(Keeper):
    """The real keeper; only its transactions are dated by the simulation's clock and counted."""

    def __init__(self, *args: Any, sim_chain: SimChain, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.sim_chain = sim_chain

    def _transact(self, args: list[tuple[str, list[str]]], gas_limit: int) -> Any:
        self.sim_chain.tick()
        start = time.perf_counter()
        try:
            return super()._transact(args, gas_limit)
        finally:
            self.sim_chain.transactions += 1
            self.sim_chain.send_seconds += time.perf_counter() - start

    def _transact_settle(self, pool: str, kind: str, controller: str, gas_limit: int) -> Any:
        self.sim_chain.tick()
        start = time.perf_counter()
        try:
            return super()._transact_settle(pool, kind, controller, gas_limit)
        finally:
            self.sim_chain.transactions += 1
            self.sim_chain.send_seconds += time.perf_counter() - start


@dataclass
class SimMarket:
    spec: Any
    market: Market
    token: str
    feed: str
    fund: str
    rounds: list[Round]
    path: list[float]
    scale: int
    params: model.MarketParams
    created_ts: int
    share_unit: int
    answer: int = 0
    deposits: int = 0
    lp_requests: list[str] = field(default_factory=list)  # LPs whose deposit request awaits block 0's round
    last_round_ts: int = 0
    heartbeats: int = 0  # extra heartbeat rounds the chain's clock needed (see keep_fresh)


@dataclass
class SimRun:
    """Everything a report needs (plain data)."""

    scenario: Scenario
    network: str
    chain_id: int
    markets: list[SimMarket]
    traders: list[Trader]
    positions: list[PlannedPosition]
    samples: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    transactions: int = 0
    keeper_reports: list[dict[str, Any]] = field(default_factory=list)
    block_map: list[tuple[int, int]] = field(default_factory=list)  # (chain block at a step's end, step)

    def step_of(self, chain_block: int) -> int:
        """The scenario block (step) in which a chain block was mined."""
        from bisect import bisect_left

        i = bisect_left(self.block_map, (chain_block, -1))
        return self.block_map[i][1] if i < len(self.block_map) else self.scenario.blocks


def _open_market_tokens(sim: SimChain, owner: Any, spec: Any) -> tuple[str, str, int]:
    """(token, feed, start answer) for a market: existing contracts from the chain when the scenario
    names them (a fork), else fresh OpenZeppelin ERC-20 and MockAggregator."""
    from ape import project

    if spec.token:
        token = str(to_checksum_address(spec.token))
        decimals = int(sim.call(token, "decimals"))
        if decimals != spec.decimals:
            raise ValueError(
                f"market {spec.id}: token {token} has {decimals} decimals, the scenario says {spec.decimals}")
    else:
        token = str(owner.deploy(project.MockERC20, "USD Coin", "USDC", spec.decimals).address)
    if spec.feed:
        feed = str(to_checksum_address(spec.feed))
        feed_decimals = int(sim.call(feed, "decimals"))
        if feed_decimals != spec.oracle.decimals:
            raise ValueError(f"market {spec.id}: feed {feed} has {feed_decimals} decimals, the scenario "
                             f"says {spec.oracle.decimals}")
        answer = int(sim.call(feed, "latestRoundData")[1])
    else:
        answer = int(spec.start_price * 10**spec.oracle.decimals)
        feed = str(owner.deploy(project.MockAggregator, spec.oracle.decimals, answer).address)
    return token, feed, answer


def run_scenario(scenario: Scenario, *, console: Any = None, progress: bool = True) -> SimRun:
    """Runs ``scenario`` on the connected chain (Ape's provider) and returns what happened."""

    logging.getLogger("ringfence.keeper").setLevel(logging.WARNING)
    from ape.logging import logger as ape_logger

    ape_level = ape_logger.level
    ape_logger.set_level("WARNING")  # no "Confirmed 0x…" line per transaction
    try:
        return _run(scenario, console=console, progress=progress)
    finally:
        ape_logger.set_level(ape_level)


def _run(scenario: Scenario, *, console: Any, progress: bool) -> SimRun:
    from ape import accounts, chain

    t_begin = time.perf_counter()
    provider = chain.provider
    test_accounts = accounts.test_accounts
    sim = SimChain(provider, test_accounts, scenario.seed)
    owner = test_accounts[0]
    owner_addr = str(owner.address)

    # ---------------------------------------------------------------- deployment
    protocol = Protocol.deploy(owner, owner)
    markets: list[SimMarket] = []
    for i, spec in enumerate(scenario.markets):
        token, feed, answer = _open_market_tokens(sim, owner, spec)
        oracle = deploy_oracle(owner, feed, max_age=spec.oracle.max_age)
        market = protocol.create_market(owner, asset=token, oracle=oracle, params=spec.params,
                                        name=f"Ringfence {spec.id} LP", symbol=f"rf{i}")
        created = int(chain.blocks.head.timestamp)
        start = answer / 10**spec.oracle.decimals
        path = price_path(spec.price, start, scenario.blocks, scenario.block_time, scenario.seed * 7919 + i)
        rounds = oracle_rounds(path, spec.oracle, scenario.block_time, start_answer=answer)
        markets.append(SimMarket(
            spec=spec, market=market, token=token, feed=feed, fund=str(market.pool.insuranceFund()),
            rounds=rounds, path=path, scale=model.scale_for(spec.decimals),
            params=model.MarketParams.from_struct(spec.params, spec.decimals), created_ts=created,
            share_unit=10 ** int(market.pool.decimals()), answer=answer))
    keepers: list[SimKeeper] = []
    start_block = int(chain.blocks.head.number)
    for k, kspec in enumerate(scenario.keepers):
        config = KeeperConfig(batch_size=kspec.batch_size, max_gas=kspec.gas_budget, horizon=3_600 * 6,
                              horizon_lead=3_600)
        keepers.append(SimKeeper(protocol.factory, account=test_accounts[1 + k], lens=protocol.lens,
                                 start_block=start_block, config=config, name=f"keeper{k}", sim_chain=sim))
    sim.sync_head()
    t0 = sim.last_ts + scenario.block_time

    def ts_of(block: int) -> int:
        return t0 + block * scenario.block_time

    sim.step_time = ts_of(0)

    # ---------------------------------------------------------------- funding
    minted: dict[tuple[str, str], int] = {}

    def mint(token: str, to: str, amount: int) -> None:
        sim.send(owner_addr, token, "mint", to, amount, dry_run=False)
        minted[(token, to)] = minted.get((token, to), 0) + amount

    lps = [sim.new_account("lp", i) for i in range(scenario.lps.count)]
    # The LPs act before block 0 (on Anvil a step's blocks share its time: dated at the head's, their
    # requests are older than block 0's oracle round, which then settles them; py-evm dates every
    # block a second after the last anyway).
    sim.step_time = sim.last_ts
    for m in markets:
        deposit = int(scenario.lps.deposit * 10**m.spec.decimals)
        for lp in lps:
            mint(m.token, lp, deposit)
            sim.send(lp, m.token, "approve", m.market.address, MAX, dry_run=False)
            if int(sim.call(m.market.address, "totalSupply")) == 0:  # a new pool: the first deposit is immediate
                sim.send(lp, m.market.address, "deposit", deposit, lp)
            else:  # settled right after block 0's oracle round (settle_lp_requests)
                sim.send(lp, m.market.address, "requestDeposit", deposit, lp)
                m.lp_requests.append(lp)
            m.deposits += deposit
    sim.step_time = ts_of(0)
    for m in markets:
        if m.spec.insurance_fund:
            mint(m.token, owner_addr, m.spec.insurance_fund)
            sim.send(owner_addr, m.token, "approve", m.fund, MAX, dry_run=False)
            sim.send(owner_addr, m.fund, "fund", m.spec.insurance_fund)

    traders = plan_traders(scenario)
    addresses: list[str] = []
    for trader in traders:
        address = sim.new_account("trader", trader.index)
        addresses.append(address)
        need: dict[int, int] = {}
        for p in trader.positions:
            need[p.market] = need.get(p.market, 0) + p.notional * (1 + int(scenario.traders.topup_budget) + 1)
        for mi, amount in sorted(need.items()):
            m = markets[mi]
            mint(m.token, address, amount + 100 * 10**m.spec.decimals)
            sim.send(address, m.token, "approve", m.market.address, MAX, dry_run=False)
    positions = [p for t in traders for p in t.positions]
    pid = {id(p): n for n, p in enumerate(positions)}
    run = SimRun(scenario=scenario, network=f"{provider.network.ecosystem.name}:{provider.network.name}:"
                 f"{provider.name}", chain_id=int(chain.chain_id), markets=markets, traders=traders,
                 positions=positions)
    run.timings["setup_seconds"] = time.perf_counter() - t_begin

    # ---------------------------------------------------------------- the block loop
    opens: dict[int, list[PlannedPosition]] = {}
    closes: dict[int, list[PlannedPosition]] = {}
    for p in positions:
        opens.setdefault(p.open_block, []).append(p)
        if p.close_block is not None:
            closes.setdefault(p.close_block, []).append(p)
    round_at: dict[int, list[tuple[SimMarket, Round]]] = {}
    for m in markets:
        for r in m.rounds:
            round_at.setdefault(r.block, []).append((m, r))
    round_blocks = set(round_at)
    topper_positions = [p for t in traders if t.topper for p in t.positions]
    spent: dict[int, int] = {}
    backlog = [False] * len(keepers)
    gone: set[int] = set()  # positions known closed or fully liquidated

    def is_open(p: PlannedPosition) -> bool:
        if not p.opened or pid[id(p)] in gone:
            return False
        status = sim.call(markets[p.market].market.address, "position", p.vault)[6]
        if status != 1:
            gone.add(pid[id(p)])
        return status == 1

    def close(p: PlannedPosition, block: int) -> None:
        run.actions.append(Action(block, ts_of(block), "close", p.trader, pid[id(p)], p.market))
        if not is_open(p):
            return
        sim.send(addresses[p.trader], markets[p.market].market.address, "closePosition", p.vault,
                 addresses[p.trader], 0)
        gone.add(pid[id(p)])

    def settle_lp_requests() -> None:
        """The LPs' deposit requests, settled on the first round published after them (block 0's)."""
        for m in markets:
            for lp in m.lp_requests:
                sim.send(owner_addr, m.market.address, "settleDeposit", lp)
            m.lp_requests.clear()

    def keep_fresh() -> None:
        """A heartbeat round (same answer) when the chain's clock has run a heartbeat past the last
        round: on py-evm every transaction takes a second, so a busy block can outrun the scenario's
        clock (on Anvil the blocks of one step share its time and this never fires)."""
        for m in markets:
            if sim.step_time - m.last_round_ts >= m.spec.oracle.heartbeat or \
                    (not sim.anvil and sim.last_ts + 2 - m.last_round_ts >= m.spec.oracle.heartbeat):
                sim.send(owner_addr, m.feed, "setAnswer", m.answer, dry_run=False)
                m.last_round_ts = sim.last_ts
                m.heartbeats += 1

    loop_start = time.perf_counter()
    tx_before = sim.transactions
    liquidations = 0
    progress_bar = _progress(console, progress)
    with progress_bar as bar:
        task = bar.add_task(f"{scenario.name}", total=scenario.blocks + 1, liq=0)
        for block in range(scenario.blocks + 1):
            sim.step_time = ts_of(block)
            for m, r in round_at.get(block, []):
                sim.send(owner_addr, m.feed, "setAnswer", r.answer, dry_run=False)
                m.answer = r.answer
                m.last_round_ts = sim.last_ts
            keep_fresh()
            if block == 0:
                settle_lp_requests()
            for p in opens.get(block, []):
                m = markets[p.market]
                price = m.answer * 10 ** (18 - m.spec.oracle.decimals)
                size, margin = size_and_margin(m.spec.params, m.scale, p.notional, p.leverage, price)
                p.vault = str(sim.call(m.market.address, "vaultAddress", addresses[p.trader], p.index))
                try:
                    sim.send(addresses[p.trader], m.market.address, "openPosition", p.index, p.is_long, size,
                             margin, 0)
                except RingfenceError as exc:
                    p.failed = f"{exc.name}"
                    continue
                p.opened = True
                p.topup_budget = int(Fraction(margin) * scenario.traders.topup_budget)
                raw = sim.call(m.market.address, "position", p.vault)
                pos = model.Position(size=raw[0], entry_price=raw[1], margin=raw[2], max_profit=raw[3],
                                     fee_base=raw[4], is_long=raw[5])
                run.actions.append(Action(block, sim.last_ts, "open", p.trader, pid[id(p)], p.market, pos))
            if topper_positions and block % scenario.traders.topup_every == 0:
                _top_up(sim, run, markets, topper_positions, addresses, spent, gone, pid, block,
                                  protocol.lens.address, scenario)
            for p in closes.get(block, []):
                close(p, block)
            for k, (keeper, kspec) in enumerate(zip(keepers, scenario.keepers, strict=True)):
                if (block - kspec.delay) in round_blocks or backlog[k]:
                    report = keeper.step()
                    confirmed = sum(len(v) for v in report.confirmed.values())
                    liquidations += report.liquidated
                    backlog[k] = bool(report.errors) or confirmed > report.liquidated + report.lost_races
                    if report.sent or report.errors:
                        run.keeper_reports.append({"block": block, "keeper": k, "confirmed": confirmed,
                                                   "liquidated": report.liquidated,
                                                   "lost_races": report.lost_races,
                                                   "txs": len(report.sent), "errors": report.errors[:3],
                                                   "gas": [s.gas_used for s in report.sent]})
            if block % scenario.sample_every == 0 or block == scenario.blocks:
                run.samples.append(_sample(sim, markets, positions, gone, block, protocol.lens.address))
            bar.update(task, advance=1, liq=liquidations)
            head = int(provider.web3.eth.block_number)
            if not run.block_map or head != run.block_map[-1][0]:
                run.block_map.append((head, block))

        # ------------------------------------------------------------ the end: close, claim
        end = scenario.blocks
        sim.step_time = ts_of(end) + 1
        keep_fresh()
        if scenario.close_at_end:
            for p in positions:
                if p.close_block is None and p.opened:
                    close(p, end)
        for p in positions:  # what full liquidations left the owners, held by the pool per vault
            m = markets[p.market]
            if p.opened and int(sim.call(m.market.address, "claimable", p.vault)):
                sim.send(addresses[p.trader], m.market.address, "claim", p.vault, addresses[p.trader])
    run.timings["loop_seconds"] = time.perf_counter() - loop_start
    run.timings["loop_transactions"] = sim.transactions - tx_before
    run.timings["send_seconds"] = sim.send_seconds  # inside transaction sends (setup included)
    run.transactions = sim.transactions

    # ---------------------------------------------------------------- events, balances, models
    t_read = time.perf_counter()
    run.events = _read_events(protocol, markets, start_block)
    run.timings["events_seconds"] = time.perf_counter() - t_read
    holders = {owner_addr, *lps, *addresses, *(str(k.account.address) for k in keepers)}
    from ringfence.sim.report import isolated_figures

    balances = {}
    for m in markets:
        vaults = [str(p.vault) for p in positions if p.opened and p.market == markets.index(m)]
        held = {h: sim.balance(m.token, h) for h in sorted(holders)}
        balances[m.spec.id] = {
            "holders": held,
            "pool": sim.balance(m.token, m.market.address),
            "fund": sim.balance(m.token, m.fund),
            "vaults": sum(sim.balance(m.token, v) for v in vaults),
            "claimable": {a: sum(int(sim.call(m.market.address, "claimable", p.vault)) for p in positions
                                 if p.opened and p.market == markets.index(m) and addresses[p.trader] == a)
                          for a in addresses},
            "liquidity": int(sim.call(m.market.address, "liquidity")),  # realized LP liquidity
            "total_assets_marked": int(sim.call(m.market.address, "totalAssets")),  # marked to the oracle
            "pending_deposits": int(sim.call(m.market.address, "pendingDeposits")),
            "share_price_marked": int(sim.call(m.market.address, "convertToAssets", m.share_unit)),
            "lp_shares": {lp: sim.balance(m.market.address, lp) for lp in lps},
        }
    run.figures["isolated"] = isolated_figures(run, balances, minted, addresses)

    t_model = time.perf_counter()
    cross_markets = [CrossMarket(params=m.params, fee_index0=WAD, ts0=m.created_ts,
                                 insurance_fund=m.spec.insurance_fund, lp_deposits=m.deposits) for m in markets]
    prices = [[(r.block, r.price_wad(m.spec.oracle.decimals)) for r in m.rounds] for m in markets]
    delay = min((k.delay for k in scenario.keepers), default=0)
    cross = CrossModel(cross_markets, prices, delay)
    result = cross.run(run.actions, ts_of, scenario.blocks)
    needs = capital_needs(run.actions, cross_markets, prices, ts_of, scenario.blocks)
    from ringfence.sim.report import cross_figures

    run.figures["cross"] = cross_figures(run, cross, result, needs)
    run.figures["isolated"]["capital"] = {"initial_margin": needs["initial_margin"],
                                          "peak_need": needs["isolated_peak_need"]}
    run.timings["model_seconds"] = time.perf_counter() - t_model
    run.timings["total_seconds"] = time.perf_counter() - t_begin
    return run


def _top_up(sim: SimChain, run: SimRun, markets: list[SimMarket], watched: list[PlannedPosition],
            addresses: list[str], spent: dict[int, int], gone: set[int], pid: dict[int, int], block: int,
            lens: str, scenario: Scenario) -> bool:
    """Traders who watch their vaults add margin when health falls under their threshold."""
    acted = False
    spec = scenario.traders
    for mi, m in enumerate(markets):
        mine = [p for p in watched if p.market == mi and p.opened and pid[id(p)] not in gone
                and spent.get(pid[id(p)], 0) < p.topup_budget]
        if not mine:
            continue
        price = m.answer * 10 ** (18 - m.spec.oracle.decimals)
        views = sim.call(lens, "lensVaults", m.market.address, [p.vault for p in mine])
        for p, v in zip(mine, views, strict=True):
            if v[2] != 1:
                gone.add(pid[id(p)])
                continue
            size, equity = v[4], v[9]
            requirement = model.requirement_up(model.notional_up(size, price, m.scale),
                                               m.params.maintenance_margin_wad)
            if requirement == 0 or Fraction(equity, requirement) >= spec.topup_below:
                continue
            want = spec.topup_to * requirement - equity
            amount = min(-(-want.numerator // want.denominator), p.topup_budget - spent.get(pid[id(p)], 0))
            if amount < 10 ** m.spec.decimals:
                continue
            try:
                sim.send(addresses[p.trader], m.market.address, "addMargin", p.vault, amount)
            except RingfenceError:
                continue
            spent[pid[id(p)]] = spent.get(pid[id(p)], 0) + amount
            run.actions.append(Action(block, sim.last_ts, "topup", p.trader, pid[id(p)], mi, amount=amount))
            acted = True
    return acted


def _sample(sim: SimChain, markets: list[SimMarket], positions: list[PlannedPosition], gone: set[int],
            block: int, lens: str) -> dict[str, Any]:
    out: dict[str, Any] = {"block": block, "ts": sim.step_time, "markets": []}
    for mi, m in enumerate(markets):
        vaults = [p.vault for n, p in enumerate(positions) if p.market == mi and p.opened and n not in gone]
        health = []
        for i in range(0, len(vaults), 200):
            for v in sim.call(lens, "lensVaults", m.market.address, vaults[i:i + 200]):
                if v[2] == 1:
                    health.append(min(v[10], 100 * WAD) / WAD)
        out["markets"].append({
            "price_wad": m.answer * 10 ** (18 - m.spec.oracle.decimals),
            "fund": sim.balance(m.token, m.fund),
            "share_price": int(sim.call(m.market.address, "convertToAssets", m.share_unit)),  # marked to market
            "liquidity": int(sim.call(m.market.address, "liquidity")),  # realized
            "health": health,
        })
    return out


def _read_events(protocol: Protocol, markets: list[SimMarket], start_block: int) -> list[dict[str, Any]]:
    """Every event of the pools, insurance funds and the liquidator since deployment, in chain order."""
    from ape import chain, project

    sources = [(project.MarginPool, [m.market.address for m in markets]),
               (project.InsuranceFund, [m.fund for m in markets]),
               (project.Liquidator, [str(protocol.liquidator.address)])]
    out = []
    web3 = chain.provider.web3
    ecosystem = chain.provider.network.ecosystem
    head = int(web3.eth.block_number)
    abis = {abi.selector: abi for container, _ in sources for abi in container.contract_type.events}
    addresses = [to_checksum_address(a) for _, group in sources for a in group]
    # One eth_getLogs per 5,000 blocks for every address (py-evm scans every block per request).
    for start in range(start_block, head + 1, 5_000):
        raw = web3.eth.get_logs({"fromBlock": start, "toBlock": min(head, start + 4_999), "address": addresses})
        logs = [dict(lg, topics=[_hex(t) for t in lg["topics"]], data=_hex(lg["data"]),
                     blockHash=_hex(lg["blockHash"]), transactionHash=_hex(lg["transactionHash"]))
                for lg in raw]
        for log in ecosystem.decode_logs(logs, *abis.values()):
            out.append({"block": int(log.block_number), "log_index": int(log.log_index),
                        "tx": _hex(log.transaction_hash), "contract": str(log.contract_address),
                        "event": log.event_name,
                        "args": {k: _plain(v) for k, v in log.event_arguments.items()}})
    out.sort(key=lambda e: (e["block"], e["log_index"]))
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, (bool, int)):
        return value if isinstance(value, bool) else int(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


def _hex(value: Any) -> str:
    return "0x" + bytes(value).hex() if isinstance(value, (bytes, bytearray)) else str(value)


def _progress(console: Any, enabled: bool) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("blocks  liquidations {task.fields[liq]}"), TimeElapsedColumn(),
                    console=console, disable=not enabled, transient=False)
