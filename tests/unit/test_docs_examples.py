"""The numbers in the docs, recomputed: pure Python, no chain.

* ``docs/maths.md``: every worked example is a fenced block after a ``<!-- example: <name> -->``
  marker, one ``key = value`` per line (anything after the value is a comment). Each block is
  recomputed here through :mod:`ringfence.model` (the exact mirror of ``MarginMath.sol`` and
  ``MarginPool``), and the doc must hold exactly the keys computed, with exactly these values.
* ``docs/risk-parameters.md``: the two example parameter sets are complete markets files in
  fenced ``yaml`` blocks after ``<!-- params: <name> -->`` markers. Each is loaded with
  :func:`ringfence.deploy.load_markets` (the deploy script's own parser and unit conversion) and
  held to ``PoolFactory.checkParams`` and ``createPool``'s oracle-age bound, read explicitly below
  (there is no Python mirror of the bounds: the deploy script asks the factory on chain). The
  constants are checked against ``contracts/PoolFactory.sol`` so that a change there fails here.

Run: ``pytest tests/unit/test_docs_examples.py -p no:cacheprovider``; print the computed blocks with
``python -m tests.unit.test_docs_examples`` when an example is changed on purpose.
"""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from ringfence import model as m
from ringfence.model import WAD
from ringfence.sdk import MarketParams

ROOT = Path(__file__).resolve().parents[2]
MATHS = ROOT / "docs" / "maths.md"
RISK = ROOT / "docs" / "risk-parameters.md"
FACTORY_SOL = ROOT / "contracts" / "PoolFactory.sol"

USDC_DECIMALS = 6
USDC = 10**USDC_DECIMALS
ETH = 10**18
DAY = 24 * 3600
YEAR = 365 * DAY
SHARE_DECIMALS = USDC_DECIMALS + 6  # MarginPool._decimalsOffset() == 6

# ------------------------------------------------------------------ formatting (exact decimals)


def amount(units: int, decimals: int = USDC_DECIMALS) -> str:
    """An integer of ``decimals`` decimals as an exact decimal string, trailing zeros dropped."""
    text = f"{Decimal(units).scaleb(-decimals):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def wad(value: int) -> str:
    return amount(value, 18)


def flag(value: bool) -> str:
    return "true" if value else "false"


# ------------------------------------------------------------------ the examples


def eth_usdc_params() -> m.MarketParams:
    """The ETH/USD market of ``markets/local.yaml`` (= ``MarketParams.default(6)`` of the SDK)."""
    return MarketParams.default(USDC_DECIMALS).with_(asset_decimals=USDC_DECIMALS)


def max_removable(p: m.MarketParams, pos: m.Position, price: int, index: int) -> int:
    """The most ``remove_margin`` lets out now (the IM test's surplus, within the minimum margin),
    checked against the model: that amount passes and one unit more fails."""
    fees = m.position_fees_up(pos, index, p.scale)
    available, required = m.initial_margin_test(pos, price, fees, p.scale, p.initial_margin_wad)
    most = min(available - required, pos.margin - p.min_margin)
    assert most > 0
    m.remove_margin(p, pos, most, price, index)
    with pytest.raises(m.InsufficientMargin):
        m.remove_margin(p, pos, most + 1, price, index)
    return most


def compute_examples() -> dict[str, dict[str, str]]:
    """Every worked example of docs/maths.md, by marker name, as the doc prints it."""
    p = eth_usdc_params()
    scale = p.scale
    mm = p.maintenance_margin_wad
    out: dict[str, dict[str, str]] = {}

    # 1. Open a 10x long: 1 ETH at 3,000 USDC with 310 USDC of margin, in a fresh pool.
    size, entry, margin = 1 * ETH, 3_000 * WAD, 310 * USDC
    index0 = WAD
    opened = m.open_position(
        p, is_long=True, size=size, price_wad=entry, margin=margin, fee_index_wad=index0,
        open_interest=0, free_liquidity=100_000 * USDC,
    )
    pos = opened.position
    fees0 = m.position_fees_up(pos, index0, scale)
    out["open"] = {
        "notional": amount(opened.entry_notional),
        "open_fee": amount(opened.open_fee),
        "im_required": amount(m.notional_ratio_up(size, entry, p.initial_margin_wad, scale)),
        "margin_after_open_fee": amount(margin - opened.open_fee),
        "max_profit": amount(opened.max_profit),
        "fee_base": wad(pos.fee_base_wad),
        "fees_owed": amount(fees0),
        "equity": amount(m.equity_down(pos, entry, fees0, scale)),
        "health": wad(m.health_down(pos, entry, fees0, scale, mm)),
        "liquidation_price": wad(m.position_liquidation_price(pos, fees0, scale, mm)),
        "bankruptcy_price": wad(m.bankruptcy_price(True, size, entry, margin, fees0, scale)),
        "max_removable": amount(max_removable(p, pos, entry, index0)),
    }

    # 2. Thirty days later at the same price: the borrow fee has accrued.
    index30 = m.fee_index_at(p.borrow_rate_wad, 30 * DAY, index0)
    fees30 = m.position_fees_up(pos, index30, scale)
    out["accrue"] = {
        "borrow_rate_per_second": wad(p.borrow_rate_wad),
        "fee_index": wad(index30),
        "fees_owed": amount(fees30),
        "borrow_fee": amount(fees30 - fees0),
        "equity": amount(m.equity_down(pos, entry, fees30, scale)),
        "health": wad(m.health_down(pos, entry, fees30, scale, mm)),
        "liquidation_price": wad(m.position_liquidation_price(pos, fees30, scale, mm)),
        "bankruptcy_price": wad(m.bankruptcy_price(True, size, entry, margin, fees30, scale)),
    }

    # 2b. What closing at 3,300 on day 30 would pay (not done in the story that follows).
    up = 3_300 * WAD
    closing = m.close_position(p, pos, up, index30, insurance_fund=0)
    out["close"] = {
        "pnl": amount(m.pnl_down(True, size, entry, up, scale, pos.max_profit)),
        "fees_owed": amount(fees30),
        "close_fee": amount(m.notional_ratio_up(size, up, p.close_fee_wad, scale)),
        "charged": amount(m.closing_fees_up(pos, index30, up, p.close_fee_wad, scale)),
        "payout": amount(closing.payout),
        "from_vault": amount(closing.vault_to_owner),
        "from_pool": amount(closing.pool_to_owner),
    }

    # 3. Day 30, the price falls to 2,850: partial liquidation.
    down = 2_850 * WAD
    liq30 = m.position_liquidation_price(pos, fees30, scale, mm)
    e = m.equity_down(pos, down, fees30, scale)
    n = m.notional_up(size, down, scale)
    partial = m.liquidate(p, pos, down, index30, insurance_fund=0, free_liquidity=100_000 * USDC)
    assert not partial.full and partial.position is not None
    rest = partial.position
    rest_notional = m.notional_up(rest.size, down, scale)
    rest_equity = m.equity_down(rest, down, 0, scale)
    exact_phi = Fraction(
        n * p.liquidation_target_wad - e * WAD,
        n * (p.liquidation_target_wad - p.keeper_bonus_wad - p.liquidation_penalty_wad),
    )
    out["partial"] = {
        "liquidatable": flag(m.is_liquidatable(True, down, liq30)),
        "equity_before": amount(e),
        "notional_before": amount(n),
        "mm_required": amount(m.notional_ratio_up(size, down, mm, scale)),
        "health_before": wad(m.health_down(pos, down, fees30, scale, mm)),
        "phi_exact": f"{Decimal(exact_phi.numerator) / Decimal(exact_phi.denominator):.6f}",
        "closed_size": wad(partial.closed_size),
        "closed_notional": amount(partial.closed_notional),
        "pnl_closed": amount(partial.pnl_closed),
        "fees_settled": amount(partial.fees),
        "keeper_bonus": amount(partial.keeper_bonus),
        "penalty": amount(partial.penalty),
        "margin_after": amount(rest.margin),
        "size_after": wad(rest.size),
        "notional_after": amount(rest_notional),
        "equity_after": amount(rest_equity),
        "target_after": amount(
            m.notional_ratio_up(rest.size, down, p.liquidation_target_wad, scale)
        ),
        "max_profit_after": amount(rest.max_profit),
        "health_after": wad(m.health_down(rest, down, 0, scale, mm)),
        "liquidation_price_after": wad(m.position_liquidation_price(rest, 0, scale, mm)),
        "pool_liquidity_change": amount(partial.liquidity_delta),
    }

    # 4. Still day 30, a crash to 2,400: full liquidation into bad debt; the fund holds 50 USDC.
    crash = 2_400 * WAD
    fund = 50 * USDC
    bad = m.liquidate(p, rest, crash, index30, insurance_fund=fund, free_liquidity=100_000 * USDC)
    assert bad.full and bad.bad_debt > 0
    out["bad_debt"] = {
        "equity_before": amount(bad.equity_before),
        "bankruptcy_price": wad(
            m.bankruptcy_price(True, rest.size, rest.entry_price_wad, rest.margin, 0, scale)
        ),
        "closed_notional": amount(bad.closed_notional),
        "fees_owed": amount(bad.fees),
        "bonus_at_rate": amount(m.keeper_bonus(p, bad.closed_size, crash)),
        "keeper_bonus": amount(bad.keeper_bonus),
        "keeper_from_equity": amount(bad.keeper_from_equity),
        "keeper_from_fund": amount(bad.keeper_from_fund),
        "keeper_from_pool": amount(bad.keeper_from_pool),
        "penalty": amount(bad.penalty),
        "owner_credit": amount(bad.owner_credit),
        "bad_debt": amount(bad.bad_debt),
        "fund_cover": amount(bad.fund_cover),
        "lp_loss": amount(bad.lp_loss),
        "pool_liquidity_change": amount(bad.liquidity_delta),
    }

    # 5. A small position liquidated fully with equity left: 0.03 ETH long at 3,000 with 12 USDC,
    # at 2,735 the next instant. The rest of the equity is credited to the owner.
    thin = m.open_position(
        p, is_long=True, size=3 * ETH // 100, price_wad=entry, margin=12 * USDC,
        fee_index_wad=index0,
        open_interest=0, free_liquidity=100_000 * USDC,
    ).position
    at = 2_735 * WAD
    full = m.liquidate(p, thin, at, index0, insurance_fund=0, free_liquidity=100_000 * USDC)
    assert full.full and full.owner_credit > 0
    out["full"] = {
        "liquidation_price": wad(full.liquidation_price_wad),
        "equity_before": amount(full.equity_before),
        "notional": amount(full.closed_notional),
        "mm_required": amount(m.notional_ratio_up(full.closed_size, at, mm, scale)),
        "partial_size": wad(m.partial_size(p, thin, at, full.equity_before)),
        "keeper_bonus": amount(full.keeper_bonus),
        "penalty": amount(full.penalty),
        "owner_credit": amount(full.owner_credit),
    }

    # 6. A short: liquidation and bankruptcy prices.
    short = m.open_position(
        p, is_long=False, size=size, price_wad=entry, margin=margin, fee_index_wad=index0,
        open_interest=0, free_liquidity=100_000 * USDC,
    ).position
    short_fees = m.position_fees_up(short, index0, scale)
    out["short"] = {
        "liquidation_price": wad(m.position_liquidation_price(short, short_fees, scale, mm)),
        "bankruptcy_price": wad(m.bankruptcy_price(False, size, entry, margin, short_fees, scale)),
    }

    # 7. The keeper bonus: b * closed size * price within [floor, cap], at 2,500.
    at_2500 = 2_500 * WAD
    out["bonus"] = {
        "on_60": amount(m.keeper_bonus(p, 24 * ETH // 1000, at_2500)),
        "on_50000": amount(m.keeper_bonus(p, 20 * ETH, at_2500)),
        "on_150000": amount(m.keeper_bonus(p, 60 * ETH, at_2500)),
    }

    # 8. LP shares (OpenZeppelin ERC4626 with a 6-decimal offset; totalAssets = the pool's
    # accounted liquidity, which ignores donations).
    offset = 10**6

    def to_shares(assets: int, supply: int, total: int, up: bool = False) -> int:
        return (m.mul_div_up if up else m.mul_div_down)(assets, supply + offset, total + 1)

    def to_assets(shares: int, supply: int, total: int, up: bool = False) -> int:
        return (m.mul_div_up if up else m.mul_div_down)(shares, total + 1, supply + offset)

    first = to_shares(100_000 * USDC, 0, 0)
    supply, total = first, 100_000 * USDC
    total += 60 * USDC  # fees and realized trader losses booked to the pool
    second = to_shares(1_000 * USDC, supply, total)
    supply, total = supply + second, total + 1_000 * USDC
    back = to_assets(second, supply, total)
    # Inflation attempt: 1 unit deposited, 10,000 USDC donated (not counted), then a victim.
    attacker = to_shares(1, 0, 0)
    victim = to_shares(10_000 * USDC, attacker, 1)
    victim_back = to_assets(victim, attacker + victim, 1 + 10_000 * USDC)
    out["shares"] = {
        "first_shares": amount(first, SHARE_DECIMALS),
        "second_shares": amount(second, SHARE_DECIMALS),
        "second_redeems": amount(back),
        "second_withdraw_1000_burns": amount(
            to_shares(1_000 * USDC, supply, total, up=True), SHARE_DECIMALS
        ),
        "attacker_shares": amount(attacker, SHARE_DECIMALS),
        "victim_shares": amount(victim, SHARE_DECIMALS),
        "victim_redeems": amount(victim_back),
    }

    # 9. The profit cap k * min(m, N): 0.02 ETH at 3,000 (60 USDC) with 200,000 USDC of margin;
    # then Alice (example 1) removes the 7 USDC she may: her cap follows her margin down.
    small, big_margin = 2 * ETH // 100, 200_000 * USDC
    capped = m.open_position(
        p, is_long=True, size=small, price_wad=entry, margin=big_margin, fee_index_wad=index0,
        open_interest=0, free_liquidity=100_000 * USDC,
    )
    removed = max_removable(p, pos, entry, index0)
    alice_after = m.remove_margin(p, pos, removed, entry, index0)
    out["profit_cap"] = {
        "notional": amount(capped.entry_notional),
        "margin": amount(big_margin),
        "cap_on_margin": amount(m.mul_div_down(big_margin, p.max_profit_wad, WAD)),
        "cap_on_notional": amount(m.notional_ratio_down(small, entry, p.max_profit_wad, scale)),
        "max_profit": amount(capped.max_profit),
        "alice_removes": amount(removed),
        "alice_margin_after": amount(alice_after.margin),
        "alice_max_profit_after": amount(alice_after.max_profit),
    }

    # 10. One rounding: a large position whose fees, rounded on a rounded-up entry notional,
    # came out one unit above the exact amount rounded up.
    big_size, big_entry, delta = 27960116815150390770, 4590072464640000000000, 20222631276256702
    exact_fee = m.exact_fees(m.exact_notional(big_size, big_entry, scale), WAD + delta, WAD)
    rounded_notional = m.notional_up(big_size, big_entry, scale)
    exact_text = f"{Decimal(exact_fee.numerator) / Decimal(exact_fee.denominator * USDC):.16f}"
    out["rounding"] = {
        "size": wad(big_size),
        "entry_price": wad(big_entry),
        "fee_index_growth": wad(delta),
        "fees_exact": exact_text,
        "fees_owed": amount(m.fees_up(big_size, big_entry, WAD + delta, WAD, scale)),
        "entry_notional_up": amount(rounded_notional),
        "fees_on_rounded_notional": amount(
            m.fees_on_notional_up(rounded_notional, WAD + delta, WAD)
        ),
    }
    # 11. The marked share price, and a flash deposit around a close (docs/known-issues.md §2).
    # Carol holds the pool's 1,000,000; Alice's 100 ETH long opened at 3,000 with 31,000 of margin in the
    # fresh pool; 30 days later the price is 2,760. Mallory asks to deposit 9,000,000 just before Alice's
    # close (a mempool transaction), which realizes her loss; the request settles on the next round.
    big, entry, index_open = 100 * ETH, 3_000 * WAD, WAD
    alice = m.open_position(
        p, is_long=True, size=big, price_wad=entry, margin=31_000 * USDC, fee_index_wad=index_open,
        open_interest=0, free_liquidity=1_000_000 * USDC,
    )
    a_pos = alice.position
    weight = alice.entry_notional * a_pos.fee_base_wad
    index30 = m.fee_index_at(p.borrow_rate_wad, 30 * DAY)
    at_2760 = 2_760 * WAD
    carol_liquidity = 1_000_000 * USDC
    carol_shares = m.convert_to_shares(carol_liquidity, 0, 0)

    def marked(liquidity: int, price: int, open_: bool = True) -> int:
        longs = (big, alice.entry_notional) if open_ else (0, 0)
        return m.marked_assets(liquidity, longs, (0, 0), index30, weight if open_ else 0,
                               alice.max_profit if open_ else 0, price, scale)

    before = marked(carol_liquidity, at_2760)
    quote = m.convert_to_shares(9_000_000 * USDC, before, carol_shares)
    closed = m.close_position(p, a_pos, at_2760, index30, insurance_fund=0)
    liquidity_after = carol_liquidity + closed.pool_net
    after = marked(liquidity_after, at_2760, open_=False)
    settled = m.settle_deposit_shares(9_000_000 * USDC, quote, after, carol_shares)
    supply = carol_shares + settled
    total = after + 9_000_000 * USDC
    mallory_back = m.convert_to_assets(settled, total, supply)
    # The same attack against the old share price (realized liquidity only, instant deposit and redeem).
    old_shares = m.convert_to_shares(9_000_000 * USDC, carol_liquidity, carol_shares)
    old_back = m.convert_to_assets(old_shares, liquidity_after + 9_000_000 * USDC, carol_shares + old_shares)
    # Had the next round been 2,700 (the attacker saw it coming) with Alice still open:
    at_2700 = marked(carol_liquidity, 2_700 * WAD)
    out["lp_marking"] = {
        "fees_owed": amount((index30 * alice.entry_notional - weight) // WAD),
        "marked_assets": amount(before),
        "realized_liquidity": amount(carol_liquidity),
        "quote_shares": amount(quote, SHARE_DECIMALS),
        "close_realizes": amount(closed.pool_net),
        "marked_after_close": amount(after),
        "settled_shares": amount(settled, SHARE_DECIMALS),
        "mallory_redeems": amount(mallory_back),
        "carol_keeps": amount(m.convert_to_assets(carol_shares, total, supply)),
        "old_price_mallory_redeems": amount(old_back),
        "marked_at_2700": amount(at_2700),
        "settled_after_2700": amount(
            m.settle_deposit_shares(9_000_000 * USDC, quote, at_2700, carol_shares), SHARE_DECIMALS
        ),
    }
    return out


# ------------------------------------------------------------------ parsing the docs

_MARKER = re.compile(
    r"<!--\s*(example|params|sizing):\s*([\w-]+)\s*-->\s*\n```[\w-]*\n(.*?)\n```", re.S
)


def doc_blocks(path: Path, kind: str) -> dict[str, str]:
    """The fenced blocks after ``<!-- kind: name -->`` markers, by name (each name once)."""
    blocks: dict[str, str] = {}
    for found_kind, name, body in _MARKER.findall(path.read_text()):
        if found_kind != kind:
            continue
        assert name not in blocks, f"{path.name}: {kind} {name!r} appears twice"
        blocks[name] = body
    return blocks


def parse_values(body: str) -> dict[str, str]:
    """``key = value  anything`` per line; blank lines and ``#`` lines are skipped."""
    values: dict[str, str] = {}
    for line in body.splitlines():
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        key, sep, rest = text.partition("=")
        assert sep, f"not a 'key = value' line: {line!r}"
        key = key.strip()
        assert key not in values, f"key {key!r} given twice"
        values[key] = rest.split()[0].replace(",", "")
    return values


# ------------------------------------------------------------------ docs/maths.md


def test_maths_doc_examples_match_the_model_exactly():
    computed = compute_examples()
    blocks = doc_blocks(MATHS, "example")
    assert set(blocks) == set(computed), "examples in docs/maths.md != examples computed here"
    for name, expected in computed.items():
        written = parse_values(blocks[name])
        assert set(written) == set(expected), f"example {name}: keys differ"
        for key, value in expected.items():
            assert written[key] == value, (
                f"example {name}: {key} = {written[key]}, model says {value}"
            )


def test_maths_doc_partial_liquidation_restores_the_target_and_improves_health():
    """The worked partial liquidation is an honest one (L2): e' >= T*N' exactly, healthier."""
    p = eth_usdc_params()
    pos = m.open_position(
        p, is_long=True, size=ETH, price_wad=3_000 * WAD, margin=310 * USDC, fee_index_wad=WAD,
        open_interest=0, free_liquidity=100_000 * USDC,
    ).position
    index30 = m.fee_index_at(p.borrow_rate_wad, 30 * DAY)
    outcome = m.liquidate(p, pos, 2_850 * WAD, index30, insurance_fund=0, free_liquidity=10**12)
    check = m.exact_partial_liquidation_check(p, pos, outcome)
    assert check.restores_target and check.healthier
    assert outcome.net_flow == 0


# ------------------------------------------------------------------ docs/risk-parameters.md

# PoolFactory.sol constants, read explicitly (name, the literal in the source, its value).
FACTORY_CONSTANTS = {
    "MIN_INITIAL_MARGIN": ("0.01e18", WAD // 100),
    "MAX_FEE": ("0.01e18", WAD // 100),
    "MAX_BORROW_RATE": ("1e18 / uint256(365 days)", WAD // YEAR),
    "MIN_PROFIT_CAP": ("1e18", WAD),
    "MAX_PROFIT_CAP": ("10e18", 10 * WAD),
    "MAX_PRICE_AGE": ("2 days", 2 * DAY),
}
MAX_UINT128 = 2**128 - 1


def check_params(p) -> list[str]:
    """``PoolFactory.checkParams`` (``_checkParams``) read line by line (``_within(name, value, min, max)``): the
    names of the fields out of bounds (empty when the factory would accept them)."""
    c = {k: v for k, (_, v) in FACTORY_CONSTANTS.items()}
    rules = [
        ("initialMarginWad", p.initial_margin_wad, c["MIN_INITIAL_MARGIN"], WAD),
        ("maintenanceMarginWad", p.maintenance_margin_wad, 1, p.initial_margin_wad - 1),
        ("liquidationTargetWad", p.liquidation_target_wad, p.maintenance_margin_wad + 1,
         p.initial_margin_wad),
        ("keeperBonusWad", p.keeper_bonus_wad, 0, p.maintenance_margin_wad),
        ("liquidationPenaltyWad", p.liquidation_penalty_wad, 0,
         p.maintenance_margin_wad - p.keeper_bonus_wad),
        ("openFeeWad", p.open_fee_wad, 0, c["MAX_FEE"]),
        ("closeFeeWad", p.close_fee_wad, 0, c["MAX_FEE"]),
        ("borrowRateWad", p.borrow_rate_wad, 0, c["MAX_BORROW_RATE"]),
        ("maxProfitWad", p.max_profit_wad, c["MIN_PROFIT_CAP"], c["MAX_PROFIT_CAP"]),
        ("minMargin", p.min_margin, 1, MAX_UINT128),
        ("minNotional", p.min_notional, 1, MAX_UINT128),
        ("maxPositionNotional", p.max_position_notional, p.min_notional, MAX_UINT128),
        ("maxOpenInterest", p.max_open_interest, p.max_position_notional, MAX_UINT128),
        ("keeperBonusMin", p.keeper_bonus_min, 0,
         (p.maintenance_margin_wad - p.liquidation_penalty_wad) * p.min_notional // WAD),
        ("keeperBonusMax", p.keeper_bonus_max, p.keeper_bonus_min, MAX_UINT128),
    ]
    # The ratios are uint64 in the struct.
    too_wide = [name for name, value, _, _ in rules[:9] if value >= 2**64]
    return too_wide + [name for name, value, lo, hi in rules if not lo <= value <= hi]


def test_factory_bounds_read_here_match_pool_factory_source():
    source = FACTORY_SOL.read_text()
    for name, (literal, _) in FACTORY_CONSTANTS.items():
        assert re.search(rf"\b{name}\s*=\s*{re.escape(literal)}\s*;", source), (
            f"PoolFactory.sol no longer has {name} = {literal}: update this test and the docs"
        )
    body = source[source.index("function _checkParams("):]
    body = body[:body.index("\n    }\n")]
    assert body.count("_within(") == 15, "PoolFactory.checkParams changed: update check_params"
    assert "(uint256(p.maintenanceMarginWad) - p.liquidationPenaltyWad) * p.minNotional / WAD" in body


def test_check_params_mirror_rejects_each_bound():
    from ringfence.sdk import MarketParams

    good = MarketParams.default(6)
    assert check_params(good) == []
    for change, name in [
        ({"initial_margin_wad": WAD // 100 - 1}, "initialMarginWad"),
        ({"maintenance_margin_wad": WAD // 10}, "maintenanceMarginWad"),
        ({"liquidation_target_wad": WAD // 20}, "liquidationTargetWad"),
        ({"keeper_bonus_wad": WAD // 20 + 1}, "keeperBonusWad"),
        ({"liquidation_penalty_wad": WAD // 25 + 1}, "liquidationPenaltyWad"),
        ({"open_fee_wad": WAD // 100 + 1}, "openFeeWad"),
        ({"borrow_rate_wad": WAD // YEAR + 1}, "borrowRateWad"),
        ({"max_profit_wad": 11 * WAD}, "maxProfitWad"),
        ({"keeper_bonus_min": 2 * USDC + 1}, "keeperBonusMin"),  # (5 % - 1 %) x 50 USDC
        ({"max_open_interest": 10**6}, "maxOpenInterest"),
    ]:
        assert name in check_params(good.with_(**change)), name


@pytest.fixture(scope="module")
def risk_sets(tmp_path_factory) -> dict:
    from ringfence.deploy import load_markets

    blocks = doc_blocks(RISK, "params")
    assert set(blocks) == {"eth", "long-tail"}, sorted(blocks)
    loaded = {}
    for name, body in blocks.items():
        path = tmp_path_factory.mktemp("markets") / f"{name}.yaml"
        path.write_text(body + "\n")
        loaded[name] = load_markets(path)
    return loaded


@pytest.mark.parametrize("name", ["eth", "long-tail"])
def test_risk_doc_example_sets_pass_the_factory_bounds(risk_sets, name):
    spec = risk_sets[name]
    assert spec.markets, name
    for market in spec.markets:
        assert isinstance(market.token, str), "the example sets name real token addresses"
        params = market.market_params(USDC_DECIMALS)
        assert check_params(params) == [], f"{name}/{market.id}: out of bounds"
        assert 0 < market.oracle.max_age <= FACTORY_CONSTANTS["MAX_PRICE_AGE"][1]
        # Implied by the bounds, asserted for the reader: phi's denominator T - b - q is positive.
        rates = params.keeper_bonus_wad + params.liquidation_penalty_wad
        assert params.liquidation_target_wad > rates
        mm_less_penalty = params.maintenance_margin_wad - params.liquidation_penalty_wad
        assert params.keeper_bonus_min <= mm_less_penalty * params.min_notional // 10**18
        # The guide's advice (not a factory bound): a self-liquidation for the floor costs twice it.
        assert params.keeper_bonus_min <= params.min_margin // 2


def _percent(text: str) -> Fraction:
    assert text.endswith("%"), text
    return Fraction(Decimal(text[:-1])) / 100


@pytest.mark.parametrize("name", ["eth", "long-tail"])
def test_risk_doc_sizing_is_computed_right_and_met_by_the_set(risk_sets, name):
    """``MM >= d + k * sigma * sqrt(dt) + b + q`` as printed, and the set's MM meets it."""
    import math

    sizing = parse_values(doc_blocks(RISK, "sizing")[name])
    params = risk_sets[name].markets[0].market_params(USDC_DECIMALS)
    move = float(_percent(sizing["deviation"])) + int(sizing["k"]) * float(
        _percent(sizing["sigma_annual"])
    ) * math.sqrt(int(sizing["delay"]) / YEAR)
    required = move + (params.keeper_bonus_wad + params.liquidation_penalty_wad) / WAD
    assert sizing["price_move"] == f"{move * 100:.2f}%"
    assert sizing["required_mm"] == f"{required * 100:.2f}%"
    assert params.maintenance_margin_wad / WAD >= required


@pytest.mark.parametrize("name", ["eth", "long-tail"])
def test_risk_doc_sets_follow_the_guide_rules(risk_sets, name):
    """The guide's own rules: the bonus floor is covered by the smallest position's equity at its
    liquidation price, the round-trip fee covers the feed's deviation threshold, and the penalty
    is at least the close fee (self-liquidation never beats closing on fees)."""
    params = risk_sets[name].markets[0].market_params(USDC_DECIMALS)
    sizing = parse_values(doc_blocks(RISK, "sizing")[name])
    mm_less_q = params.maintenance_margin_wad - params.liquidation_penalty_wad
    assert params.keeper_bonus_min * WAD <= mm_less_q * params.min_notional
    round_trip = Fraction(params.open_fee_wad + params.close_fee_wad, WAD)
    assert round_trip >= _percent(sizing["deviation"])
    assert params.liquidation_penalty_wad >= params.close_fee_wad


def test_risk_doc_long_tail_set_is_more_conservative_than_eth(risk_sets):
    eth = risk_sets["eth"].markets[0].market_params(USDC_DECIMALS)
    tail = risk_sets["long-tail"].markets[0].market_params(USDC_DECIMALS)
    assert tail.initial_margin_wad > eth.initial_margin_wad
    assert tail.maintenance_margin_wad > eth.maintenance_margin_wad
    assert tail.max_open_interest < eth.max_open_interest
    assert tail.max_profit_wad <= eth.max_profit_wad
    tail_age = risk_sets["long-tail"].markets[0].oracle.max_age
    assert tail_age >= risk_sets["eth"].markets[0].oracle.max_age


if __name__ == "__main__":  # pragma: no cover - prints the blocks to paste into docs/maths.md
    for example, values in compute_examples().items():
        print(f"<!-- example: {example} -->")
        width = max(len(k) for k in values)
        print("```text")
        for key, value in values.items():
            print(f"{key:<{width}} = {value}")
        print("```\n")
