"""The LPs' marked share price (``MarginPool.totalAssets``) and the worse-of settlement of LP requests,
against the reference model (``ringfence.model.marking``, ``settle_deposit_shares``,
``settle_redeem_assets``), to the unit.

* Differential: random long and short positions opened at random prices, time passing (the fee index)
  and the price moving; after every step ``totalAssets()`` equals the model run on the pool's aggregates
  (``liquidity``, ``openInterest``, ``reserved``, ``currentFeeIndex``, the oracle price) and the private
  ``_feeWeight`` rebuilt from the open positions (``Σ notional_up(size, entry) * fee_base``). LP requests
  made along the way are quoted at the mark of their own block, and settled at the worse of the quote
  and the mark of the settlement's block.
* The clamp at the reserve and the floor at 0, each by a targeted test.
* Realization neutrality: at one price and one block time, a close (below its cap) moves
  ``totalAssets()`` by its close fee within the roundings of ``model.realization_bounds``; a liquidation
  by minus the keeper pay the pool adds (``KeeperPaid.fromPool``) minus the bad debt the LPs bear
  (``BadDebtCovered.borneByLps``), within the same roundings. "Before" and "after" are both read from the
  chain at the same block time: the action's receipt gives its time, the chain is rewound and an empty
  block is mined at that time.

The market is this file's own: a 6-decimal token priced by an 18-decimal MockAggregator (every WAD
price exact), with the default parameters (open and close fees 0.1 %, borrow rate 10 %/year).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ringfence import model
from ringfence.errors import RingfenceError
from ringfence.fuzz.reader import Reader
from ringfence.chain.rpc import Node
from ringfence.sdk import Market, MarketParams, deploy_oracle
from tests.conftest import ETH, USDC, sync_clock

WAD = 10**18
LP_FUNDS = 1_000_000 * USDC
TRADER_FUNDS = 10_000_000 * USDC
MAX_PRICE_AGE = 2 * 24 * 3600  # the factory's bound; every jump in time is followed by a new round
START = 3000 * WAD
EXAMPLES = settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))


@dataclass
class Env:
    market: Market
    pool: Any
    token: Any
    feed: Any
    owner: Any
    lp: Any
    traders: list[Any]
    keeper: Any
    params: MarketParams
    reader: Reader
    vaults: list[str] = field(default_factory=list)

    @property
    def scale(self) -> int:
        return 10**30

    def set_price(self, price_wad: int) -> Any:
        return self.feed.setAnswer(price_wad, sender=self.owner)

    def open(self, trader: int, nonce: int, *, is_long: bool, size: int, margin: int) -> str:
        vault = self.market.open(self.traders[trader], is_long=is_long, size=size, margin=margin,
                                 nonce=nonce, approve=False)
        if vault not in self.vaults:
            self.vaults.append(vault)
        return vault

    def owner_of(self, vault: str) -> Any:
        owner = str(self.pool.position(vault).owner)
        return next(t for t in self.traders if str(t.address) == owner)


@pytest.fixture(scope="session")
def env(project, chain, owner, protocol, lp, alice, bob, mallory, keeper) -> Env:
    sync_clock(chain)
    token = owner.deploy(project.MockERC20, "Mark USD", "MUSD", 6)
    feed = owner.deploy(project.MockAggregator, 18, START)
    oracle = deploy_oracle(owner, feed, max_age=MAX_PRICE_AGE)
    params = MarketParams.default(6)
    market = protocol.create_market(owner, asset=token, oracle=oracle, params=params,
                                    name="Ringfence mark LP", symbol="rfMRK")
    token.mint(lp, 3 * LP_FUNDS, sender=owner)
    token.approve(market.pool, 2**256 - 1, sender=lp)
    market.deposit(lp, LP_FUNDS, approve=False)
    traders = [alice, bob, mallory]
    for trader in traders:
        token.mint(trader, TRADER_FUNDS, sender=owner)
        token.approve(market.pool, 2**256 - 1, sender=trader)
    # The pool's books in one eth_call (the test-only FuzzReader: getters only, totalAssets() included)
    reader = Reader(Node.connect(chain.provider), str(owner.deploy(project.FuzzReader).address),
                    token=str(token.address), lens=str(protocol.lens.address),
                    liquidator=str(protocol.liquidator.address), lps=[str(lp.address)],
                    holders=[str(lp.address)], pools=[market.address], scales=[10**30])
    return Env(market, market.pool, token, feed, owner, lp, traders, keeper, params, reader)


@pytest.fixture(autouse=True)
def _fresh(env: Env) -> None:
    env.vaults.clear()  # the chain is reverted after each test, the vaults with it


@pytest.fixture
def rewind(chain):
    """Each hypothesis example starts from the test's state (not chain.isolate(): it swallows failures)."""

    class Rewind:
        def __enter__(self):
            self.snapshot = chain.snapshot()
            return self

        def __exit__(self, *exc):
            chain.restore(self.snapshot)
            sync_clock(chain)
            return False

    return Rewind


# ------------------------------------------------------------------ the pool's books and their mark


@dataclass(frozen=True)
class Book:
    """What ``_markedAssets`` reads, at the head block (views called at "latest" run at its time)."""

    timestamp: int
    liquidity: int
    longs: tuple[int, int]
    shorts: tuple[int, int]
    reserved: int
    fee_index: int
    weight: int
    price: int
    supply: int
    total_assets: int  # the contract's totalAssets() at the head
    rate: int
    scale: int
    entry_notionals: int  # Σ notional_up(size, entry) over the open positions

    def mark(self, at: int | None = None, price: int | None = None) -> model.Marking:
        """The model's mark of these books at block time ``at`` (default: the head's), at ``price``."""
        index = self.fee_index + self.rate * ((self.timestamp if at is None else at) - self.timestamp)
        return model.marking(self.liquidity, self.longs, self.shorts, index, self.weight, self.reserved,
                             self.price if price is None else price, self.scale)

    def share_price(self, at: int | None = None) -> Fraction:
        return model.share_price(self.mark(at).total_assets, self.supply)


def read_book(env: Env, chain) -> Book:
    """The books at the head, read in one call; the fee weight rebuilt from the open positions."""
    snap, _ = env.reader.read([list(env.vaults)], probe=False)
    m = snap.markets[0]
    positions = [model.Position(size=v.size, entry_price_wad=v.entry_price_wad, margin=v.margin, max_profit=v.max_profit,
                                fee_base_wad=v.fee_base_wad, is_long=v.is_long)
                 for v in snap.vaults.values() if v.status == 1]
    assert snap.timestamp == chain.blocks.head.timestamp and m.total_assets is not None
    return Book(
        timestamp=snap.timestamp, liquidity=m.liquidity, longs=m.open_interest[0], shorts=m.open_interest[1],
        reserved=m.reserved, fee_index=m.fee_index, weight=model.fee_weight(positions, env.scale), price=m.price,
        supply=m.total_supply, total_assets=m.total_assets, rate=env.params.borrow_rate_wad, scale=env.scale,
        entry_notionals=sum(model.entry_notional_up(p, env.scale) for p in positions),
    )


def assert_marked(env: Env, chain) -> Book:
    """``totalAssets()`` == the model, to the unit; returns the books."""
    book = read_book(env, chain)
    marking = book.mark()
    assert book.total_assets == marking.total_assets, (book, marking)
    # the open interest's entry notionals are the positions' rounded-up ones (the weight's base)
    assert book.longs[1] + book.shorts[1] == book.entry_notionals
    return book


def same_time_change(env: Env, chain, act) -> tuple[int, int, Any, Book]:
    """(totalAssets before, after, receipt, books before) of ``act()``, both marks read at the action's
    block time:
    the action runs and the mark after is read; then the chain is rewound, an empty block is mined at
    the action's time and the mark before is read there (no other state changes). Then the chain is left
    in the state before the action."""
    snapshot = chain.snapshot()
    receipt = act()
    after = int(env.pool.totalAssets())
    assert chain.blocks.head.timestamp == receipt.timestamp
    chain.restore(snapshot)
    chain.mine(timestamp=receipt.timestamp)
    before = int(env.pool.totalAssets())
    # the books before, at that time, are also the model's (the clamp is known)
    book = assert_marked(env, chain)
    sync_clock(chain)
    return before, after, receipt, book


# ------------------------------------------------------------------ differential


OPEN = st.tuples(
    st.integers(0, 2),  # trader
    st.booleans(),  # long
    st.integers(10, 1_000),  # size, centi-units (0.1 to 10)
    st.integers(12, 95),  # leverage, tenths
    st.integers(-1_500, 1_500),  # price move before the open, basis points
    st.integers(1, 30 * 24 * 3600),  # seconds passing after it
    st.integers(0, 10**6),  # wei of noise on the price
)


@EXAMPLES
@given(opens=st.lists(OPEN, min_size=1, max_size=4), final_bp=st.integers(-4_000, 4_000),
       final_elapsed=st.integers(1, 365 * 24 * 3600), lp_assets=st.integers(1, 200_000))
def test_total_assets_equal_the_model(env, chain, rewind, opens, final_bp, final_elapsed, lp_assets):
    with rewind():
        env.vaults.clear()
        price = START
        assert_marked(env, chain)
        for i, (trader, is_long, size_centi, lev_tenths, move_bp, elapsed, dust) in enumerate(opens):
            price = max(WAD, price * (10_000 + move_bp) // 10_000 + dust)
            env.set_price(price)
            if i:
                assert_marked(env, chain)  # time passed (the fee index) and the price moved
            size = size_centi * ETH // 100
            notional = model.notional_up(size, price, env.scale)
            margin = notional * 10 // lev_tenths + model.notional_ratio_up(
                size, price, env.params.open_fee_wad, env.scale) + 1
            try:
                env.open(trader, i, is_long=is_long, size=size, margin=margin)
            except RingfenceError as exc:  # the pool's own refusals (caps, liquidity): not this test's
                assert exc.name in {"InsufficientLiquidity", "NotionalBelowMinimum", "PositionAlreadyOpen"}, exc
            assert_marked(env, chain)
            chain.mine(timestamp=chain.blocks.head.timestamp + elapsed)  # elapsed >= 1: the next round follows
        # An LP request is quoted at the mark of its block, settled at the worse of that and the mark of
        # the settlement's block (a later oracle round, at another price, much later).
        env.set_price(price)
        book = assert_marked(env, chain)
        receipt = env.pool.requestDeposit(lp_assets * USDC, env.lp, sender=env.lp)
        quote = int(receipt.decode_logs(env.pool.DepositRequested)[0].quoteShares)
        at_request = book.mark(at=receipt.timestamp).total_assets
        assert quote == model.convert_to_shares(lp_assets * USDC, at_request, book.supply)
        chain.mine(timestamp=chain.blocks.head.timestamp + final_elapsed)
        env.set_price(max(WAD, price * (10_000 + final_bp) // 10_000))
        book = assert_marked(env, chain)
        receipt = env.pool.settleDeposit(env.lp, sender=env.keeper)
        shares = int(receipt.decode_logs(env.pool.DepositSettled)[0].shares)
        at_settlement = book.mark(at=receipt.timestamp).total_assets
        expected = model.settle_deposit_shares(lp_assets * USDC, quote, at_settlement, book.supply)
        assert shares == expected
        assert shares <= quote and shares * book.share_price(receipt.timestamp) <= lp_assets * USDC
        after = assert_marked(env, chain)  # the settlement added its assets to the liquidity and the mark
        assert after.total_assets == at_settlement + lp_assets * USDC == int(env.pool.totalAssets())


@settings(max_examples=300, deadline=None)
@given(liquidity=st.integers(0, 10**15), long_size=st.integers(0, 10**24), short_size=st.integers(0, 10**24),
       long_entry=st.integers(10**18, 10**23), short_entry=st.integers(10**18, 10**23),
       price=st.integers(1, 10**23), fee_gap=st.integers(0, 10**17), reserve_bp=st.integers(0, 50_000))
def test_the_mark_rounds_against_the_lps_by_less_than_three_units(
        liquidity, long_size, short_size, long_entry, short_entry, price, fee_gap, reserve_bp):
    """The model alone, against exact rationals: the mark is never above ``max(0, L - min(G, R))`` with the
    traders' exact gain ``G`` (sides' PnL at the price, minus the exact fees owed), and less than three
    units below it (long value rounded up, short value down, fees owed down: each less than one unit)."""
    scale = 10**30
    longs = (long_size, model.notional_up(long_size, long_entry, scale))
    shorts = (short_size, model.notional_up(short_size, short_entry, scale))
    index = WAD + 10**16 + fee_gap
    weight = (longs[1] + shorts[1]) * (WAD + 10**16)  # every position's fee base 1.01 (index - base = gap)
    reserved = (longs[1] + shorts[1]) * reserve_bp // 10_000
    marking = model.marking(liquidity, longs, shorts, index, weight, reserved, price, scale)
    gain = (Fraction(long_size * price, scale) - longs[1] + shorts[1] - Fraction(short_size * price, scale)
            - Fraction(index * (longs[1] + shorts[1]) - weight, WAD))
    exact = liquidity - min(gain, reserved)
    assert marking.total_assets <= max(exact, 0)
    assert marking.total_assets > exact - 3
    assert marking.trader_gain >= gain > marking.trader_gain - 3


# ------------------------------------------------------------------ clamp and floor


def test_trader_gain_is_clamped_at_the_reserve(env, chain):
    """One long, its profit cap 5 x 400 = 2,000: just below the cap-sized gain the mark is
    ``liquidity - gain`` (fees owed included); past it, ``liquidity - reserved``, whatever the price. Closing
    the capped winner then raises the mark by exactly the fees it is charged (the clamp also hid them)."""
    vault = env.open(0, 0, is_long=True, size=ETH, margin=400 * USDC)
    cap = int(env.pool.position(vault).maxProfit)
    assert cap == 2_000 * USDC and int(env.pool.reserved()) == cap
    chain.mine(timestamp=chain.blocks.head.timestamp + 30 * 24 * 3600)
    env.set_price(4_990 * WAD)  # gain 1,990 minus ~27 of fees: below the reserve
    book = assert_marked(env, chain)
    below = book.mark()
    assert not below.clamped and below.fees_owed > 0
    assert book.total_assets == book.liquidity - below.trader_gain > book.liquidity - book.reserved
    for price in (5_030, 6_000, 50_000):  # gain above the reserve: the mark stops at it
        env.set_price(price * WAD)
        book = assert_marked(env, chain)
        assert book.mark().clamped
        assert book.total_assets == book.liquidity - book.reserved
    before = book.total_assets
    receipt = env.pool.closePosition(vault, env.traders[0], 0, sender=env.traders[0])
    closed = receipt.decode_logs(env.pool.PositionClosed)[0]
    assert int(closed.payout) == 400 * USDC + cap - int(closed.fees)
    after = assert_marked(env, chain)
    assert after.total_assets - before == int(closed.fees)  # the clamp's value does not depend on time


def test_mark_reaches_zero_at_the_clamp_and_the_floor_is_the_model_s_only(env, chain):
    """Five positions reserving exactly the pool's liquidity (5 x 200,000 = 1,000,000): free liquidity 0.
    When their gain passes the reserve the mark is ``liquidity - reserved`` = 0: the boundary of the floor.
    Below it (the ``max(0, ·)`` branch) the pool cannot go: every path keeps ``liquidity >= reserved`` (the
    fuzz's solvency invariant), so ``liquidity - min(gain, reserved) >= 0``; the model's floor is shown on
    books the pool cannot reach."""
    for i in range(5):
        env.open(i % 3, i, is_long=True, size=20 * ETH, margin=40_000 * USDC)
    book = assert_marked(env, chain)
    assert book.reserved == book.liquidity == LP_FUNDS and int(env.pool.freeLiquidity()) == 0
    env.set_price(15_000 * WAD)
    book = assert_marked(env, chain)
    marking = book.mark()
    assert marking.clamped and not marking.floored
    assert book.total_assets == 0
    # one reserve unit less liquidity (unreachable on chain): the floor holds the mark at 0
    floored = model.marking(book.liquidity - 1, book.longs, book.shorts, book.fee_index, book.weight,
                            book.reserved, book.price, book.scale)
    assert floored.floored and floored.total_assets == 0
    # and the floor is what keeps it there (the unfloored value would be -1)
    assert floored.liquidity - min(floored.trader_gain, floored.reserved) == -1


# ------------------------------------------------------------------ realization neutrality


def _kappa(env: Env, size: int, price: int) -> Fraction:
    return Fraction(size * price * env.params.close_fee_wad, env.scale * WAD)


@EXAMPLES
@given(is_long=st.booleans(), size_centi=st.integers(5, 2_000), lev_tenths=st.integers(12, 90),
       move_bp=st.integers(-600, 1_500), elapsed=st.integers(1, 60 * 24 * 3600),
       other_long=st.booleans(), dust=st.integers(0, 10**12))
def test_closing_below_the_cap_moves_the_mark_by_its_close_fee_and_the_lps_bad_debt_only(
        env, chain, rewind, is_long, size_centi, lev_tenths, move_bp, elapsed, other_long, dust):
    """Bound (``model.realization_bounds``): ``-3 - ε < ΔtotalAssets - κ < 5`` with ``κ`` the exact close
    fee and ``ε = (index - fee base) / WAD`` (well below 1 here): the close fee is the one thing a close
    adds to the LPs' value that was not already in the mark; a bankrupt close also takes off the bad debt
    the LPs bear (its loss beyond the margin was in the mark)."""
    with rewind():
        env.vaults.clear()
        size = size_centi * ETH // 100
        notional = model.notional_up(size, START, env.scale)
        margin = notional * 10 // lev_tenths + notional // 500
        env.open(1, 0, is_long=other_long, size=3 * ETH, margin=2_000 * USDC)  # another position stays
        vault = env.open(0, 0, is_long=is_long, size=size, margin=margin)
        chain.mine(timestamp=chain.blocks.head.timestamp + elapsed)
        price = START * (10_000 + (move_bp if is_long else -move_bp)) // 10_000 + dust
        env.set_price(price)
        position = model.Position.from_chain(env.pool.position(vault))
        uncapped = model.pnl_down(is_long, size, position.entry_price_wad, price, env.scale, 2**128 - 1)
        assume(uncapped <= position.max_profit)

        def close():
            return env.pool.closePosition(vault, env.traders[0], 0, sender=env.traders[0])

        before, after, receipt, book = same_time_change(env, chain, close)
        assume(not book.mark().clamped)  # `book` is at the close's block time
        closed = receipt.decode_logs(env.pool.PositionClosed)[0]
        borne = sum(int(e.borneByLps) for e in receipt.decode_logs(env.pool.BadDebtCovered))
        assert borne == int(closed.badDebt)  # this market's insurance fund is empty
        lo, hi = model.realization_bounds([book.fee_index - position.fee_base_wad])
        change = after - before - _kappa(env, size, price) + borne
        assert lo < change < hi, (before, after, change)


def _past_liquidation(env: Env, vault: str, beyond_bp: int) -> int:
    """A price ``beyond_bp`` past the vault's liquidation price (at the next block's fee index)."""
    liq = int(env.market.vault(vault).liquidationPrice())
    long = env.pool.position(vault).isLong
    price = liq * (10_000 - beyond_bp) // 10_000 - 10**9 if long else liq * (10_000 + beyond_bp) // 10_000 + 10**9
    env.set_price(price)
    return price


@pytest.mark.parametrize("is_long", [True, False], ids=["long", "short"])
@pytest.mark.parametrize("case", ["full_with_equity", "partial", "bankrupt"])
def test_a_liquidation_moves_the_mark_by_the_pool_s_keeper_pay_and_the_lps_bad_debt(env, chain, is_long, case):
    """``ΔtotalAssets = -KeeperPaid.fromPool - BadDebtCovered.borneByLps`` within the roundings of
    ``model.realization_bounds`` (no close fee on a liquidation): what the liquidated trader loses was in
    the mark already, what the pool pays beyond the trader's equity was not. The insurance fund is empty
    (this market's own), so a bankrupt vault's keeper floor comes from the pool."""
    env.open(1, 0, is_long=not is_long, size=2 * ETH, margin=1_000 * USDC)  # another position stays
    if case == "partial":  # large: a partial liquidation leaves a position above the minimums
        vault = env.open(0, 0, is_long=is_long, size=200 * ETH, margin=61_000 * USDC)
    elif case == "full_with_equity":  # small: what would remain is below the minimum margin
        vault = env.open(0, 0, is_long=is_long, size=2 * ETH // 100, margin=20 * USDC)
    else:
        vault = env.open(0, 0, is_long=is_long, size=ETH, margin=310 * USDC)
    chain.mine(timestamp=chain.blocks.head.timestamp + 3 * 24 * 3600)
    env.set_price(START)
    price = _past_liquidation(env, vault, {"full_with_equity": 0, "partial": 0, "bankrupt": 1_500}[case])
    position = model.Position.from_chain(env.pool.position(vault))

    def liquidate():
        return env.market.pool.liquidate([vault], env.keeper, True, sender=env.keeper)

    before, after, receipt, book = same_time_change(env, chain, liquidate)
    assert not book.mark(at=receipt.timestamp).clamped
    [event] = receipt.decode_logs(env.pool.Liquidated)
    assert bool(event.full) == (case != "partial")
    paid = receipt.decode_logs(env.pool.KeeperPaid)
    from_pool = int(paid[0].fromPool) if paid else 0
    borne = sum(int(e.borneByLps) for e in receipt.decode_logs(env.pool.BadDebtCovered))
    if case == "bankrupt":
        assert int(event.badDebt) > 0 and borne == int(event.badDebt) and from_pool > 0
    else:
        assert borne == 0 and from_pool == 0
    assert book.timestamp == receipt.timestamp
    lo, hi = model.realization_bounds([book.fee_index - position.fee_base_wad])
    change = after - before + from_pool + borne
    assert lo < change < hi, (case, before, after, from_pool, borne)
    assert price > 0


# ------------------------------------------------------------------ worse-of settlements


@pytest.mark.parametrize("lps_gain", [True, False], ids=["price-moves-for-lps", "price-moves-against-lps"])
def test_requests_settle_at_the_worse_of_quote_and_settlement_mark(env, chain, lps_gain):
    """A deposit and a redemption requested in one block, an oracle round at another price, both settled:
    the deposit gets the fewer shares, the redemption the fewer assets, of the request's and the
    settlement's marks (model), to the unit. The traders are long: a price fall is the LPs' gain."""
    env.open(0, 0, is_long=True, size=50 * ETH, margin=20_000 * USDC)
    env.open(1, 0, is_long=True, size=20 * ETH, margin=8_000 * USDC)
    lp_shares = int(env.pool.balanceOf(env.lp))
    book = read_book(env, chain)
    receipt = env.pool.requestRedeem(lp_shares // 10, env.lp, env.lp, sender=env.lp)
    quote_assets = int(receipt.decode_logs(env.pool.RedeemRequested)[0].quoteAssets)
    assert quote_assets == model.convert_to_assets(lp_shares // 10, book.mark(at=receipt.timestamp).total_assets,
                                                   book.supply)
    book = read_book(env, chain)
    deposit = 100_000 * USDC
    receipt = env.pool.requestDeposit(deposit, env.traders[2], sender=env.lp)  # for another controller
    quote_shares = int(receipt.decode_logs(env.pool.DepositRequested)[0].quoteShares)
    assert quote_shares == model.convert_to_shares(deposit, book.mark(at=receipt.timestamp).total_assets,
                                                   book.supply)
    # the next round, in a later second (Anvil mines blocks within one second at the same time: a round in
    # the request's second does not count as after it)
    chain.mine(timestamp=chain.blocks.head.timestamp + 1)
    env.set_price((2_900 if lps_gain else 3_100) * WAD)

    book = read_book(env, chain)
    receipt = env.pool.settleDeposit(env.traders[2], sender=env.keeper)
    shares = int(receipt.decode_logs(env.pool.DepositSettled)[0].shares)
    marked = book.mark(at=receipt.timestamp).total_assets
    fair = model.convert_to_shares(deposit, marked, book.supply)
    assert shares == model.settle_deposit_shares(deposit, quote_shares, marked, book.supply) == min(quote_shares, fair)
    assert (shares < quote_shares) == lps_gain  # LPs' gain: the later, dearer price; else the quote
    assert int(env.pool.balanceOf(env.traders[2])) == shares

    book = read_book(env, chain)
    balance = int(env.token.balanceOf(env.lp))
    receipt = env.pool.settleRedeem(env.lp, sender=env.keeper)
    assets = int(receipt.decode_logs(env.pool.RedeemSettled)[0].assets)
    marked = book.mark(at=receipt.timestamp).total_assets
    fair = model.convert_to_assets(lp_shares // 10, marked, book.supply)
    assert assets == model.settle_redeem_assets(lp_shares // 10, quote_assets, marked, book.supply)
    assert assets == (quote_assets if lps_gain else fair) and (fair > quote_assets) == lps_gain
    assert int(env.token.balanceOf(env.lp)) - balance == assets
    assert_marked(env, chain)
