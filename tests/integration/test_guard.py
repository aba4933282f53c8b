"""MarginGuard (docs/guard.md): policies set, changed and cancelled at once; top-ups that add exactly what
the reference model (``ringfence.model.top_up_quote``) says, with fixed examples and a hypothesis fuzz;
the named refusals; batches; and the gas figures."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ringfence import model
from ringfence.abi import at
from ringfence.sdk import Guard, GuardPolicy, MarketParams, deploy_oracle
from tests.conftest import ETH, USDC, advance_to, feed_answer, reverts, sync_clock

WAD = 10**18


@pytest.fixture(scope="module")
def guard(owner, protocol) -> Guard:
    return Guard.deploy(owner, protocol.factory)


def policy(**kw) -> GuardPolicy:
    values = dict(trigger_health_wad=13 * WAD // 10, target_health_wad=15 * WAD // 10, max_per_top_up=500 * USDC,
                  budget=2_000 * USDC, fee=2 * USDC)
    values.update(kw)
    return GuardPolicy(**values)


@pytest.fixture
def armed(guard, market, open_vault, alice, usdc):
    """Alice's long (1 ETH, 400 USDC at 3,000) with a wallet policy (trigger 1.3, target 1.5) and an allowance."""
    vault = open_vault()
    guard.set_policy(alice, vault, policy())
    guard.approve_wallet(alice, usdc, 10_000 * USDC)
    return vault


def at_oracle(market):
    from ringfence.chain.contracts import container

    return at(container("ChainlinkOracle"), market.oracle_address)


def top_up_checked(guard, market, vault, executor):
    """Tops up ``vault`` and checks every number against the model; returns (top-up, model quote)."""
    position = market.position(vault)
    pol = guard.policy(position.owner, vault)
    token = market.token()
    before = {a: int(token.balanceOf(a)) for a in (position.owner, str(executor), guard.address, vault)}
    done = guard.top_up(executor, vault)
    from ape import chain

    receipt_block = chain.blocks.head
    quote = model.top_up_quote(
        position, int(at_oracle(market).price(block_id=receipt_block.number)),
        int(market.pool.currentFeeIndex(block_id=receipt_block.number)), int(market.pool.priceScale()),
        market.params().maintenance_margin_wad, pol, vault=vault, owner=position.owner, now=receipt_block.timestamp)
    assert (done.amount, done.fee, done.health_after_wad, done.budget_after) == (
        quote.amount, quote.fee, quote.health_after_wad, quote.budget_after)
    assert market.position(vault).margin == position.margin + quote.amount
    assert int(market.vault(vault).health()) == quote.health_after_wad
    after = {a: int(token.balanceOf(a)) for a in before}
    owner_paid = before[position.owner] - after[position.owner]
    if pol.reserve_id == 0:
        assert owner_paid == quote.amount + quote.fee
        assert after[guard.address] == before[guard.address]
    else:
        assert before[guard.address] - after[guard.address] == quote.amount + quote.fee
    assert after[str(executor)] - before[str(executor)] == quote.fee
    assert after[vault] - before[vault] == quote.amount
    assert int(token.allowance(guard.address, market.address)) == 0  # the exact approval is used up
    assert guard.policy(position.owner, vault).budget == quote.budget_after
    return done, quote


# ---------------------------------------------------------------- policies


def test_set_change_cancel_policy_take_effect_at_once(guard, market, armed, alice, keeper, set_price):
    assert guard.policy(alice, armed) == policy()
    receipt = guard.set_policy(alice, armed, policy(fee=3 * USDC, budget=999 * USDC))
    event = receipt.decode_logs(guard.contract.PolicySet)[0]
    assert event.owner == alice.address and event.vault == armed
    assert guard.policy(alice, armed).fee == 3 * USDC and guard.policy(alice, armed).budget == 999 * USDC
    set_price(2780)
    guard.cancel_policy(alice, armed)
    assert not guard.policy(alice, armed).exists
    with reverts("NoPolicy", owner=alice.address, vault=armed):
        guard.top_up(keeper, armed)


@pytest.mark.parametrize(("change", "error", "args"), [
    (dict(target_health_wad=13 * WAD // 10), "TargetNotAboveTrigger", dict(trigger=13 * WAD // 10)),
    (dict(max_per_top_up=0, fee=0), "ZeroMaxPerTopUp", {}),
    (dict(max_per_top_up=100 * USDC, fee=10 * USDC + 1), "FeeTooHigh", dict(fee=10 * USDC + 1, max=10 * USDC)),
    (dict(expiry=1), "ExpiryInPast", dict(expiry=1)),
])
def test_set_policy_refuses_bad_policies_by_name(guard, alice, open_vault, chain, change, error, args):
    vault = open_vault()
    bad = policy(**change)
    with pytest.raises(model.ModelError):
        bad.check(chain.pending_timestamp)  # the model refuses it too
    with reverts(error, **args):
        guard.set_policy(alice, vault, bad)


# ---------------------------------------------------------------- top-ups against the model


@pytest.mark.parametrize(("price", "change"), [
    (2780, {}),  # just under the trigger
    (2745, {}),  # near liquidation
    (2730, {}),  # liquidatable: the top-up saves it
    (2780, dict(target_health_wad=3 * WAD)),  # a high target: capped by the most per top-up
    (2760, dict(max_per_top_up=20 * USDC, fee=USDC)),  # capped: health stays under the target
    (2760, dict(budget=30 * USDC)),  # capped by the budget after the fee
    (2790, dict(trigger_health_wad=2 * WAD, target_health_wad=2 * WAD + 1, fee=0)),  # a one-wei target gap
])
def test_top_up_adds_exactly_the_models_amount(guard, market, armed, alice, keeper, set_price, price, change):
    guard.set_policy(alice, armed, policy(**change))
    set_price(price)
    done, quote = top_up_checked(guard, market, armed, keeper)
    assert done.amount > 0
    target = policy(**change).target_health_wad
    if not quote.capped:
        assert done.health_after_wad >= target
        assert health_at_head(market, armed, margin_change=-1) < target  # one unit less misses it
    else:
        assert done.health_after_wad < target
        assert done.amount == min(quote.needed, policy(**change).max_per_top_up,
                                  policy(**change).budget - policy(**change).fee)
    assert not market.vault(armed).isLiquidatable() or quote.capped


def test_short_vault_top_up_equals_model(guard, market, open_vault, alice, keeper, set_price, usdc):
    vault = open_vault(is_long=False, nonce=3)
    guard.set_policy(alice, vault, policy())
    guard.approve_wallet(alice, usdc, 10_000 * USDC)
    set_price(3220)
    done, quote = top_up_checked(guard, market, vault, keeper)
    assert done.health_after_wad >= policy().target_health_wad and not quote.capped


def test_quote_equals_model_at_the_same_block(guard, market, armed, alice, set_price, chain):
    set_price(2770)
    head = chain.blocks.head
    amount, fee, health = guard.contract.quote(armed, block_id=head.number)
    position = market.position(armed)
    q = model.top_up_quote(position, int(at_oracle(market).price(block_id=head.number)),
                           int(market.pool.currentFeeIndex(block_id=head.number)), int(market.pool.priceScale()),
                           market.params().maintenance_margin_wad, policy(), vault=armed, owner=alice.address,
                           now=head.timestamp)
    assert (int(amount), int(fee), int(health)) == (q.amount, q.fee, q.health_wad)
    assert health == int(market.vault(armed).health(block_id=head.number)) < policy().trigger_health_wad


def health_at_head(market, vault, margin_change=0):
    """The vault's health at the head block by the model, its margin changed by ``margin_change``."""
    from dataclasses import replace

    from ape import chain

    head = chain.blocks.head.number
    p = market.position(vault)
    p = replace(p, margin=p.margin + margin_change)
    scale = int(market.pool.priceScale())
    fees = model.position_fees_up(p, int(market.pool.currentFeeIndex(block_id=head)), scale)
    return model.health_down(p, int(at_oracle(market).price(block_id=head)), fees, scale,
                             market.params().maintenance_margin_wad)


@given(
    price=st.integers(min_value=2_700, max_value=2_900),
    cents=st.integers(min_value=0, max_value=99),
    trigger_bp=st.integers(min_value=10_000, max_value=30_000),
    gap_bp=st.integers(min_value=1, max_value=20_000),
    max_per=st.integers(min_value=1, max_value=1_000 * USDC),
    fee_share=st.integers(min_value=0, max_value=1_000),
    budget=st.integers(min_value=0, max_value=2_000 * USDC),
    elapsed=st.integers(min_value=0, max_value=30 * 24 * 3600),
)
def test_fuzz_top_up_equals_model(guard, market, armed, alice, keeper, chain, owner, feed, price, cents,
                                  trigger_bp, gap_bp, max_per, fee_share, budget, elapsed):
    """Over random prices, times and policies, the contract and the model agree: the same amount and fee
    (and health after at least the target unless capped), or the same named refusal."""
    pol = policy(trigger_health_wad=trigger_bp * WAD // 10_000,
                 target_health_wad=(trigger_bp + gap_bp) * WAD // 10_000,
                 max_per_top_up=max_per, fee=max_per * fee_share // 10_000, budget=budget)
    snapshot = chain.snapshot()
    try:
        sync_clock(chain)
        advance_to(chain, chain.pending_timestamp + elapsed)
        feed.setAnswer(price * 10**8 + cents * 10**6, sender=owner)
        guard.set_policy(alice, armed, pol)
        position = market.position(armed)
        head = chain.blocks.head
        rate = market.params().borrow_rate_wad
        outcomes = set()
        for ts in (head.timestamp, head.timestamp + 1, head.timestamp + 2):
            index = int(market.pool.currentFeeIndex()) + rate * (ts - head.timestamp)
            try:
                q = model.top_up_quote(position, int(at_oracle(market).price()), index,
                                       int(market.pool.priceScale()), market.params().maintenance_margin_wad,
                                       pol, vault=armed, owner=alice.address, now=ts)
                outcomes.add("ok")
            except model.ModelError as exc:
                outcomes.add(exc.name)
        if len(outcomes) > 1:
            return  # on a boundary within a second of fees: the exact block decides
        expected = outcomes.pop()
        if expected == "ok":
            done, q = top_up_checked(guard, market, armed, keeper)
            assert q.capped or done.health_after_wad >= pol.target_health_wad
        else:
            with reverts(expected):
                guard.top_up(keeper, armed)
    finally:
        chain.restore(snapshot)
        sync_clock(chain)


# ---------------------------------------------------------------- refusals


def test_healthy_vault_refused_with_VaultHealthy(guard, market, armed, keeper, set_price):
    set_price(2800)  # health 1.40 > 1.3
    assert int(market.vault(armed).health()) >= policy().trigger_health_wad
    with reverts("VaultHealthy", vault=armed, trigger=policy().trigger_health_wad):
        guard.top_up(keeper, armed)


def test_health_exactly_at_the_trigger_is_refused_and_one_wei_above_it_is_topped_up(
        guard, market, armed, alice, keeper, set_price, chain):
    """A top-up starts strictly below the trigger: at health == trigger the vault is healthy
    (``VaultHealthy``); the same vault at the same second with the trigger one wei higher is topped up.
    The health at that second comes from the model (fees accrue every second)."""
    set_price(2780)
    at_second = chain.blocks.head.timestamp + 10
    position = market.position(armed)
    scale = int(market.pool.priceScale())
    index = int(market.pool.currentFeeIndex()) + market.params().borrow_rate_wad * (
        at_second - chain.blocks.head.timestamp)
    health = model.health_down(position, int(at_oracle(market).price()), model.position_fees_up(position, index, scale),
                               scale, market.params().maintenance_margin_wad)
    for trigger, refused in ((health + 1, False), (health, True)):
        snapshot = chain.snapshot()
        try:
            chain.pending_timestamp = at_second - 1
            guard.set_policy(alice, armed, policy(trigger_health_wad=trigger, target_health_wad=trigger + WAD // 10))
            chain.pending_timestamp = at_second
            if refused:
                with reverts("VaultHealthy", vault=armed, health=health, trigger=trigger):
                    guard.top_up(keeper, armed)
            else:
                assert guard.top_up(keeper, armed).amount > 0
                assert chain.blocks.head.timestamp == at_second
        finally:
            chain.restore(snapshot)
            sync_clock(chain)


def test_expiry_refuses_from_its_second(guard, armed, alice, keeper, set_price, chain):
    expiry = chain.pending_timestamp + 100
    guard.set_policy(alice, armed, policy(expiry=expiry))
    set_price(2780)
    chain.pending_timestamp = expiry
    with reverts("PolicyExpired", vault=armed, expiry=expiry):
        guard.top_up(keeper, armed)
    guard.set_policy(alice, armed, policy(expiry=expiry + 100))
    assert guard.top_up(keeper, armed).amount > 0


def test_revoked_allowance_and_empty_wallet_fail_closed(guard, market, armed, alice, keeper, set_price, usdc):
    set_price(2780)
    usdc.approve(guard.address, 0, sender=alice)
    with reverts("AllowanceTooLow", owner=alice.address, allowance=0):
        guard.top_up(keeper, armed)
    usdc.approve(guard.address, 10_000 * USDC, sender=alice)
    usdc.transfer(keeper, usdc.balanceOf(alice), sender=alice)
    with reverts("WalletBalanceTooLow", owner=alice.address, balance=0):
        guard.top_up(keeper, armed)


def test_budget_is_spent_then_exhausted(guard, market, armed, alice, keeper, set_price):
    guard.set_policy(alice, armed, policy(budget=12 * USDC, fee=2 * USDC))
    set_price(2760)
    done, _ = top_up_checked(guard, market, armed, keeper)
    assert (done.amount, done.budget_after) == (10 * USDC, 0)
    with reverts("BudgetExhausted", budget=0, fee=2 * USDC):
        guard.top_up(keeper, armed)


@pytest.mark.parametrize("source", ["allowance", "wallet", "reserve"])
def test_a_source_holding_exactly_amount_plus_fee_pays_the_top_up(guard, market, armed, alice, bob, keeper,
                                                                  set_price, usdc, source):
    """A top-up capped at 20 USDC with a 1 USDC fee (so its total is known before it runs) goes through
    when the allowance, the wallet or the reserve holds exactly 21 USDC, and leaves it at zero."""
    total = 21 * USDC
    capped = dict(max_per_top_up=20 * USDC, fee=USDC)
    if source == "reserve":
        rid = guard.open_reserve(alice, usdc, [armed])
        guard.deposit_reserve(alice, rid, total)
        guard.set_policy(alice, armed, policy(reserve_id=rid, **capped))
    else:
        guard.set_policy(alice, armed, policy(**capped))
        if source == "allowance":
            usdc.approve(guard.address, total, sender=alice)
        else:
            usdc.transfer(bob, int(usdc.balanceOf(alice)) - total, sender=alice)
    set_price(2760)
    done = guard.top_up(keeper, armed)
    assert (done.amount, done.fee) == (20 * USDC, USDC)
    left = {"allowance": lambda: usdc.allowance(alice, guard.address), "wallet": lambda: usdc.balanceOf(alice),
            "reserve": lambda: guard.reserve(rid).balance}[source]
    assert int(left()) == 0


def test_budget_between_needed_and_needed_plus_fee_caps_the_amount_at_budget_minus_fee(
        guard, market, armed, alice, keeper, set_price):
    """The budget counts the fee: when what the target needs fits in the budget but not with the fee,
    the top-up adds ``budget - fee`` and spends the budget to zero."""
    set_price(2760)
    needed, _, _ = guard.quote(armed)  # the default policy's amount, uncapped at this price
    assert needed < policy().max_per_top_up
    guard.set_policy(alice, armed, policy(budget=needed + USDC, fee=2 * USDC))
    done, quote = top_up_checked(guard, market, armed, keeper)
    assert quote.budget_after == 0 and done.amount == needed + USDC - 2 * USDC
    assert done.amount < quote.needed < policy(budget=needed + USDC).budget


def test_unknown_reserve_refused_by_name_before_any_owner_check(guard, alice, open_vault):
    """A reserve id never opened is ``UnknownReserve`` for its would-be owner too (not ``NotReserveOwner``),
    on every owner entry point."""
    vault = open_vault()
    unknown = int(guard.contract.reserveCount()) + 1
    with reverts("UnknownReserve", reserveId=unknown):
        guard.deposit_reserve(alice, unknown, USDC, approve=False)
    with reverts("UnknownReserve", reserveId=unknown):
        guard.withdraw_reserve(alice, unknown, USDC)
    with reverts("UnknownReserve", reserveId=unknown):
        guard.earmark(alice, unknown, [vault])


def test_closed_vault_and_non_vaults_refused(guard, market, armed, alice, keeper, usdc):
    with reverts("NotAVault", vault=alice.address):
        guard.top_up(keeper, alice.address)
    with reverts("NotAVault", vault=usdc.address):
        guard.top_up(keeper, usdc.address)
    market.close(alice, armed)
    with reverts("PositionNotOpen", vault=armed):
        guard.top_up(keeper, armed)
    with reverts("PositionNotOpen", vault=armed):  # the guard's own check: the view has no pool behind it
        guard.quote(armed)


# ---------------------------------------------------------------- batches and gas


def test_batch_skips_what_cannot_be_topped_up(guard, market, open_vault, alice, bob, keeper, set_price, usdc):
    vaults = [open_vault(nonce=n) for n in range(3)]
    for v in vaults[:2]:
        guard.set_policy(alice, v, policy())
    guard.approve_wallet(alice, usdc, 10_000 * USDC)
    healthy = open_vault(bob, margin=1_000 * USDC)
    guard.set_policy(bob, healthy, policy())
    set_price(2780)
    done, tops = guard.top_up_batch(keeper, [*vaults, healthy, alice.address])
    assert done == 2 and [t.vault for t in tops] == vaults[:2]
    with reverts("NoVaults"):
        guard.top_up_batch(keeper, [])


def test_batch_across_two_pools_uses_each_pools_own_market(guard, protocol, market, open_vault, alice, lp, owner,
                                                           project, usdc, keeper, set_price, chain):
    """A batch reads a pool's market once and reuses it for that pool's next vaults only: with vaults of two
    pools interleaved (A, B, A, B), at two different prices, every top-up equals the reference model at its
    own pool's price and fee index in the batch's block."""
    feed_b = owner.deploy(project.MockAggregator, 8, feed_answer(3000))
    market_b = protocol.create_market(owner, asset=usdc, oracle=deploy_oracle(owner, feed_b, max_age=3600),
                                      params=MarketParams.default(6), name="b", symbol="b")
    usdc.mint(lp, 1_000_000 * USDC, sender=owner)
    usdc.approve(market_b.pool, 2**256 - 1, sender=lp)
    market_b.pool.deposit(1_000_000 * USDC, lp, sender=lp)
    a1, a2 = open_vault(nonce=0), open_vault(nonce=1)
    b1, b2 = (market_b.open(alice, is_long=True, size=ETH, margin=400 * USDC, nonce=n) for n in (0, 1))
    vaults = [(a1, market), (b1, market_b), (a2, market), (b2, market_b)]
    for v, _ in vaults:
        guard.set_policy(alice, v, policy())
    guard.approve_wallet(alice, usdc, 10_000 * USDC)
    set_price(2780)
    feed_b.setAnswer(feed_answer(2740), sender=owner)
    positions = {v: m.position(v) for v, m in vaults}
    done, tops = guard.top_up_batch(keeper, [v for v, _ in vaults])
    assert done == 4 and [t.vault for t in tops] == [v for v, _ in vaults]
    block = chain.blocks.head
    for top, (v, m) in zip(tops, vaults, strict=True):
        q = model.top_up_quote(positions[v], int(at_oracle(m).price(block_id=block.number)),
                               int(m.pool.currentFeeIndex(block_id=block.number)), int(m.pool.priceScale()),
                               m.params().maintenance_margin_wad, policy(), vault=v, owner=alice.address,
                               now=block.timestamp)
        assert (top.amount, top.fee, top.health_after_wad) == (q.amount, q.fee, q.health_after_wad)
        assert m.position(v).margin == positions[v].margin + q.amount
    assert tops[0].amount != tops[1].amount  # the two prices give different amounts
    assert int(usdc.balanceOf(guard.address)) == 0


def test_gas_figures(guard, market, open_vault, alice, keeper, set_price, usdc, accounts):
    """Measures set policy (first and change), one top-up (wallet, reserve) and a batch of 50; docs/guard.md
    reports them. The bounds are the measured figures with headroom, so a regression fails here."""
    vault = open_vault()
    first = guard.set_policy(alice, vault, policy()).gas_used
    change = guard.set_policy(alice, vault, policy(fee=3 * USDC)).gas_used
    guard.approve_wallet(alice, usdc, 10**12)
    vaults = [open_vault(nonce=n) for n in range(1, 51)]
    for v in vaults:
        guard.set_policy(alice, v, policy())
    rid = guard.open_reserve(alice, usdc, [vault])
    guard.deposit_reserve(alice, rid, 1_000 * USDC)
    set_price(2780)
    wallet_one = guard.contract.topUp(vaults[0], sender=keeper).gas_used
    guard.set_policy(alice, vault, policy(reserve_id=rid))
    reserve_one = guard.contract.topUp(vault, sender=keeper).gas_used
    batch = guard.contract.topUpBatch(vaults[1:], sender=keeper).gas_used / 49
    print(f"\nguard gas: set policy {first} (change {change}), top-up wallet {wallet_one}, "
          f"reserve {reserve_one}, batch of 49 per vault {batch:.0f}")
    assert first < 76_000 and change < 38_000
    assert wallet_one < 180_000 and reserve_one < 158_000 and batch < 86_000


def test_set_policy_expiry_at_the_block_time_is_already_past(guard, open_vault, alice, chain):
    """``expiry <= block.timestamp`` is refused: a policy expiring in its own block would never act."""
    vault = open_vault()
    now = chain.pending_timestamp + 10
    chain.pending_timestamp = now
    with reverts("ExpiryInPast", expiry=now):
        guard.set_policy(alice, vault, policy(expiry=now))
    chain.pending_timestamp = now + 10
    guard.set_policy(alice, vault, policy(expiry=now + 11))  # one second ahead of its block: accepted
    assert guard.policy(alice, vault).expiry == now + 11
