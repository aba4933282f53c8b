"""Exact accounting of every liquidation path against the reference model
(``ringfence.model.liquidate_batch``), every token accounted for to the unit.

For each liquidation the test reads, before and after: the token balances of every vault, the pool,
the keeper, the insurance fund, the owners and the LP; the pool's ``liquidity``, ``reserved``,
``openInterest`` of both sides, ``totalClaimable`` and each vault's ``claimable``; the positions. It then checks
the ``Liquidated``, ``KeeperPaid`` and ``BadDebtCovered`` events and every one of those changes
against the model run on the state before, at the block's price and fee index. Conservation is
checked outright too: the token's supply is the sum of the balances of every holder, and the pool
holds exactly its LPs' liquidity plus the owners' claimable credits.

The market is this file's own: a 6-decimal token nobody else holds, priced by an 18-decimal
MockAggregator so that every WAD price (a liquidation price to the wei) is exact.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ringfence.abi import at
from ringfence import model as m
from ringfence.sdk import Market, MarketParams, Protocol, deploy_oracle
from tests.conftest import ETH, USDC, apply_params, reverts, sync_clock

WAD = 10**18
LP_FUNDS = 10_000_000 * USDC
TRADER_FUNDS = 10_000_000 * USDC
MAX_PRICE_AGE = 2 * 24 * 3600
LIQUIDATION_GAS = 3_000_000  # sent without estimation, so the pinned block time is the only one
PRICE_STEP = 10_000  # basis points


@dataclass
class Env:
    """This file's market and the parties of its liquidations."""

    market: Market
    pool: Any
    token: Any
    feed: Any
    fund: Any
    liquidator: Any
    lens: Any
    factory: Any
    owner: Any
    lp: Any
    alice: Any
    bob: Any
    keeper: Any
    params: MarketParams
    vaults: list[str] = field(default_factory=list)
    owners: dict[str, str] = field(default_factory=dict)
    _model_params: m.MarketParams | None = None

    def holders(self) -> list[str]:
        """Every address that can hold the token (the supply is theirs)."""
        parties = [
            self.pool.address,
            self.fund.address,
            self.owner.address,
            self.lp.address,
            self.alice.address,
            self.bob.address,
            self.keeper.address,
        ]
        return list(dict.fromkeys(parties + self.vaults))

    def model_params(self) -> m.MarketParams:
        """The market's parameters as the model takes them (cached: only set_params changes
        them, and a test's changes are reverted with the chain after it)."""
        if self._model_params is None:
            self._model_params = m.MarketParams.from_chain(self.market.params(), 6)
        return self._model_params

    def open(
        self,
        trader: Any,
        *,
        nonce: int = 0,
        is_long: bool = True,
        size: int = ETH,
        margin: int = 400 * USDC,
    ) -> str:
        vault = self.market.open(
            trader, is_long=is_long, size=size, margin=margin, nonce=nonce, approve=False
        )
        if vault not in self.vaults:
            self.vaults.append(vault)
        self.owners[vault] = trader.address
        return vault

    def set_params(self, **changes: int) -> None:
        protocol = Protocol(self.factory, self.liquidator, self.lens)
        apply_params(protocol, self.pool, self.market.params().with_(**changes), self.owner)
        self._model_params = None

    def fund_insurance(self, amount: int) -> None:
        self.token.mint(self.fund, amount, sender=self.owner)  # what the fund holds is available

    def set_price(self, price_wad: int) -> None:
        self.feed.setAnswer(price_wad, sender=self.owner)

    def position(self, vault: str) -> m.Position:
        return m.Position.from_chain(self.pool.position(vault))

    def liquidation_price(self, vault: str) -> int:
        """The liquidation price at the head's block time (the model's, checked against the
        vault's own view)."""
        position = self.position(vault)
        params = self.model_params()
        fees = m.position_fees_up(position, int(self.pool.currentFeeIndex()), params.scale)
        liq = m.position_liquidation_price(
            position, fees, params.scale, params.maintenance_margin_wad
        )
        assert int(self.market.vault(vault).liquidationPrice()) == liq
        return liq


@pytest.fixture(scope="session")
def env(project, chain, owner, protocol, lp, alice, bob, keeper) -> Env:
    sync_clock(chain)
    token = owner.deploy(project.MockERC20, "Ledger USD", "LUSD", 6)
    feed = owner.deploy(project.MockAggregator, 18, 3000 * WAD)
    oracle = deploy_oracle(owner, feed, max_age=MAX_PRICE_AGE)
    params = MarketParams.default(6)
    market = protocol.create_market(
        owner, asset=token, oracle=oracle, params=params, name="Ringfence ledger LP", symbol="rfLED"
    )
    fund = at(project.InsuranceFund, market.pool.insuranceFund())
    token.mint(lp, LP_FUNDS, sender=owner)
    market.deposit(lp, LP_FUNDS)
    for trader in (alice, bob):
        token.mint(trader, TRADER_FUNDS, sender=owner)
        token.approve(market.pool, 2**256 - 1, sender=trader)
    return Env(
        market=market,
        pool=market.pool,
        token=token,
        feed=feed,
        fund=fund,
        liquidator=protocol.liquidator,
        lens=protocol.lens,
        factory=protocol.factory,
        owner=owner,
        lp=lp,
        alice=alice,
        bob=bob,
        keeper=keeper,
        params=params,
    )


@pytest.fixture(autouse=True)
def _fresh_params(env: Env) -> None:
    """The chain is reverted after each test, parameter changes with it."""
    env._model_params = None


# ------------------------------------------------------------------ the books


@dataclass(frozen=True)
class Books:
    balances: dict[str, int]
    supply: int
    liquidity: int  # realized LP liquidity, `liquidity()` (`totalAssets` is the marked share value)
    pending_deposits: int
    reserved: int
    total_claimable: int
    claimable: dict[str, int]  # per vault
    open_interest: dict[bool, tuple[int, int]]
    positions: dict[str, m.Position]  # the open ones
    statuses: dict[str, int]
    margins: dict[str, int]


def read_books(env: Env, vaults: list[str]) -> Books:
    pool = env.pool
    positions: dict[str, m.Position] = {}
    statuses: dict[str, int] = {}
    margins: dict[str, int] = {}
    for vault in dict.fromkeys(vaults):
        raw = pool.position(vault)
        statuses[vault] = int(raw.status)
        margins[vault] = int(raw.margin)
        if statuses[vault] == 1:
            positions[vault] = m.Position.from_chain(raw)
    books = Books(
        balances={a: int(env.token.balanceOf(a)) for a in env.holders()},
        supply=int(env.token.totalSupply()),
        liquidity=int(pool.liquidity()),
        pending_deposits=int(pool.pendingDeposits()),
        reserved=int(pool.reserved()),
        total_claimable=int(pool.totalClaimable()),
        claimable={v: int(pool.claimable(v)) for v in statuses},
        open_interest={
            side: tuple(int(v) for v in pool.openInterest(side))  # type: ignore[misc]
            for side in (True, False)
        },
        positions=positions,
        statuses=statuses,
        margins=margins,
    )
    # Conservation outright: the supply is all there, and the pool holds exactly the LPs'
    # liquidity plus the owners' credits and any pending LP deposits (nobody donated to it).
    assert sum(books.balances.values()) == books.supply
    assert books.balances[pool.address] == books.liquidity + books.total_claimable + books.pending_deposits
    return books


@dataclass(frozen=True)
class Checked:
    """A liquidation transaction, checked against the model."""

    receipt: Any
    expected: m.BatchOutcome
    before: Books
    after: Books
    price: int
    fee_index: int

    @property
    def result(self) -> m.LiquidationOutcome:
        assert len(self.expected.results) == 1
        return self.expected.results[0]


def liquidate_and_check(
    env: Env, vaults: list[str], send: Callable[[], Any], *, strict: bool
) -> Checked:
    """Sends a liquidation of ``vaults`` and checks everything it did against the model."""
    pool, keeper = env.pool, env.keeper.address
    params = env.model_params()
    before = read_books(env, vaults)
    fund_before = before.balances[env.fund.address]

    receipt = send()
    price = int(env.market.price())
    fee_index = int(pool.currentFeeIndex(block_id=receipt.block_number))
    expected = m.liquidate_batch(
        params,
        vaults,
        before.positions,
        price,
        fee_index,
        fund_before,
        before.liquidity - before.reserved,
        strict=strict,
    )
    after = read_books(env, vaults)

    # Events, in order, field by field.
    events = receipt.decode_logs(pool.Liquidated)
    assert [e.vault for e in events] == list(expected.vaults)
    for event, vault, r in zip(events, expected.vaults, expected.results, strict=True):
        assert (event.owner, event.keeper) == (env.owners[vault], keeper)
        assert (event.full, event.closedSize, event.priceWad, event.equityBefore) == (
            r.full,
            r.closed_size,
            price,
            r.equity_before,
        )
        assert (event.keeperBonus, event.penalty, event.ownerCredit, event.badDebt) == (
            r.keeper_bonus,
            r.penalty,
            r.owner_credit,
            r.bad_debt,
        )
    paid = [
        (e.keeper, e.fromEquity, e.fromFund, e.fromPool)
        for e in receipt.decode_logs(pool.KeeperPaid)
    ]
    pay = expected.payment
    assert paid == (
        [(keeper, pay.from_equity, pay.from_fund, pay.from_pool)] if pay.emits_keeper_paid else []
    )
    covered = [
        (e.vault, e.shortfall, e.coveredByFund, e.borneByLps)
        for e in receipt.decode_logs(pool.BadDebtCovered)
    ]
    assert covered == [
        (v, r.bad_debt, r.fund_cover, r.lp_loss)
        for v, r in zip(expected.vaults, expected.results, strict=True)
        if r.bad_debt
    ]

    # Every balance, to the unit.
    moves = {a: 0 for a in before.balances}
    for vault, r in zip(expected.vaults, expected.results, strict=True):
        moves[vault] += r.vault_delta
    moves[pool.address] += expected.pool_delta
    moves[keeper] += pay.paid
    moves[env.fund.address] += expected.insurance_fund - fund_before
    assert {a: after.balances[a] - before.balances[a] for a in before.balances} == moves
    assert after.balances[env.fund.address] == expected.insurance_fund
    assert after.supply == before.supply

    # The pool's books.
    assert after.liquidity - before.liquidity == expected.liquidity_delta
    assert after.liquidity - after.reserved == expected.free_liquidity
    assert before.reserved - after.reserved == expected.reserved_released
    assert after.total_claimable - before.total_claimable == expected.owner_credits
    for vault in before.claimable:  # a credit stays in the liquidated vault's record
        assert after.claimable[vault] - before.claimable[vault] == sum(
            r.owner_credit for v, r in zip(expected.vaults, expected.results, strict=True) if v == vault
        )
    for side in (True, False):
        released = [
            (r.open_interest_size_released, r.open_interest_notional_released)
            for v, r in zip(expected.vaults, expected.results, strict=True)
            if before.positions[v].is_long is side
        ]
        size_before, notional_before = before.open_interest[side]
        assert after.open_interest[side] == (
            size_before - sum(s for s, _ in released),
            notional_before - sum(n for _, n in released),
        )

    # The positions.
    for vault in dict.fromkeys(vaults):
        if vault in expected.positions:
            assert after.positions[vault] == expected.positions[vault]
        elif vault in before.positions:  # closed: the record's margin holds the owner's credit
            credit = sum(r.owner_credit for v, r in zip(expected.vaults, expected.results, strict=True) if v == vault)
            assert after.statuses[vault] == 2 and after.margins[vault] == credit
        else:
            assert after.statuses[vault] == before.statuses[vault]
    return Checked(receipt, expected, before, after, price, fee_index)


def liquidate_one(env: Env, vault: str, **tx: Any) -> Checked:
    """``Liquidator.liquidate(vault)`` (single, strict), checked."""
    return liquidate_and_check(
        env, [vault], lambda: env.liquidator.liquidate(vault, sender=env.keeper, **tx), strict=True
    )


def liquidate_batch(env: Env, vaults: list[str]) -> Checked:
    """``Liquidator.liquidateBatch([(pool, vaults)])``, checked."""
    checked = liquidate_and_check(
        env,
        vaults,
        lambda: env.liquidator.liquidateBatch([(env.pool.address, vaults)], sender=env.keeper),
        strict=False,
    )
    batches = checked.receipt.decode_logs(env.liquidator.BatchLiquidated)
    assert [(b.pool, b.keeper, b.attempted, b.liquidated) for b in batches] == [
        (env.pool.address, env.keeper.address, len(vaults), len(checked.expected.results))
    ]
    return checked


def partial_check(env: Env, checked: Checked) -> m.PartialLiquidationCheck:
    """The exact check of a single partial liquidation (``e'``, ``T N'``, healthier)."""
    vault = checked.expected.vaults[0]
    return m.exact_partial_liquidation_check(
        env.model_params(), checked.before.positions[vault], checked.result
    )


def slack(env: Env, checked: Checked) -> Fraction:
    """``e' - T N'`` of a partial liquidation, in assets (exact)."""
    return partial_check(env, checked).slack


def assert_partial_restores_the_target(env: Env, checked: Checked) -> None:
    """L2 on the chain: the partial left ``e' >= T N'`` exactly, the vault strictly healthier
    than before and no longer liquidatable (the pool's own view, at the same price)."""
    r = checked.result
    assert not r.full
    vault = checked.expected.vaults[0]
    check = partial_check(env, checked)
    assert check.restores_target and check.healthier
    # The contract's integer check: equity' (profit capped) * WAD >= notional' (up) * T.
    after = checked.after.positions[vault]
    params = env.model_params()
    assert m.equity_down(after, checked.price, 0, params.scale) * WAD >= (
        m.notional_up(after.size, checked.price, params.scale) * params.liquidation_target_wad
    )
    assert list(env.lens.liquidatable(env.pool, [vault])) == [False]


# ------------------------------------------------------------------ partial and full


def test_partial_liquidation(env):
    vault = env.open(env.alice, size=10 * ETH, margin=4_000 * USDC)
    liq = env.liquidation_price(vault)
    env.set_price(liq - 1)
    checked = liquidate_one(env, vault)
    r = checked.result
    assert not r.full and 0 < r.closed_size < 10 * ETH
    assert r.keeper_from_equity == r.keeper_bonus > 0 and r.penalty > 0
    assert r.owner_credit == r.bad_debt == r.keeper_from_fund == r.keeper_from_pool == 0
    assert r.vault_to_pool > 0 and r.pool_to_vault == 0
    assert checked.expected.payment.from_equity == r.keeper_bonus
    # About 5/11 of it closed ((T - MM) / (T - b - q), a hair more for the slack of 3 units),
    # back at the target T = 7.5 % exactly, healthier, and no longer liquidatable.
    assert abs(Fraction(r.closed_size, 10 * ETH) - Fraction(5, 11)) < Fraction(1, 10**6)
    assert_partial_restores_the_target(env, checked)
    # The slack of 3 less the roundings against the position, plus those in its favour (the
    # integer equity and notional of the size formula, the size's round-up): a few units.
    assert 0 <= slack(env, checked) < 5
    assert not env.market.vault(vault).isLiquidatable()
    assert env.liquidation_price(vault) < liq - 1
    with reverts("HealthyPosition", vault=vault, priceWad=liq - 1):
        env.liquidator.liquidate(vault, sender=env.keeper)


def test_partial_liquidation_of_a_short(env):
    vault = env.open(env.bob, is_long=False, size=20 * ETH, margin=12_000 * USDC)
    env.set_price(env.liquidation_price(vault) + 10**9)
    r = liquidate_one(env, vault).result
    assert not r.full and r.keeper_bonus == r.keeper_from_equity > 0


def test_full_liquidation_credits_the_owner_who_claims_it(env):
    # A minimum position of 250: what a partial liquidation would leave of 300 is below it.
    env.set_params(min_notional=250 * USDC)
    vault = env.open(env.alice, size=ETH // 10, margin=40 * USDC)
    env.set_price(env.liquidation_price(vault) - 1)
    checked = liquidate_one(env, vault)
    r = checked.result
    assert r.full and r.position is None and r.bad_debt == 0
    assert r.keeper_from_equity == r.keeper_bonus and r.owner_credit > 0
    assert r.keeper_bonus + r.penalty + r.owner_credit == r.equity_before
    assert r.vault_to_pool == checked.before.positions[vault].margin
    assert int(env.pool.claimable(vault)) == r.owner_credit
    with reverts("NotVaultOwner", caller=env.bob, owner=env.alice):
        env.pool.claim(vault, env.bob, sender=env.bob)

    before = read_books(env, [vault])
    receipt = env.pool.claim(vault, env.alice, sender=env.alice)
    after = read_books(env, [vault])
    claimed = receipt.decode_logs(env.pool.Claimed)
    assert [(e.vault, e.owner, e.receiver, e.amount) for e in claimed] == [
        (vault, env.alice.address, env.alice.address, r.owner_credit)
    ]
    changed = {
        a: after.balances[a] - before.balances[a]
        for a in before.balances
        if after.balances[a] != before.balances[a]
    }
    assert changed == {env.alice.address: r.owner_credit, env.pool.address: -r.owner_credit}
    assert after.total_claimable == before.total_claimable - r.owner_credit
    assert after.liquidity == before.liquidity and after.reserved == before.reserved
    assert after.claimable[vault] == 0 and after.margins[vault] == 0
    with reverts("NothingToClaim", vault=vault):
        env.pool.claim(vault, env.alice, sender=env.alice)


def test_full_liquidation_with_equity_below_the_bonus_the_fund_tops_it_up(env):
    """A position whose equity cannot pay the whole bonus: all of it to the keeper, the fund
    tops the bonus up, no penalty, no credit."""
    env.set_params(min_notional=250 * USDC)
    vault = env.open(env.alice, size=ETH // 10, margin=40 * USDC)
    env.fund_insurance(100 * USDC)
    position = env.position(vault)
    params = env.model_params()
    fees = m.position_fees_up(position, int(env.pool.currentFeeIndex()), params.scale)
    bankruptcy = m.bankruptcy_price(
        True, position.size, position.entry_price_wad, position.margin, fees, params.scale
    )
    env.set_price(bankruptcy + 2 * 10**18)  # equity 0.2 USDC, the bonus 1 % of 260.5
    r = liquidate_one(env, vault).result
    assert r.full and 0 < r.equity_before < r.keeper_bonus
    assert r.keeper_from_equity == r.equity_before and r.penalty == r.owner_credit == 0
    assert r.keeper_from_fund == r.keeper_bonus - r.equity_before and r.keeper_from_pool == 0


# ------------------------------------------------------------------ bad debt


def _crash(env: Env, vault: str, drop_usd: int) -> None:
    env.set_price(env.liquidation_price(vault) - drop_usd * WAD)


def test_bad_debt_covered_by_the_fund(env):
    vault = env.open(env.alice, size=10 * ETH, margin=4_000 * USDC)
    env.fund_insurance(10_000 * USDC)
    _crash(env, vault, 500)
    checked = liquidate_one(env, vault)
    r = checked.result
    assert r.full and r.bad_debt > 0 and r.equity_before == -r.bad_debt
    assert r.fund_cover == r.bad_debt and r.lp_loss == 0
    assert r.keeper_from_equity == r.penalty == r.owner_credit == 0
    assert r.keeper_from_fund == r.keeper_bonus and r.keeper_from_pool == 0
    # The LPs end up with the fees and the PnL as if the trader had paid in full.
    assert r.liquidity_delta == r.fees - r.pnl_closed


def test_bad_debt_partly_covered_the_lps_bear_the_rest(env):
    vault = env.open(env.alice, size=10 * ETH, margin=4_000 * USDC)
    env.fund_insurance(1_000 * USDC)
    _crash(env, vault, 500)
    r = liquidate_one(env, vault).result
    assert r.full and r.bad_debt > 1_000 * USDC
    assert r.fund_cover == 1_000 * USDC and r.lp_loss == r.bad_debt - 1_000 * USDC
    # The fund is empty after the cover: the keeper is paid by the pool.
    assert r.keeper_from_fund == 0 and r.keeper_from_pool == r.keeper_bonus > 0
    assert int(env.fund.available()) == 0


def test_bad_debt_with_an_empty_fund_the_pool_pays_the_keeper(env):
    vault = env.open(env.bob, is_long=False, size=10 * ETH, margin=4_000 * USDC)
    env.set_price(env.liquidation_price(vault) + 500 * WAD)
    r = liquidate_one(env, vault).result
    assert r.full and r.bad_debt > 0 and r.fund_cover == 0 and r.lp_loss == r.bad_debt
    assert r.keeper_from_pool == r.keeper_bonus and r.keeper_from_fund == 0
    assert r.liquidity_delta == r.fees - r.pnl_closed - r.bad_debt - r.keeper_bonus


# ------------------------------------------------------------------ keeper bonus floor and cap


def test_keeper_bonus_floor_binds(env):
    """The partial size of this vault closes 62 USDC, whose bonus the floor (1 USDC) would raise
    above 1 % by more than the target allows (see test_floor_binding_partial_is_a_full_
    liquidation): it is liquidated fully instead, and with a floor of 2 USDC the floor binds on
    the whole 137 USDC too, paid out of the equity."""
    env.set_params(keeper_bonus_min=2 * USDC)
    vault = env.open(env.alice, size=ETH // 20, margin=20 * USDC)
    env.set_price(env.liquidation_price(vault) - 1)
    position = env.position(vault)
    params = env.model_params()
    price = int(env.market.price())
    fees = m.position_fees_up(position, int(env.pool.currentFeeIndex()), params.scale)
    closed = m.partial_size(
        params, position, price, m.equity_down(position, price, fees, params.scale)
    )
    assert 0 < closed < position.size  # a partial was on the cards ...
    checked = liquidate_one(env, vault)
    r = checked.result
    at_rate = r.closed_notional * env.params.keeper_bonus_wad // WAD
    assert r.full and r.closed_size == position.size  # ... but it is a full liquidation
    assert r.keeper_bonus == 2 * USDC > at_rate > USDC  # 1 % of 137 USDC
    assert r.keeper_from_equity == r.keeper_bonus and r.bad_debt == 0
    assert r.keeper_bonus + r.penalty + r.owner_credit == r.equity_before
    assert checked.after.statuses[vault] == 2
    assert list(env.lens.liquidatable(env.pool, [vault])) == [False]


def test_keeper_bonus_cap_binds(env):
    vault = env.open(env.alice, size=100 * ETH, margin=40_000 * USDC)
    env.set_price(env.liquidation_price(vault) - 1)
    checked = liquidate_one(env, vault)
    r = checked.result
    assert not r.full and r.closed_notional * env.params.keeper_bonus_wad // WAD > (
        env.params.keeper_bonus_max
    )
    assert r.keeper_bonus == env.params.keeper_bonus_max == r.keeper_from_equity
    assert slack(env, checked) > 0  # the cap leaves the vault above the target


# ------------------------------------------------------------------ batches


def test_batch_pays_the_keeper_once(env, mallory):
    partial = env.open(env.alice, nonce=0, size=10 * ETH, margin=4_460 * USDC)
    healthy = env.open(env.alice, nonce=1, size=ETH, margin=1_000 * USDC)
    bankrupt = env.open(env.bob, nonce=0, size=10 * ETH, margin=3_040 * USDC)
    closed = env.open(env.bob, nonce=1, size=ETH, margin=400 * USDC)
    env.market.close(env.bob, closed)
    env.fund_insurance(300 * USDC)
    env.set_price(2_650 * WAD)
    vaults = [healthy, partial, closed, bankrupt, mallory.address, partial]
    checked = liquidate_batch(env, vaults)
    expected = checked.expected
    assert expected.vaults == (partial, bankrupt)  # the repeat of `partial` is healthy by then
    first, second = expected.results
    assert not first.full and second.full and second.bad_debt > 300 * USDC
    assert second.fund_cover == 300 * USDC  # the fund covers first, so nothing is left ...
    pay = expected.payment
    assert pay.from_equity == first.keeper_bonus  # ... for the keeper: the pool pays the rest
    assert pay.from_fund == 0 and pay.from_pool == second.keeper_bonus
    assert pay.penalties == first.penalty
    assert int(env.fund.available()) == first.penalty


def test_batch_of_nothing_liquidatable_pays_nothing(env):
    vault = env.open(env.alice, size=ETH, margin=400 * USDC)
    env.set_price(env.liquidation_price(vault) + WAD)
    checked = liquidate_batch(env, [vault, vault])
    assert checked.expected.results == ()
    assert checked.receipt.decode_logs(env.pool.KeeperPaid) == []


# ------------------------------------------------------------------ the liquidation boundary


@pytest.mark.parametrize("is_long", [True, False], ids=["long", "short"])
def test_exact_liquidation_price_is_healthy_and_one_wei_beyond_is_not(env, is_long):
    env.set_params(borrow_rate_wad=0)  # the liquidation price does not move with the block time
    vault = env.open(env.alice, is_long=is_long, size=3 * ETH, margin=1_000 * USDC)
    liq = env.liquidation_price(vault)
    assert int(env.market.vault(vault).liquidationPrice()) == liq
    env.set_price(liq)
    assert not env.market.vault(vault).isLiquidatable()
    assert list(env.lens.liquidatable(env.pool, [vault])) == [False]
    with reverts("HealthyPosition", vault=vault, priceWad=liq, liquidationPriceWad=liq):
        env.liquidator.liquidate(vault, sender=env.keeper)
    assert liquidate_batch(env, [vault]).expected.results == ()

    beyond = liq - 1 if is_long else liq + 1
    env.set_price(beyond)
    assert env.market.vault(vault).isLiquidatable()
    assert list(env.lens.liquidatable(env.pool, [vault])) == [True]
    r = liquidate_one(env, vault).result
    assert r.liquidation_price_wad == liq and r.price_wad == beyond


# ------------------------------------------------------------------ the former gaps, fixed


# A 5 USDC floor: the factory allows it where a minimum position at the maintenance line can pay it,
# (MM - penalty) x min notional = (5 % - 0) x 100 USDC. The 120 USDC vaults below are above that minimum;
# at their liquidation price (about 2,368) their notional is 94.7 USDC and their equity 4.74 USDC, below it.
FIVE_USDC_FLOOR = {"keeper_bonus_min": 5 * USDC, "liquidation_penalty_wad": 0, "min_notional": 100 * USDC}


def test_floor_binding_vault_is_liquidated_fully_once_by_a_batch_listing_it_twice(env):
    """The chain does what the model says (see test_floor_binding_partial_never_takes_more_than_
    equity): with a 5 USDC floor, the partial would take more than the 4.74 USDC of equity the
    vault has and leave it bankrupt yet open. Instead one batch listing the vault twice
    liquidates it fully, once: the keeper gets the whole equity, with no bad debt. The pool does not
    top the floor up: beyond the equity, a keeper is paid at most the fees the position was charged
    (0.12 USDC here, less than the equity), so liquidating one's own vault cannot farm the floor."""
    env.set_params(**FIVE_USDC_FLOOR)
    vault = env.open(env.alice, size=ETH // 25, margin=30 * USDC)
    env.set_price(env.liquidation_price(vault) - 1)
    checked = liquidate_batch(env, [vault, vault])
    assert checked.expected.vaults == (vault,)
    (r,) = checked.expected.results
    assert r.full and 5 * USDC > r.equity_before > r.fees > 0
    assert r.keeper_bonus == r.keeper_from_equity == r.equity_before  # L8: never more than the equity
    assert r.penalty == r.owner_credit == r.bad_debt == r.fund_cover == 0
    assert r.keeper_from_fund == r.keeper_from_pool == 0
    pay = checked.expected.payment
    assert pay.paid == pay.from_equity == r.equity_before and pay.unfunded == 0
    assert checked.receipt.decode_logs(env.pool.BadDebtCovered) == []
    assert checked.after.statuses[vault] == 2 and checked.after.margins[vault] == 0


def test_floor_binding_single_liquidation_closes_the_vault(env):
    """The Liquidator's single form on the same vault: a full liquidation, after which the
    vault is closed and cannot be liquidated again."""
    env.set_params(**FIVE_USDC_FLOOR)
    vault = env.open(env.alice, size=ETH // 25, margin=30 * USDC)
    env.set_price(env.liquidation_price(vault) - 1)
    checked = liquidate_one(env, vault)
    r = checked.result
    assert r.full and r.position is None and r.bad_debt == 0
    assert r.keeper_from_equity == r.keeper_bonus == r.equity_before < 5 * USDC
    assert checked.after.statuses[vault] == 2
    assert list(env.lens.liquidatable(env.pool, [vault])) == [False]
    assert liquidate_batch(env, [vault]).expected.results == ()


def test_partial_liquidation_restores_the_target_exactly(env):
    """Where the size's round-up alone left the vault 1.63 units short of the target, the
    slack restores it: e' >= T N' exactly, healthier, not liquidatable."""
    env.set_params(borrow_rate_wad=0)
    vault = env.open(env.bob, is_long=False, size=17_851 * ETH // 1000, margin=17_851 * USDC)
    env.set_price(env.liquidation_price(vault) + 1)
    checked = liquidate_one(env, vault)
    assert not checked.result.full
    assert_partial_restores_the_target(env, checked)
    assert slack(env, checked) >= 0


# ------------------------------------------------------------------ differential


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    is_long=st.booleans(),
    size=st.integers(min_value=ETH // 50, max_value=100 * ETH),
    leverage_tenths=st.integers(min_value=15, max_value=99),  # 1.5x to 9.9x
    elapsed=st.one_of(st.just(0), st.integers(min_value=1, max_value=60 * 24 * 3600)),
    beyond_bp=st.one_of(
        st.just(0),
        st.integers(min_value=1, max_value=20),
        st.integers(min_value=1, max_value=2_000),
    ),
    insurance=st.sampled_from([0, 50 * USDC, 1_000_000 * USDC]),
)
def test_chain_liquidation_equals_model(
    env, chain, is_long, size, leverage_tenths, elapsed, beyond_bp, insurance
):
    """Open, let fees accrue, move the price ``beyond_bp`` past the liquidation price (0: one
    wei) at a pinned block time, liquidate: the chain equals the model to the unit."""
    params = env.model_params()
    entry = int(env.market.price())
    notional = m.notional_up(size, entry, params.scale)
    margin = notional * 10 // leverage_tenths + m.requirement_up(notional, params.open_fee_wad) + 1
    margin = max(margin, params.min_margin)
    # Not chain.isolate(): it swallows exceptions in this ape version.
    snap = chain.snapshot()
    try:
        vault = env.open(env.alice, is_long=is_long, size=size, margin=margin)
        if insurance:
            env.fund_insurance(insurance)
        head = chain.blocks.head.timestamp
        if elapsed:
            chain.mine(timestamp=head + elapsed)
            head = chain.blocks.head.timestamp
        # The liquidation's block time, pinned, and the fee index and liquidation price then.
        position = env.position(vault)
        when = head + 2
        fee_index = int(env.pool.currentFeeIndex()) + params.borrow_rate_wad * (when - head)
        fees = m.position_fees_up(position, fee_index, params.scale)
        liq = m.position_liquidation_price(
            position, fees, params.scale, params.maintenance_margin_wad
        )
        step = liq * beyond_bp // PRICE_STEP
        price = max(1, liq - 1 - step) if is_long else liq + 1 + step
        chain.pending_timestamp = head + 1
        env.set_price(price)
        chain.pending_timestamp = when
        checked = liquidate_one(env, vault, gas=LIQUIDATION_GAS)
        assert checked.receipt.timestamp == when and checked.fee_index == fee_index
        r = checked.result
        assert r.liquidation_price_wad == liq
        if not r.full:  # L2 exactly, the floor binding or not
            assert_partial_restores_the_target(env, checked)
        else:
            assert checked.after.statuses[vault] == 2
    finally:
        chain.restore(snap)
