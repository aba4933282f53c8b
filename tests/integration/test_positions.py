"""Trader lifecycle on one market: open, add margin, remove margin, close; vault custody and isolation.
Security ids (tests/PROPERTIES.md) are named in the docstrings."""

from __future__ import annotations

import ape
import pytest
from ape.exceptions import ContractLogicError
from ape.utils import ZERO_ADDRESS
from eth_utils import keccak

from ringfence.abi import at
from ringfence.errors import RingfenceError, error_class
from ringfence.market_reads import predict_vault_address
from tests.conftest import ETH, START_PRICE, USDC, apply_params, lp_exit, reverts

WAD = 10**18


def _balances(usdc, *holders) -> list[int]:
    return [int(usdc.balanceOf(h)) for h in holders]


def test_open_from_nothing_creates_vault_at_predicted_address(market, pool, alice, usdc, params):
    """C3: the vault appears at the address predicted from owner and nonce, in the opening transaction."""
    predicted = market.vault_address(alice, 7)
    assert len(ape.chain.provider.get_code(predicted)) == 0
    vault = market.open(alice, is_long=True, size=ETH, margin=400 * USDC, nonce=7)
    assert vault == predicted
    assert len(ape.chain.provider.get_code(vault)) > 0
    assert market.vault(vault).owner() == alice
    assert usdc.balanceOf(vault) == 400 * USDC
    p = market.position(vault)
    assert (p.size, p.entry_price_wad, p.margin, p.is_long, p.is_open) == (
        ETH, START_PRICE * WAD, 400 * USDC, True, True)
    assert p.max_profit == 400 * USDC * params.max_profit_wad // WAD
    assert pool.reserved() == p.max_profit
    assert pool.openInterest(True) == (ETH, START_PRICE * USDC)


def test_open_other_owner_same_nonce_gets_other_vault(market, alice, bob):
    """C3: a vault's address depends on its owner; nobody can take or pre-empt another's vault."""
    assert market.vault_address(alice, 0) != market.vault_address(bob, 0)
    a = market.open(alice, is_long=True, size=ETH, margin=400 * USDC)
    b = market.open(bob, is_long=False, size=ETH, margin=400 * USDC)
    assert market.vault(a).owner() == alice and market.vault(b).owner() == bob


def test_open_twice_same_nonce_reverts_with_PositionAlreadyOpen(market, pool, alice, open_vault):
    vault = open_vault()
    with reverts("PositionAlreadyOpen", vault=vault):
        pool.openPosition(0, True, ETH, 400 * USDC, 0, sender=alice)


def test_open_excessive_leverage_reverts_with_LeverageTooHigh(market, alice, params):
    notional = START_PRICE * USDC  # 1 ETH at 3000
    open_fee = -(-notional * params.open_fee_wad // WAD)
    required = -(-notional * params.initial_margin_wad // WAD)
    margin = required + open_fee - 1
    with pytest.raises(error_class("LeverageTooHigh")) as exc:
        market.open(alice, is_long=True, size=ETH, margin=margin)
    assert exc.value.inputs == {"available": margin - open_fee, "required": required}
    # One unit more margin is exactly enough.
    market.open(alice, is_long=True, size=ETH, margin=margin + 1)


@pytest.mark.parametrize(
    ("size", "margin", "error"),
    [
        (0, 300 * USDC, "ZeroSize"),
        (ETH, 10 * USDC - 1, "MarginBelowMinimum"),
        (ETH // 100, 20 * USDC, "NotionalBelowMinimum"),  # 30 USDC of notional < 50
        (400 * ETH, 200_000 * USDC, "PositionTooLarge"),  # 1.2M > 1M
    ],
)
def test_open_dust_or_oversized_reverts_with_named_error(market, alice, usdc, size, margin, error):
    """A4 / M1: dust and oversized positions are refused by name, and nothing moves."""
    before = _balances(usdc, alice, market.pool)
    with pytest.raises(error_class(error)):
        market.open(alice, is_long=True, size=size, margin=margin)
    assert _balances(usdc, alice, market.pool) == before


def test_open_beyond_open_interest_cap_reverts_with_OpenInterestCapExceeded(
    protocol, owner, market, alice, bob, params
):
    """M1: the per-side open-interest cap holds."""
    small = params.with_(max_open_interest=5_000 * USDC, max_position_notional=5_000 * USDC)
    apply_params(protocol, market.pool, small, owner)
    market.open(alice, is_long=True, size=ETH, margin=400 * USDC)
    with pytest.raises(error_class("OpenInterestCapExceeded")) as exc:
        market.open(bob, is_long=True, size=ETH, margin=400 * USDC)
    assert exc.value.inputs == {"openInterest": 6_000 * USDC, "cap": 5_000 * USDC}
    market.open(bob, is_long=False, size=ETH, margin=400 * USDC)  # the other side has room


def test_open_without_free_liquidity_reverts_with_InsufficientLiquidity(market, pool, lp, alice):
    """M1: a position opens only if the pool can reserve its maximum payout."""
    free = int(pool.freeLiquidity())
    leaving = free - 1_000 * USDC
    assert lp_exit(market, lp, int(pool.convertToShares(leaving))) == leaving
    assert int(pool.freeLiquidity()) == 1_000 * USDC
    with pytest.raises(error_class("InsufficientLiquidity")) as exc:
        market.open(alice, is_long=True, size=ETH, margin=400 * USDC)  # reserves 1,500
    assert exc.value.inputs == {"free": 1_000 * USDC, "needed": 2_000 * USDC}


def test_open_slippage_bound_reverts_with_PriceSlippage(market, alice):
    with pytest.raises(error_class("PriceSlippage")):
        market.open(alice, is_long=True, size=ETH, margin=400 * USDC,
                    acceptable_price_wad=START_PRICE * WAD - 1)
    with pytest.raises(error_class("PriceSlippage")):
        market.open(alice, is_long=False, size=ETH, margin=400 * USDC,
                    acceptable_price_wad=START_PRICE * WAD + 1)
    market.open(alice, is_long=True, size=ETH, margin=400 * USDC, acceptable_price_wad=START_PRICE * WAD)


def test_add_margin_by_anyone_raises_margin_and_lowers_liquidation_price(market, bob, open_vault, usdc):
    vault = open_vault()
    before = market.state(vault)
    market.add_margin(bob, vault, 100 * USDC)
    after = market.state(vault)
    assert after.margin == before.margin + 100 * USDC
    assert usdc.balanceOf(vault) == 500 * USDC
    assert after.liquidation_price_wad < before.liquidation_price_wad


def test_add_margin_with_stale_price_still_works(market, open_vault, alice, chain):
    """O1: a stale oracle blocks every priced action, never adding margin."""
    vault = open_vault()
    chain.mine(timestamp=chain.pending_timestamp + 7200)
    with pytest.raises(error_class("StalePrice")):
        market.remove_margin(alice, vault, 1 * USDC)
    market.add_margin(alice, vault, 50 * USDC)
    assert market.position(vault).margin == 450 * USDC


def test_remove_margin_within_initial_margin_pays_owner(market, open_vault, alice, bob, usdc):
    vault = open_vault(margin=500 * USDC)
    before = int(usdc.balanceOf(bob))
    market.remove_margin(alice, vault, 150 * USDC, receiver=bob)
    assert int(usdc.balanceOf(bob)) == before + 150 * USDC
    assert market.position(vault).margin == 350 * USDC
    assert usdc.balanceOf(vault) == 350 * USDC


def test_remove_margin_below_initial_margin_reverts_with_InsufficientMargin(market, open_vault, alice):
    vault = open_vault(margin=500 * USDC)
    with pytest.raises(error_class("InsufficientMargin")):
        market.remove_margin(alice, vault, 200 * USDC)  # 300 - fees < 300 required


def test_remove_margin_unrealized_profit_never_withdrawable(market, open_vault, alice, set_price):
    """M2: a paper profit does not count towards the initial margin (Mango 2022)."""
    vault = open_vault(margin=400 * USDC)
    set_price(6000)  # +3,000 of unrealized profit
    # IM at 6,000 is 600: the position is short of margin although its equity is 3,400.
    with pytest.raises(error_class("InsufficientMargin")) as exc:
        market.remove_margin(alice, vault, 10 * USDC)
    assert exc.value.inputs["required"] == 600 * USDC


def test_remove_margin_by_non_owner_reverts_with_NotVaultOwner(market, pool, open_vault, mallory, alice):
    """C2: only the owner moves a vault's margin out."""
    vault = open_vault(margin=500 * USDC)
    with reverts("NotVaultOwner", caller=mallory, owner=alice):
        pool.removeMargin(vault, 1 * USDC, mallory, sender=mallory)
    with reverts("NotVaultOwner", caller=mallory, owner=alice):
        pool.closePosition(vault, mallory, 0, sender=mallory)


def test_vault_transfer_out_by_anyone_but_pool_reverts_with_NotPool(market, open_vault, mallory, usdc):
    """C2: the vault's tokens move only on its pool's order."""
    vault = market.vault(open_vault())
    with reverts("NotPool", caller=mallory):
        vault.transferOut(usdc, mallory, 1, sender=mallory)


def test_vault_has_no_initializer_and_its_owner_is_the_pools_record(market, pool, open_vault, alice, mallory,
                                                                     project, chain):
    """C1: there is nothing to (re)initialise: a clone stores nothing, its owner is the pool's record and
    part of its CREATE2 address, and neither a clone nor the implementation has an initializer."""
    vault = market.vault(open_vault(alice))
    assert vault.owner() == alice.address == pool.position(vault).owner
    assert pool.vaultAddress(alice, 0) == vault.address != pool.vaultAddress(mallory, 0)
    assert int.from_bytes(bytes(chain.provider.get_storage(vault.address, 0)), "big") == 0
    implementation = at(project.PositionVault, pool.vaultImplementation())
    assert implementation.owner() == ZERO_ADDRESS
    initialize = keccak(text="initialize(address)")[:4] + bytes(12) + bytes.fromhex(mallory.address[2:])
    for target in (vault.address, implementation.address):
        call = chain.provider.network.ecosystem.create_transaction(receiver=target, sender=mallory.address,
                                                                   data=initialize)
        with pytest.raises(ContractLogicError):  # no such function and no fallback: a bare revert
            chain.provider.send_call(call)
    assert vault.owner() == alice.address


def test_position_fields_owner_is_the_vault_clones_argument(pool, alice, bob, open_vault, chain):
    """The pool stores no owner: it is the clone's immutable argument (the 20 bytes after the 45 of
    EIP-1167) and part of its CREATE2 salt, so the address computed off chain is the pool's."""
    vault = open_vault(alice, nonce=3)
    code = bytes(chain.provider.get_code(vault))
    assert len(code) == 65 and code[-20:] == bytes.fromhex(alice.address[2:])
    assert pool.position(vault).owner == alice.address
    assert predict_vault_address(pool.address, pool.vaultImplementation(), alice.address, 3) == vault
    assert predict_vault_address(pool.address, pool.vaultImplementation(), bob.address, 3) != vault


def test_position_fields_a_margin_past_88_bits_reverts_by_name_and_moves_nothing(pool, alice, usdc, owner,
                                                                                  open_vault):
    """A position's margin is 88 bits (docs/known-issues.md, 18): an open or an addMargin past it reverts
    with SafeCast's named error before any token moves; the largest margin that fits is taken."""
    usdc.mint(alice, 2**89, sender=owner)
    before = int(usdc.balanceOf(alice))
    with reverts("SafeCastOverflowedUintDowncast", bits=88, value=2**88):
        pool.openPosition(0, True, ETH, 2**88, 0, sender=alice)
    vault = open_vault(alice, margin=400 * USDC)
    with reverts("SafeCastOverflowedUintDowncast", bits=88, value=2**88):
        pool.addMargin(vault, 2**88 - 400 * USDC, sender=alice)
    assert int(usdc.balanceOf(alice)) == before - 400 * USDC and int(usdc.balanceOf(vault)) == 400 * USDC
    pool.addMargin(vault, 2**88 - 1 - 400 * USDC, sender=alice)
    assert pool.position(vault).margin == 2**88 - 1 == int(usdc.balanceOf(vault))


def test_fees_owed_round_up_to_the_next_unit(market, pool, open_vault, chain):
    """The fees a position owes, `size * entry * (index - base) / (scale * WAD)`, round up (against the
    trader): with a fractional exact value the vault reports the next whole unit, not the floor."""
    vault = open_vault(size=ETH + 7, margin=400 * USDC)
    chain.mine(timestamp=chain.pending_timestamp + 3_601)
    p = pool.position(vault)
    numerator = int(p.size) * int(p.entryPriceWad) * (int(pool.currentFeeIndex()) - int(p.feeBaseWad))
    denominator = int(pool.priceScale()) * WAD
    assert numerator % denominator != 0  # the rounding direction shows
    assert int(market.vault(vault).feesOwed()) == numerator // denominator + 1


def test_close_at_profit_pays_margin_plus_pnl_minus_fees(
    market, pool, open_vault, alice, usdc, set_price, params
):
    vault = open_vault(margin=400 * USDC)
    set_price(3300)
    before_alice, before_pool = _balances(usdc, alice, pool)
    liquidity_before = int(pool.liquidity())
    receipt = pool.closePosition(vault, alice, 0, sender=alice)
    closed = receipt.decode_logs(pool.PositionClosed)[0]
    payout = int(closed.payout)
    pnl = 300 * USDC
    # Fees: the open fee folded into the fee base, the borrow fee since open, the close fee.
    opened = pool.PositionOpened.query("*", start_block=0).iloc[-1]
    elapsed = receipt.timestamp - ape.chain.blocks[int(opened.block_number)].timestamp
    entry_notional = 3_000 * USDC
    open_and_borrow = -(-entry_notional * (params.open_fee_wad + params.borrow_rate_wad * elapsed) // WAD)
    close_fee = 33 * USDC // 10  # 0.1 % of 3,300
    assert closed.fees == open_and_borrow + close_fee
    assert closed.pnl == pnl
    assert payout == 400 * USDC + pnl - open_and_borrow - close_fee
    assert int(usdc.balanceOf(alice)) == before_alice + payout
    assert usdc.balanceOf(vault) == 0
    assert int(usdc.balanceOf(pool)) == before_pool - (payout - 400 * USDC)
    assert int(pool.liquidity()) == liquidity_before - (payout - 400 * USDC)
    assert pool.reserved() == 0 and pool.openInterest(True) == (0, 0)
    assert not market.position(vault).is_open


def test_close_at_loss_pays_pool_the_loss_and_fees(market, pool, open_vault, alice, usdc, set_price):
    vault = open_vault(is_long=False, margin=400 * USDC)
    set_price(3100)  # a short loses 100
    liquidity_before = int(pool.liquidity())
    before_alice = int(usdc.balanceOf(alice))
    payout = market.close(alice, vault)
    assert 290 * USDC < payout < 300 * USDC
    assert int(usdc.balanceOf(alice)) == before_alice + payout
    assert int(pool.liquidity()) == liquidity_before + (400 * USDC - payout)
    assert usdc.balanceOf(vault) == 0


def test_close_bankrupt_position_insurance_pays_gap_then_lps(market, pool, open_vault, alice, owner, usdc,
                                                               set_price, project):
    """L6 (core part): a negative result is bad debt: margin to the pool, the fund pays what it can."""
    fund = at(project.InsuranceFund, pool.insuranceFund())
    usdc.mint(owner, 50 * USDC, sender=owner)
    usdc.approve(fund, 50 * USDC, sender=owner)
    fund.fund(50 * USDC, sender=owner)
    vault = open_vault(margin=400 * USDC)
    set_price(2500)  # loss 500 > margin 400
    liquidity_before = int(pool.liquidity())
    receipt = pool.closePosition(vault, alice, 0, sender=alice)
    closed = receipt.decode_logs(pool.PositionClosed)[0]
    covered = receipt.decode_logs(pool.BadDebtCovered)[0]
    assert closed.payout == 0 and closed.badDebt > 100 * USDC
    assert covered.shortfall == closed.badDebt
    assert covered.coveredByFund == 50 * USDC
    assert covered.borneByLps == closed.badDebt - 50 * USDC
    assert int(pool.liquidity()) == liquidity_before + 400 * USDC + 50 * USDC
    assert fund.available() == 0


def test_reopen_closed_vault_reuses_it(market, pool, alice, open_vault):
    vault = open_vault(nonce=3)
    market.close(alice, vault)
    again = market.open(alice, is_long=False, size=2 * ETH, margin=700 * USDC, nonce=3)
    assert again == vault
    p = market.position(vault)
    assert (p.size, p.is_long, p.margin, p.is_open) == (2 * ETH, False, 700 * USDC, True)


def test_paused_market_blocks_opening_only(market, protocol, guardian, alice, open_vault, set_price):
    """C5: while paused nobody opens; adding margin, removing margin and closing still work."""
    vault = open_vault(margin=600 * USDC)
    protocol.factory.setPaused(market.pool, True, sender=guardian)
    with pytest.raises(error_class("MarketPaused")):
        market.open(alice, is_long=True, size=ETH, margin=400 * USDC, nonce=1)
    market.add_margin(alice, vault, 10 * USDC)
    market.remove_margin(alice, vault, 10 * USDC)
    set_price(3100)
    assert market.close(alice, vault) > 600 * USDC


def test_donation_to_vault_changes_nothing_and_owner_recovers_it(market, pool, open_vault, alice, mallory,
                                                                 usdc, owner):
    """D1: tokens sent to a vault change no health and only its owner can take them back."""
    vault = open_vault()
    before = market.state(vault)
    usdc.mint(mallory, 1_000 * USDC, sender=owner)
    usdc.transfer(vault, 1_000 * USDC, sender=mallory)
    after = market.state(vault)
    assert market.position(vault).margin == 400 * USDC
    # Only the borrow fee of the seconds that passed moved; margin, PnL and prices did not.
    assert (after.margin, after.pnl, after.price_wad) == (before.margin, before.pnl, before.price_wad)
    assert after.equity + after.fees == before.equity + before.fees
    with reverts("NotVaultOwner"):
        pool.recoverDonation(vault, usdc, mallory, sender=mallory)
    alice_before = int(usdc.balanceOf(alice))
    pool.recoverDonation(vault, usdc, alice, sender=alice)
    assert int(usdc.balanceOf(alice)) == alice_before + 1_000 * USDC
    assert usdc.balanceOf(vault) == 400 * USDC
    with reverts("ZeroAmount"):  # the margin is not a donation: nothing is left to recover
        pool.recoverDonation(vault, usdc, alice, sender=alice)


def test_actions_on_one_vault_leave_other_vaults_untouched(market, alice, bob, open_vault, usdc, set_price):
    """Isolation: every action on one vault leaves the owner's other vault and others' vaults as they were."""
    mine = open_vault(alice, nonce=0)
    other = open_vault(alice, nonce=1, is_long=False)
    theirs = open_vault(bob, nonce=0)
    snapshot = {v: (market.position(v), int(usdc.balanceOf(v))) for v in (other, theirs)}
    market.add_margin(alice, mine, 100 * USDC)
    market.remove_margin(alice, mine, 50 * USDC)
    set_price(2900)
    market.close(alice, mine)
    assert {v: (market.position(v), int(usdc.balanceOf(v))) for v in (other, theirs)} == snapshot


def test_unknown_vault_reverts_with_UnknownVault(pool, usdc, alice, mallory):
    """Every entry point that takes a vault names an address the pool never made as unknown, before any
    ownership check (which would otherwise say NotVaultOwner against the zero owner)."""
    with reverts("UnknownVault", vault=mallory):
        pool.addMargin(mallory, 1, sender=alice)
    with reverts("UnknownVault", vault=mallory):
        pool.recoverDonation(mallory, usdc, alice, sender=alice)
    with reverts("UnknownVault", vault=mallory):
        pool.removeMargin(mallory, 1, alice, sender=alice)
    with reverts("UnknownVault", vault=mallory):
        pool.closePosition(mallory, alice, 0, sender=alice)


def test_sdk_error_has_human_message(market, alice):
    with pytest.raises(RingfenceError) as exc:
        market.open(alice, is_long=True, size=0, margin=300 * USDC)
    assert "size must be positive" in str(exc.value)
