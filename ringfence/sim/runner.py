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
   while it has confirmed vaults it could not liquidate; its gas budget caps each transaction. With
   ``traders.guard`` some traders hold a MarginGuard policy on each vault, funded from a reserve
   earmarked to their vaults (set up before block 0); the keepers then run their top-up pass first
   (fees not weighed against gas), and the top-ups are recorded as the traders' ``topup`` actions;
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
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from eth_utils import to_checksum_address

from ringfence import model
from ringfence.errors import RingfenceError
from ringfence.keeper import Keeper, KeeperConfig
from ringfence.sdk import Protocol, deploy_oracle
from ringfence.sim.agents import PlannedPosition, plan_traders, size_and_margin
from ringfence.sim.chain import SimChain
from ringfence.sim.cross import Action, CrossMarket, CrossModel, capital_needs
from ringfence.sim.figures import cross_figures, guard_figures, isolated_figures
from ringfence.sim.oracle import Round
from ringfence.sim.oracle import rounds as oracle_rounds
from ringfence.sim.prices import price_path
from ringfence.sim.reads import end_balances, read_events, sample
from ringfence.sim.scenario import KeeperSpec, Scenario, ScenarioMarket
from ringfence.sim.state import SimMarket, SimRun

__all__ = ["SimKeeper", "SimMarket", "SimRun", "run_scenario"]

WAD = 10**18
MAX = 2**256 - 1


class SimKeeper(Keeper):
    """The real keeper; only its transactions are dated by the simulation's clock and counted."""

    def __init__(self, *args: Any, sim_chain: SimChain, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.sim_chain = sim_chain

    def _counted(self, send: Callable[..., Any], *args: Any) -> Any:
        """``send(*args)``, one of the keeper's transactions, dated by the simulation's clock and counted."""
        self.sim_chain.tick()
        start = time.perf_counter()
        try:
            return send(*args)
        finally:
            self.sim_chain.transactions += 1
            self.sim_chain.send_seconds += time.perf_counter() - start

    def _transact(self, args: list[tuple[str, list[str]]], gas_limit: int) -> Any:
        return self._counted(super()._transact, args, gas_limit)

    def _transact_top_ups(self, vaults: list[str], gas_limit: int) -> Any:
        return self._counted(super()._transact_top_ups, vaults, gas_limit)

    def _transact_settle(self, pool: str, kind: str, controller: str, gas_limit: int) -> Any:
        return self._counted(super()._transact_settle, pool, kind, controller, gas_limit)


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
        return _Simulation(scenario, console=console, progress=progress).run()
    finally:
        ape_logger.set_level(ape_level)


class _Simulation:
    """One run of a scenario, phase by phase (see the module's docstring): set-up, the block loop, the
    end, the read-back and the cross-margin model. Its attributes are the run's shared state: the
    deployed markets and keepers, the agents' accounts, the schedule of opens, closes and oracle
    rounds, and the positions known closed (``gone``)."""

    def __init__(self, scenario: Scenario, *, console: Any, progress: bool):
        from ape import accounts, chain

        self.t_begin = time.perf_counter()
        self.scenario = scenario
        self.console = console
        self.show_progress = progress
        self.chain = chain
        self.provider = chain.provider
        self.test_accounts = accounts.test_accounts
        self.sim = SimChain(self.provider, self.test_accounts, scenario.seed)
        self.owner = self.test_accounts[0]
        self.owner_addr = str(self.owner.address)
        self.minted: dict[tuple[str, str], int] = {}
        self.spent: dict[int, int] = {}  # margin each position's trader added, by position number
        self.gone: set[int] = set()  # positions known closed or fully liquidated
        self.liquidations = 0
        self.by_vault: dict[str, PlannedPosition] = {}
        self.reserve_left: dict[int, int] = {}

    def run(self) -> SimRun:
        self._deploy()
        self._fund_lps()
        self._fund_insurance()
        self.run_record = self._fund_traders()
        self._arm_guards()
        self.run_record.timings["setup_seconds"] = time.perf_counter() - self.t_begin
        self._schedule()
        self._loop()
        self._read_back()
        self._cross_model()
        self.run_record.timings["total_seconds"] = time.perf_counter() - self.t_begin
        return self.run_record

    # ---------------------------------------------------------------- helpers the phases share
    def ts_of(self, block: int) -> int:
        return self.t0 + block * self.scenario.block_time

    def mint(self, token: str, to: str, amount: int) -> None:
        self.sim.send(self.owner_addr, token, "mint", to, amount, dry_run=False)
        self.minted[(token, to)] = self.minted.get((token, to), 0) + amount

    def is_open(self, p: PlannedPosition) -> bool:
        if not p.opened or self.pid[id(p)] in self.gone:
            return False
        status = self.sim.call(self.markets[p.market].market.address, "position", p.vault)[6]
        if status != 1:
            self.gone.add(self.pid[id(p)])
        return status == 1

    def close(self, p: PlannedPosition, block: int) -> None:
        self.run_record.actions.append(Action(block, self.ts_of(block), "close", p.trader, self.pid[id(p)],
                                              p.market))
        if not self.is_open(p):
            return
        self.sim.send(self.addresses[p.trader], self.markets[p.market].market.address, "closePosition", p.vault,
                      self.addresses[p.trader], 0)
        self.gone.add(self.pid[id(p)])

    def settle_lp_requests(self) -> None:
        """The LPs' deposit requests, settled on the first round published after them (block 0's)."""
        for m in self.markets:
            for lp in m.lp_requests:
                self.sim.send(self.owner_addr, m.market.address, "settleDeposit", lp)
            m.lp_requests.clear()

    def keep_fresh(self) -> None:
        """A heartbeat round (same answer) when the chain's clock has run a heartbeat past the last
        round: on py-evm every transaction takes a second, so a busy block can outrun the scenario's
        clock (on Anvil the blocks of one step share its time and this never fires)."""
        sim = self.sim
        for m in self.markets:
            if sim.step_time - m.last_round_ts >= m.spec.oracle.heartbeat or \
                    (not sim.anvil and sim.last_ts + 2 - m.last_round_ts >= m.spec.oracle.heartbeat):
                sim.send(self.owner_addr, m.feed, "setAnswer", m.answer, dry_run=False)
                m.last_round_ts = sim.last_ts
                m.heartbeats += 1

    # ---------------------------------------------------------------- deployment
    def _deploy(self) -> None:
        """The protocol, one market per scenario market (with its price path and oracle rounds), the
        keepers; the clock then starts a block after the head."""
        self.protocol = Protocol.deploy(self.owner, self.owner)
        self.markets = [self._deploy_market(i, spec) for i, spec in enumerate(self.scenario.markets)]
        self.start_block = int(self.chain.blocks.head.number)  # the keepers index from the last market's block
        self.guard: str | None = None
        if self.scenario.guard and any(t.guarded for t in plan_traders(self.scenario)):
            from ringfence.sdk import Guard

            self.guard = Guard.deploy(self.owner, self.protocol.factory).address
        self.keepers = [self._keeper(k, kspec) for k, kspec in enumerate(self.scenario.keepers)]
        self.sim.sync_head()
        self.t0 = self.sim.last_ts + self.scenario.block_time
        self.sim.step_time = self.ts_of(0)

    def _deploy_market(self, i: int, spec: ScenarioMarket) -> SimMarket:
        sc = self.scenario
        token, feed, answer = _open_market_tokens(self.sim, self.owner, spec)
        oracle = deploy_oracle(self.owner, feed, max_age=spec.oracle.max_age)
        market = self.protocol.create_market(self.owner, asset=token, oracle=oracle, params=spec.params,
                                             name=f"Ringfence {spec.id} LP", symbol=f"rf{i}")
        created = int(self.chain.blocks.head.timestamp)
        start = answer / 10**spec.oracle.decimals
        path = price_path(spec.price, start, sc.blocks, sc.block_time, sc.seed * 7919 + i)
        rounds = oracle_rounds(path, spec.oracle, sc.block_time, start_answer=answer)
        return SimMarket(
            spec=spec, market=market, token=token, feed=feed, fund=str(market.pool.insuranceFund()),
            rounds=rounds, path=path, scale=model.scale_for(spec.decimals),
            params=model.MarketParams.from_chain(spec.params, spec.decimals), created_ts=created,
            share_unit=10 ** int(market.pool.decimals()), answer=answer)

    def _keeper(self, k: int, kspec: KeeperSpec) -> SimKeeper:
        config = KeeperConfig(batch_size=kspec.batch_size, max_gas=kspec.gas_budget, horizon=3_600 * 6,
                              horizon_lead=3_600, guard=self.guard)
        return SimKeeper(self.protocol.factory, account=self.test_accounts[1 + k], lens=self.protocol.lens,
                         start_block=self.start_block, config=config, name=f"keeper{k}", sim_chain=self.sim)

    # ---------------------------------------------------------------- funding
    def _fund_lps(self) -> None:
        sim = self.sim
        self.lps = [sim.new_account("lp", i) for i in range(self.scenario.lps.count)]
        # The LPs act before block 0 (on Anvil a step's blocks share its time: dated at the head's, their
        # requests are older than block 0's oracle round, which then settles them; py-evm dates every
        # block a second after the last anyway).
        sim.step_time = sim.last_ts
        for m in self.markets:
            deposit = int(self.scenario.lps.deposit * 10**m.spec.decimals)
            for lp in self.lps:
                self.mint(m.token, lp, deposit)
                sim.send(lp, m.token, "approve", m.market.address, MAX, dry_run=False)
                if int(sim.call(m.market.address, "totalSupply")) == 0:  # a new pool: the first deposit is immediate
                    sim.send(lp, m.market.address, "deposit", deposit, lp)
                else:  # settled right after block 0's oracle round (settle_lp_requests)
                    sim.send(lp, m.market.address, "requestDeposit", deposit, lp)
                    m.lp_requests.append(lp)
                m.deposits += deposit
        sim.step_time = self.ts_of(0)

    def _fund_insurance(self) -> None:
        for m in self.markets:
            if m.spec.insurance_fund:
                self.mint(m.token, self.owner_addr, m.spec.insurance_fund)
                self.sim.send(self.owner_addr, m.token, "approve", m.fund, MAX, dry_run=False)
                self.sim.send(self.owner_addr, m.fund, "fund", m.spec.insurance_fund)

    def _fund_traders(self) -> SimRun:
        """The traders' accounts, funded for their planned positions and top-ups; the run's record."""
        sim, sc = self.sim, self.scenario
        traders = plan_traders(sc)
        self.addresses: list[str] = []
        for trader in traders:
            address = sim.new_account("trader", trader.index)
            self.addresses.append(address)
            need: dict[int, int] = {}
            for p in trader.positions:
                need[p.market] = need.get(p.market, 0) + p.notional * (1 + int(sc.traders.topup_budget) + 1)
            for mi, amount in sorted(need.items()):
                m = self.markets[mi]
                self.mint(m.token, address, amount + 100 * 10**m.spec.decimals)
                sim.send(address, m.token, "approve", m.market.address, MAX, dry_run=False)
        self.positions = [p for t in traders for p in t.positions]
        self.pid = {id(p): n for n, p in enumerate(self.positions)}
        network = self.provider.network
        return SimRun(scenario=sc, network=f"{network.ecosystem.name}:{network.name}:{self.provider.name}",
                      chain_id=int(self.chain.chain_id), markets=self.markets, traders=traders,
                      positions=self.positions)

    def _arm_guards(self) -> None:
        """Each guarded trader opens a reserve per market, earmarked to its planned vaults (their
        addresses are known before they open), deposits the policies' budgets into it and sets a policy
        on each vault: trigger, target, most per top-up and budget (multiples of the planned margin
        ``notional / leverage``) and the keeper's fee (at most a tenth of the most per top-up)."""
        run, sim, spec = self.run_record, self.sim, self.scenario.traders
        run.guard = self.guard
        if self.guard is None:
            return
        trigger, target = (int(spec.guard_trigger * WAD), int(spec.guard_target * WAD))
        for trader in run.traders:
            if not trader.guarded:
                continue
            address = self.addresses[trader.index]
            for mi in sorted({p.market for p in trader.positions}):
                m = self.markets[mi]
                mine = [p for p in trader.positions if p.market == mi]
                policies = []
                for p in mine:
                    p.vault = str(sim.call(m.market.address, "vaultAddress", address, p.index))
                    planned = Fraction(p.notional) / p.leverage
                    most = _ceil(spec.guard_max_per_top_up * planned)
                    budget = _ceil(spec.guard_budget * planned)
                    fee = min(int(spec.guard_fee * 10**m.spec.decimals), most // 10)
                    policies.append((p.vault, most, budget, fee))
                deposit = sum(budget for _, _, budget, _ in policies)
                self.mint(m.token, address, deposit)
                sim.send(address, m.token, "approve", self.guard, MAX, dry_run=False)
                sim.send(address, self.guard, "openReserve", m.token, [v for v, *_ in policies])
                reserve_id = int(sim.call(self.guard, "reserveCount"))
                sim.send(address, self.guard, "depositReserve", reserve_id, deposit)
                run.reserves[reserve_id] = (trader.index, mi, deposit)
                for vault, most, budget, fee in policies:
                    sim.send(address, self.guard, "setPolicy", vault, (trigger, target, 0, fee, most, budget, reserve_id))
        self.by_vault = {p.vault.lower(): p for p in self.positions if p.vault}

    # ---------------------------------------------------------------- the block loop
    def _schedule(self) -> None:
        """Which positions open and close, and which oracle rounds are published, at each block."""
        self.opens: dict[int, list[PlannedPosition]] = {}
        self.closes: dict[int, list[PlannedPosition]] = {}
        for p in self.positions:
            self.opens.setdefault(p.open_block, []).append(p)
            if p.close_block is not None:
                self.closes.setdefault(p.close_block, []).append(p)
        self.round_at: dict[int, list[tuple[SimMarket, Round]]] = {}
        for m in self.markets:
            for r in m.rounds:
                self.round_at.setdefault(r.block, []).append((m, r))
        self.round_blocks = set(self.round_at)
        self.topper_positions = [p for t in self.run_record.traders if t.topper for p in t.positions]
        self.backlog = [False] * len(self.keepers)

    def _loop(self) -> None:
        sc, run = self.scenario, self.run_record
        loop_start = time.perf_counter()
        tx_before = self.sim.transactions
        progress_bar = _progress(self.console, self.show_progress)
        with progress_bar as bar:
            task = bar.add_task(f"{sc.name}", total=sc.blocks + 1, liq=0)
            for block in range(sc.blocks + 1):
                self._step(block)
                bar.update(task, advance=1, liq=self.liquidations)
                head = int(self.provider.web3.eth.block_number)
                if not run.block_map or head != run.block_map[-1][0]:
                    run.block_map.append((head, block))
            self._end()
        run.timings["loop_seconds"] = time.perf_counter() - loop_start
        run.timings["loop_transactions"] = self.sim.transactions - tx_before
        run.timings["send_seconds"] = self.sim.send_seconds  # inside transaction sends (setup included)
        run.transactions = self.sim.transactions

    def _step(self, block: int) -> None:
        """One block: oracle round, traders' opens, top-ups and closes, keepers, maybe a sample."""
        sc, sim = self.scenario, self.sim
        sim.step_time = self.ts_of(block)
        for m, r in self.round_at.get(block, []):
            sim.send(self.owner_addr, m.feed, "setAnswer", r.answer, dry_run=False)
            m.answer = r.answer
            m.last_round_ts = sim.last_ts
        self.keep_fresh()
        if block == 0:
            self.settle_lp_requests()
        for p in self.opens.get(block, []):
            self._open(p, block)
        if self.topper_positions and block % sc.traders.topup_every == 0:
            self._top_up(block)
        for p in self.closes.get(block, []):
            self.close(p, block)
        self._keepers_step(block)
        if block % sc.sample_every == 0 or block == sc.blocks:
            self.run_record.samples.append(sample(sim, self.markets, self.positions, self.gone, block,
                                                  self.protocol.lens.address))

    def _open(self, p: PlannedPosition, block: int) -> None:
        """A planned open: size and margin from the oracle's answer; a refusal is noted on the plan."""
        sim, m, trader = self.sim, self.markets[p.market], self.addresses[p.trader]
        price = m.answer * 10 ** (18 - m.spec.oracle.decimals)
        size, margin = size_and_margin(m.spec.params, m.scale, p.notional, p.leverage, price)
        p.vault = str(sim.call(m.market.address, "vaultAddress", trader, p.index))
        try:
            sim.send(trader, m.market.address, "openPosition", p.index, p.is_long, size, margin, 0)
        except RingfenceError as exc:
            p.failed = f"{exc.name}"
            return
        p.opened = True
        p.topup_budget = int(Fraction(margin) * self.scenario.traders.topup_budget)
        raw = sim.call(m.market.address, "position", p.vault)
        pos = model.Position.from_chain(raw)
        self.run_record.actions.append(Action(block, sim.last_ts, "open", p.trader, self.pid[id(p)], p.market,
                                              pos))

    def _top_up(self, block: int) -> None:
        """Traders who watch their vaults add margin when health falls under their threshold."""
        sim, spec, pid, spent = self.sim, self.scenario.traders, self.pid, self.spent
        for mi, m in enumerate(self.markets):
            mine = [p for p in self.topper_positions if p.market == mi and p.opened and pid[id(p)] not in self.gone
                    and spent.get(pid[id(p)], 0) < p.topup_budget]
            if not mine:
                continue
            price = m.answer * 10 ** (18 - m.spec.oracle.decimals)
            views = sim.call(self.protocol.lens.address, "lensVaults", m.market.address, [p.vault for p in mine])
            for p, v in zip(mine, views, strict=True):
                if v[2] != 1:
                    self.gone.add(pid[id(p)])
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
                    sim.send(self.addresses[p.trader], m.market.address, "addMargin", p.vault, amount)
                except RingfenceError:
                    continue
                spent[pid[id(p)]] = spent.get(pid[id(p)], 0) + amount
                self.run_record.actions.append(Action(block, sim.last_ts, "topup", p.trader, pid[id(p)], mi,
                                                      amount=amount))

    def _keepers_step(self, block: int) -> None:
        """Each keeper's pass ``delay`` blocks after a round, and again while it has a backlog."""
        for k, (keeper, kspec) in enumerate(zip(self.keepers, self.scenario.keepers, strict=True)):
            if (block - kspec.delay) in self.round_blocks or self.backlog[k]:
                report = keeper.step()
                confirmed = sum(len(v) for v in report.confirmed.values())
                self.liquidations += report.liquidated
                self._count_income(block, report)
                self.backlog[k] = bool(report.errors) or confirmed > report.liquidated + report.lost_races
                if report.sent or report.errors:
                    self.run_record.keeper_reports.append({
                        "block": block, "keeper": k, "confirmed": confirmed, "liquidated": report.liquidated,
                        "lost_races": report.lost_races, "txs": len(report.sent), "errors": report.errors[:3],
                        "gas": [s.gas_used for s in report.sent]})

    def _count_income(self, block: int, report: Any) -> None:
        """The keepers' liquidation bonuses and top-up fees; each top-up as its trader's action."""
        income = self.run_record.keeper_income
        bonus = sum(s.bonus for tx in report.sent if tx.outcome for s in tx.outcome.pools.values())
        income["bonus"] = income.get("bonus", 0) + bonus
        if not report.top_ups:
            return
        income["top_up_fees"] = income.get("top_up_fees", 0) + report.top_up_fees
        income["top_ups"] = income.get("top_ups", 0) + report.topped_up
        income["top_up_gas"] = income.get("top_up_gas", 0) + sum(tx.gas_used for tx in report.top_ups)
        for tx in report.top_ups:
            for done in tx.done:
                p = self.by_vault[done.vault.lower()]
                self.run_record.actions.append(Action(block, self.sim.last_ts, "topup", p.trader, self.pid[id(p)],
                                                      p.market, amount=done.amount, by_guard=True))

    def _end(self) -> None:
        """The traders close what is still open and claim what full liquidations left them."""
        sim, end = self.sim, self.scenario.blocks
        sim.step_time = self.ts_of(end) + 1
        self.keep_fresh()
        if self.scenario.close_at_end:
            for p in self.positions:
                if p.close_block is None and p.opened:
                    self.close(p, end)
        for p in self.positions:  # what full liquidations left the owners, held by the pool per vault
            m = self.markets[p.market]
            if p.opened and int(sim.call(m.market.address, "claimable", p.vault)):
                sim.send(self.addresses[p.trader], m.market.address, "claim", p.vault, self.addresses[p.trader])
        guard = self.guard or ""
        for reserve_id, (trader, _, _) in sorted(self.run_record.reserves.items()):  # what the top-ups left
            left = int(sim.call(guard, "reserve", reserve_id)[1])
            if left:
                address = self.addresses[trader]
                sim.send(address, guard, "withdrawReserve", reserve_id, left, address)
            self.reserve_left[reserve_id] = left

    # ---------------------------------------------------------------- events, balances, models
    def _read_back(self) -> None:
        """Every protocol event, the balances at the end, and the isolated column's figures."""
        run = self.run_record
        t_read = time.perf_counter()
        run.events = read_events(self.protocol, self.markets, self.start_block)
        run.timings["events_seconds"] = time.perf_counter() - t_read
        holders = {self.owner_addr, *self.lps, *self.addresses, *(str(k.account.address) for k in self.keepers)}
        balances = end_balances(self.sim, self.markets, self.positions, self.addresses, holders, self.lps)
        run.figures["isolated"] = isolated_figures(run, balances, self.minted, self.addresses)
        run.figures["guard"] = guard_figures(run, balances, self.minted, self.addresses, self.reserve_left)

    def _cross_model(self) -> None:
        """The same actions replayed on the cross-margin model, and both columns' capital needs."""
        run, sc, ts_of = self.run_record, self.scenario, self.ts_of
        t_model = time.perf_counter()
        cross_markets = [CrossMarket(params=m.params, fee_index0=WAD, ts0=m.created_ts,
                                     insurance_fund=m.spec.insurance_fund, lp_deposits=m.deposits)
                         for m in self.markets]
        prices = [[(r.block, r.price_wad(m.spec.oracle.decimals)) for r in m.rounds] for m in self.markets]
        delay = min((k.delay for k in sc.keepers), default=0)
        cross = CrossModel(cross_markets, prices, delay)
        result = cross.run(run.actions, ts_of, sc.blocks)
        needs = capital_needs(run.actions, cross_markets, prices, ts_of, sc.blocks)
        run.figures["cross"] = cross_figures(run, cross, result, needs)
        run.figures["isolated"]["capital"] = {"initial_margin": needs["initial_margin"],
                                              "peak_need": needs["isolated_peak_need"]}
        run.timings["model_seconds"] = time.perf_counter() - t_model


def _ceil(value: Fraction) -> int:
    return -(-value.numerator // value.denominator)


def _progress(console: Any, enabled: bool) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("blocks  liquidations {task.fields[liq]}"), TimeElapsedColumn(),
                    console=console, disable=not enabled, transient=False)
