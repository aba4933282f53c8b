"""The cross-margin **model**: the same traders, positions, top-ups, closes and oracle prices as the
isolated run on chain, accounted as if each trader's positions shared one margin account.

This is a model in Python, not a contract: Ringfence has no cross-margin mode. It uses the exact
integer maths of :mod:`ringfence.model` (``pnl_down``, ``fees_up``, ``notional_up``,
``requirement_up``, ``keeper_bonus``) and the pool's payment waterfall:

* an account holds the margins its trader allocated (each position's margin at open plus the
  top-ups the trader made to it) and the PnL it realised;
* it is liquidatable when its equity ``balance + sum(pnl - fees)`` is below ``sum(MM * notional)``;
  the fastest keeper's reaction delay later (at the oracle price then, if still liquidatable) every
  position of the account is closed: keeper bonus and penalty per position as on chain, paid from
  the account's equity, the rest credited to the trader; a negative equity is bad debt, covered by
  the insurance fund, then by the LPs (no partial liquidation in the model);
* a position the trader closes pays what it would have paid alone (``margin + pnl - fees``), at
  most the account's free collateral above the initial margin of what stays open;
* **contagion**: a position closed by an account liquidation although it was not liquidatable on
  its own (its own margin, PnL and fees at that moment: equity >= MM * notional).

Money flows balance to the unit (:meth:`CrossModel.conservation_gap` is 0): what traders paid in
equals what they received + the LPs' PnL + the insurance fund's change + what keepers received.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from ringfence import model

__all__ = ["Action", "CrossMarket", "CrossModel", "CrossResult", "capital_needs"]


@dataclass(frozen=True)
class CrossMarket:
    params: model.MarketParams
    fee_index0: int  # the pool's fee index at ts0
    ts0: int
    insurance_fund: int  # the fund's balance at the start
    lp_deposits: int

    def fee_index(self, ts: int) -> int:
        return self.fee_index0 + self.params.borrow_rate_wad * max(0, ts - self.ts0)


@dataclass(frozen=True)
class Action:
    """One thing that happened in the isolated run and is replayed on the accounts."""

    block: int
    ts: int
    kind: str  # open | topup | close
    trader: int
    position: int  # a global position id
    market: int = 0
    pos: model.Position | None = None  # for opens: exactly what the pool recorded
    amount: int = 0  # for top-ups
    by_guard: bool = False  # a top-up a keeper executed under the trader's MarginGuard policy


@dataclass
class _Open:
    id: int
    market: int
    pos: model.Position
    alloc: int  # margin at open + top-ups


@dataclass
class _Account:
    balance: int = 0
    positions: dict[int, _Open] = field(default_factory=dict)
    pending: int | None = None  # block of a scheduled liquidation


@dataclass
class CrossResult:
    liquidations: list[dict[str, Any]] = field(default_factory=list)  # one per position closed by liquidation
    account_liquidations: int = 0
    liquidated_positions: int = 0
    contagion: int = 0  # positions liquidated that were solvent on their own
    trader_excess_loss: int = 0  # losses beyond each position's allocation, paid from the others
    bad_debt: int = 0
    fund_paid: int = 0  # bad debt covered + keeper bonuses the fund paid
    fund_series: list[tuple[int, list[int]]] = field(default_factory=list)
    lp_pnl: list[int] = field(default_factory=list)
    trader_paid_in: int = 0
    trader_received: int = 0
    keepers: int = 0


class CrossModel:
    def __init__(self, markets: list[CrossMarket], prices: list[list[tuple[int, int]]], delay: int):
        """``prices[m]``: the market's oracle rounds ``(block, price_wad)`` in order; ``delay``: blocks
        between an account falling under maintenance and its liquidation (the fastest keeper's)."""
        self.markets = markets
        self.prices = prices
        self.delay = delay
        self.fund = [m.insurance_fund for m in markets]
        self.result = CrossResult(lp_pnl=[0] * len(markets))
        self.accounts: dict[int, _Account] = {}
        self.where: dict[int, int] = {}  # position id -> trader (while open in the model)

    # -------------------------------------------------------------------- maths of one position
    def _price(self, market: int, block: int) -> int:
        price = self.prices[market][0][1]
        for b, p in self.prices[market]:
            if b > block:
                break
            price = p
        return price

    def _pnl_fees(self, o: _Open, price: int, ts: int, *, close_fee: bool) -> tuple[int, int, int]:
        m = self.markets[o.market]
        scale = m.params.scale
        pnl = model.pnl_down(o.pos.is_long, o.pos.size, o.pos.entry_price_wad, price, scale, o.pos.max_profit)
        fees = model.position_fees_up(o.pos, max(m.fee_index(ts), o.pos.fee_base_wad), scale)
        notional = model.notional_up(o.pos.size, price, scale)
        if close_fee:
            fees += model.requirement_up(notional, m.params.close_fee_wad)
        return pnl, fees, notional

    def _alone_liquidatable(self, o: _Open, price: int, ts: int) -> bool:
        m = self.markets[o.market]
        own = replace(o.pos, margin=o.alloc)
        liquidatable, _, _ = model.liquidation_test(own, price, max(m.fee_index(ts), own.fee_base_wad),
                                                    m.params.scale, m.params.maintenance_margin_wad)
        return liquidatable

    def _equity_requirement(self, acct: _Account, block: int, ts: int, ratio: str) -> tuple[int, int]:
        equity, requirement = acct.balance, 0
        for o in acct.positions.values():
            price = self._price(o.market, block)
            pnl, fees, notional = self._pnl_fees(o, price, ts, close_fee=False)
            params = self.markets[o.market].params
            if ratio == "mm":
                equity += pnl - fees
                requirement += model.requirement_up(notional, params.maintenance_margin_wad)
            else:  # the initial-margin test: unrealised profit does not count
                equity += min(pnl, 0) - fees
                requirement += model.requirement_up(notional, params.initial_margin_wad)
        return equity, requirement

    # -------------------------------------------------------------------- the money waterfall
    def _absorb_shortfall(self, shortfall: int, market: int) -> None:
        covered = min(self.fund[market], shortfall)
        self.fund[market] -= covered
        self.result.fund_paid += covered
        self.result.lp_pnl[market] -= shortfall - covered
        self.result.bad_debt += shortfall

    # -------------------------------------------------------------------- actions
    def _open(self, a: Action) -> None:
        acct = self.accounts.setdefault(a.trader, _Account())
        assert a.pos is not None
        acct.positions[a.position] = _Open(a.position, a.market, a.pos, a.pos.margin)
        acct.balance += a.pos.margin
        self.result.trader_paid_in += a.pos.margin
        self.where[a.position] = a.trader

    def _topup(self, a: Action) -> None:
        acct = self.accounts.get(a.trader)
        if acct is None or a.position not in acct.positions:
            return  # the position is gone in this mode: the trader keeps the money
        acct.positions[a.position].alloc += a.amount
        acct.balance += a.amount
        self.result.trader_paid_in += a.amount

    def _close(self, a: Action) -> None:
        acct = self.accounts.get(a.trader)
        if acct is None or a.position not in acct.positions:
            return
        o = acct.positions.pop(a.position)
        del self.where[a.position]
        price = self._price(o.market, a.block)
        pnl, fees, _ = self._pnl_fees(o, price, a.ts, close_fee=True)
        self.result.lp_pnl[o.market] += fees - pnl
        acct.balance += pnl - fees
        own = o.alloc + pnl - fees
        if own < 0:  # the position lost more than its allocation: the rest of the account paid
            self.result.trader_excess_loss += max(0, -own - max(0, -acct.balance))
        if acct.positions:
            equity, required = self._equity_requirement(acct, a.block, a.ts, "im")
            take = min(max(0, own), max(0, equity - required))
        else:
            take = max(0, acct.balance)
            if acct.balance < 0:
                self._absorb_shortfall(-acct.balance, o.market)
                acct.balance = 0
        acct.balance -= take
        self.result.trader_received += take

    def _liquidate(self, trader: int, acct: _Account, block: int, ts: int) -> None:
        res = self.result
        res.account_liquidations += 1
        bonus = penalty = 0
        negative = 0
        first_market = None
        for o in list(acct.positions.values()):
            price = self._price(o.market, block)
            pnl, fees, notional = self._pnl_fees(o, price, ts, close_fee=False)
            params = self.markets[o.market].params
            contagion = not self._alone_liquidatable(o, price, ts)
            b = model.keeper_bonus(params, o.pos.size, price)
            q = model.requirement_up(notional, params.liquidation_penalty_wad)
            bonus += b
            penalty += q
            own = o.alloc + pnl - fees
            negative += max(0, -own)
            res.lp_pnl[o.market] += fees - pnl
            acct.balance += pnl - fees
            res.liquidated_positions += 1
            res.contagion += contagion
            res.liquidations.append({"block": block, "trader": trader, "position": o.id, "market": o.market,
                                     "price_wad": price, "own_equity": own, "contagion": contagion})
            first_market = o.market if first_market is None else first_market
            del self.where[o.id]
        acct.positions.clear()
        equity = acct.balance
        market = first_market or 0
        available = max(equity, 0)
        from_equity = min(bonus, available)
        available -= from_equity
        pen = min(penalty, available)
        credit = available - pen
        self.fund[market] += pen
        shortfall = max(0, -equity)
        if shortfall:
            self._absorb_shortfall(shortfall, market)
        res.trader_excess_loss += max(0, negative - shortfall)
        unfunded = bonus - from_equity
        from_fund = min(self.fund[market], unfunded)
        self.fund[market] -= from_fund
        res.fund_paid += from_fund
        res.lp_pnl[market] -= unfunded - from_fund
        res.keepers += bonus
        res.trader_received += credit
        acct.balance = 0
        acct.pending = None

    # -------------------------------------------------------------------- the replay
    def run(self, actions: list[Action], ts_of: Callable[[int], int], last_block: int) -> CrossResult:
        """Replays ``actions`` (in block order: opens, top-ups, closes) along the oracle rounds;
        ``ts_of(block)`` dates a block (the step's time on the chain's clock)."""
        order = {"open": 0, "topup": 1, "close": 2}
        by_block: dict[int, list[Action]] = {}
        for a in sorted(actions, key=lambda a: (a.block, order[a.kind], a.position)):
            by_block.setdefault(a.block, []).append(a)
        checkpoints = set(by_block) | {b for rounds in self.prices for b, _ in rounds} | {last_block}
        block = 0
        pending: dict[int, int] = {}
        queue = sorted(checkpoints)
        i = 0
        while i < len(queue):
            block = queue[i]
            i += 1
            if block > last_block:
                break
            ts = ts_of(block)
            for a in by_block.get(block, []):
                getattr(self, f"_{a.kind}")(Action(block, a.ts, a.kind, a.trader, a.position, a.market, a.pos,
                                                   a.amount))
            for trader, due in sorted(pending.items()):
                if due != block:
                    continue
                acct = self.accounts[trader]
                del pending[trader]
                if acct.positions:
                    equity, required = self._equity_requirement(acct, block, ts, "mm")
                    if equity < required:
                        self._liquidate(trader, acct, block, ts)
            for trader, acct in sorted(self.accounts.items()):
                if not acct.positions or trader in pending:
                    continue
                equity, required = self._equity_requirement(acct, block, ts, "mm")
                if equity < required:
                    if self.delay == 0:
                        self._liquidate(trader, acct, block, ts)
                    else:
                        due = min(block + self.delay, last_block)
                        pending[trader] = due
                        if due not in checkpoints:
                            checkpoints.add(due)
                            queue = sorted(checkpoints)
                            i = queue.index(block) + 1
            self.result.fund_series.append((block, list(self.fund)))
        return self.result

    def conservation_gap(self) -> int:
        """Paid in - (received + LPs' PnL + fund change + keepers + still in accounts): 0 when the
        model's money balances."""
        r = self.result
        held = sum(a.balance for a in self.accounts.values())
        fund_change = sum(self.fund) - sum(m.insurance_fund for m in self.markets)
        return r.trader_paid_in - (r.trader_received + sum(r.lp_pnl) + fund_change + r.keepers + held)

    def open_positions(self) -> int:
        return len(self.where)


def capital_needs(actions: list[Action], markets: list[CrossMarket], prices: list[list[tuple[int, int]]],
                  ts_of: Callable[[int], int], last_block: int) -> dict[str, int]:
    """The collateral needed to hold every position from its open to its planned close (or the end)
    without a liquidation, along the same prices: isolated, each position needs its own peak of
    ``MM * N - pnl + fees``; cross, each trader's account needs the peak of the sum over its open
    positions. Also the initial margin at open (``IM * N``, the same in both modes)."""
    opens = {a.position: a for a in actions if a.kind == "open"}
    closes = {a.position: a.block for a in actions if a.kind == "close"}
    points = sorted({b for rounds in prices for b, _ in rounds} | {a.block for a in opens.values()}
                    | set(closes.values()) | {last_block})
    peak_pos: dict[int, int] = {}
    peak_trader: dict[int, int] = {}
    initial = 0
    for a in opens.values():
        m = markets[a.market]
        assert a.pos is not None
        initial += model.requirement_up(model.notional_up(a.pos.size, a.pos.entry_price_wad, m.params.scale),
                                        m.params.initial_margin_wad)
    for block in points:
        ts = ts_of(block)
        per_trader: dict[int, int] = {}
        for pid, a in opens.items():
            if a.block > block or (pid in closes and closes[pid] < block):
                continue
            m = markets[a.market]
            assert a.pos is not None
            price = prices[a.market][0][1]
            for b, p in prices[a.market]:
                if b > block:
                    break
                price = p
            scale = m.params.scale
            pnl = model.pnl_down(a.pos.is_long, a.pos.size, a.pos.entry_price_wad, price, scale, a.pos.max_profit)
            fees = model.position_fees_up(a.pos, max(m.fee_index(ts), a.pos.fee_base_wad), scale)
            need = model.requirement_up(model.notional_up(a.pos.size, price, scale),
                                        m.params.maintenance_margin_wad) - pnl + fees
            peak_pos[pid] = max(peak_pos.get(pid, 0), need)
            per_trader[a.trader] = per_trader.get(a.trader, 0) + need
        for trader, need in per_trader.items():
            peak_trader[trader] = max(peak_trader.get(trader, 0), need)
    return {"initial_margin": initial, "isolated_peak_need": sum(peak_pos.values()),
            "cross_peak_need": sum(peak_trader.values())}
