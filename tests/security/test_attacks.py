"""Attack sequences and hostile tokens (docs/security-checklist.md O4, L3, D1, T1-T4, A3), several
inside one transaction through the test-only Attacker contract."""

from __future__ import annotations

import pytest

from ringfence.abi import at
from ringfence.sdk import MarketParams, deploy_oracle
from tests.conftest import ETH, USDC, apply_params, feed_answer, reverts

WAD = 10**18


def _market_over(token_contract, protocol, owner, oracle, lp, traders):
    """A market settled in `token_contract`, funded by `lp`, with `traders` funded and approved."""
    market = protocol.create_market(owner, asset=token_contract, oracle=oracle,
                                    params=MarketParams.default(6), name="h", symbol="h")
    token_contract.mint(lp, 1_000_000 * USDC, sender=owner)
    token_contract.approve(market.pool, 2**256 - 1, sender=lp)
    market.pool.deposit(1_000_000 * USDC, lp, sender=lp)
    for t in traders:
        token_contract.mint(t, 100_000 * USDC, sender=owner)
        token_contract.approve(market.pool, 2**256 - 1, sender=t)
    return market


# ---------------------------------------------------------------- L3 self-liquidation, D1 donations


@pytest.fixture
def attacker(owner, project, market, usdc):
    contract = owner.deploy(project.Attacker, market.pool)
    usdc.mint(contract, 10_000 * USDC, sender=owner)
    return contract


@pytest.mark.parametrize(("top_up", "donation"), [(0, 0), (0, 500 * USDC), (50 * USDC, 0)])
def test_self_liquidation_in_one_transaction_never_beats_closing(protocol, market, attacker, owner, set_price,
                                                                 chain, top_up, donation):
    """L3 (Euler 2023): liquidating one's own vault as the keeper, with a top-up or a donation first, all
    inside one transaction, returns no more than closing the position would."""
    attacker.open(0, True, 10 * ETH, 3_500 * USDC, sender=owner)
    vault = market.vault_address(attacker, 0)
    set_price(market.state(vault).liquidation_price_wad / WAD - 20)  # a 50 top-up moves it ~5.3
    snapshot = chain.snapshot()
    attacker.close(vault, sender=owner)
    closing = int(market.token().balanceOf(attacker))
    chain.restore(snapshot)
    receipt = attacker.selfLiquidate(protocol.liquidator, vault, top_up, donation, sender=owner)
    assert receipt.decode_logs(market.pool.Liquidated)
    # Count everything the attacker ends with: what a partial liquidation left in the vault is closed too,
    # and a donation stays in the vault, recoverable by its owner, so it is added back.
    attacker.closeIfOpen(vault, sender=owner)
    after = int(market.token().balanceOf(attacker))
    assert after + donation < closing


def test_donation_then_liquidation_changes_no_health(protocol, market, attacker, owner, set_price, keeper):
    """D1: a donation to a vault in the same transaction as its liquidation neither saves nor hurts it."""
    attacker.open(0, True, 10 * ETH, 3_500 * USDC, sender=owner)
    vault = market.vault_address(attacker, 0)
    set_price(market.state(vault).liquidation_price_wad / WAD - 1)
    before = market.state(vault)
    receipt = attacker.selfLiquidate(protocol.liquidator, vault, 0, 1_000 * USDC, sender=owner)
    event = receipt.decode_logs(market.pool.Liquidated)[0]
    # The donation was not counted as margin: equity moved only by one block of borrow fee.
    assert before.equity - 1 * USDC <= event.equityBefore <= before.equity
    assert market.token().balanceOf(vault) >= 1_000 * USDC  # and is still there for the owner


# ---------------------------------------------------------------- O4 jumps


def test_price_jump_is_priced_and_liquidatable_not_rejected(protocol, market, open_vault, keeper, set_price):
    """O4: a 35 % one-round crash is a real price: liquidations proceed at it. The documented guard is the
    market's own [min, max] band (O3), not a per-round deviation limit that would freeze liquidations in
    a real crash (docs/known-issues.md)."""
    vault = open_vault(margin=600 * USDC)
    set_price(3000 * 0.65)
    receipt = protocol.liquidator.liquidate(vault, sender=keeper)
    assert receipt.decode_logs(market.pool.Liquidated)[0].priceWad == 1950 * WAD


# ---------------------------------------------------------------- tokens


@pytest.fixture(scope="session")
def hostile_oracle(owner, project):
    feed = owner.deploy(project.MockAggregator, 8, feed_answer(3000))
    return deploy_oracle(owner, feed, max_age=3600)


def test_fee_on_transfer_token_rejected_by_name(project, protocol, owner, hostile_oracle, lp, alice):
    """T1: a fee-on-transfer token cannot be deposited or used as margin: TransferAmountMismatch."""
    token = owner.deploy(project.FeeOnTransferToken)
    market = protocol.create_market(owner, asset=token, oracle=hostile_oracle, params=MarketParams.default(6),
                                    name="f", symbol="f")
    token.mint(lp, 1_000_000 * USDC, sender=owner)
    token.approve(market.pool, 2**256 - 1, sender=lp)
    with reverts("TransferAmountMismatch", expected=1_000 * USDC, received=990 * USDC):
        market.pool.deposit(1_000 * USDC, lp, sender=lp)


def test_no_return_token_works_end_to_end(project, protocol, owner, hostile_oracle, lp, alice):
    """T2: a token whose transfers return nothing (USDT) works through SafeERC20."""
    token = owner.deploy(project.NoReturnToken)
    market = _market_over(token, protocol, owner, hostile_oracle, lp, [alice])
    vault = market.open(alice, is_long=True, size=ETH, margin=400 * USDC, approve=False)
    market.add_margin(alice, vault, 10 * USDC, approve=False)
    payout = market.close(alice, vault)
    assert 0 < payout <= 410 * USDC and token.balanceOf(vault) == 0


def test_false_returning_token_reverts_with_SafeERC20FailedOperation(project, protocol, owner, hostile_oracle,
                                                                     lp, alice):
    """T2: a transfer that returns false is a failure, not a success."""
    token = owner.deploy(project.FalseReturningToken)
    market = _market_over(token, protocol, owner, hostile_oracle, lp, [alice])
    vault = market.open(alice, is_long=True, size=ETH, margin=400 * USDC, approve=False)
    token.setFails(True, sender=owner)
    with reverts("SafeERC20FailedOperation", token=token.address):
        market.close(alice, vault)
    assert market.position(vault).is_open  # nothing half-done


def test_reentrant_token_hook_cannot_reenter(project, protocol, owner, hostile_oracle, lp):
    """T3: re-entering the pool from a token hook during a transfer fails with the reentrancy error."""
    token = owner.deploy(project.HookToken)
    market = _market_over(token, protocol, owner, hostile_oracle, lp, [])
    attacker = owner.deploy(project.Attacker, market.pool)
    token.mint(attacker, 10_000 * USDC, sender=owner)
    attacker.open(0, True, ETH, 400 * USDC, sender=owner)
    vault = market.vault_address(attacker, 0)
    token.setHook(attacker, sender=owner)
    attacker.armReentry(vault, sender=owner)
    with reverts("ReentrancyGuardReentrantCall"):
        attacker.close(vault, sender=owner)
    assert market.position(vault).is_open


def test_blocklisted_owner_cannot_block_liquidation(project, protocol, owner, hostile_oracle, lp, alice, keeper,
                                                    bob):
    """T4: an owner who cannot receive tokens is still liquidated; what is owed waits as a claim, which
    the owner can send to another address."""
    token = owner.deploy(project.BlocklistToken)
    market = _market_over(token, protocol, owner, hostile_oracle, lp, [alice])
    apply_params(protocol, market.pool, MarketParams.default(6).with_(min_notional=250 * USDC), owner)
    vault = market.open(alice, is_long=True, size=ETH // 10, margin=40 * USDC, approve=False)
    token.setBlocked(alice, True, sender=owner)
    feed = at(project.MockAggregator, at(project.ChainlinkOracle, hostile_oracle.address).feed())
    feed.setAnswer(int(market.state(vault).liquidation_price_wad // 10**10) - 1, sender=owner)
    event = protocol.liquidator.liquidate(vault, sender=keeper).decode_logs(market.pool.Liquidated)[0]
    assert event.full and event.ownerCredit > 0
    with reverts("Blocklisted", account=alice.address):
        market.pool.claim(vault, alice, sender=alice)
    market.pool.claim(vault, bob, sender=alice)
    assert token.balanceOf(bob) == event.ownerCredit


# ---------------------------------------------------------------- A3 time


def test_fees_over_a_long_interval_and_same_block_actions(market, open_vault, alice, chain, set_price, params):
    """A3: a year of borrow fee accrues linearly without overflow; actions in one block accrue nothing."""
    vault = open_vault(margin=1_000 * USDC)
    before = market.state(vault).fees
    chain.mine(timestamp=chain.blocks.head.timestamp + 365 * 24 * 3600)
    set_price(3000)
    after = market.state(vault).fees
    year = 3_000 * USDC * params.borrow_rate_wad * 365 * 24 * 3600 // WAD
    assert year - 10 * USDC <= after - before <= year + 10 * USDC  # 10 % a year of 3,000, give or take blocks
    index = int(market.pool.currentFeeIndex())
    assert int(market.pool.currentFeeIndex()) == index  # no time, no fee
