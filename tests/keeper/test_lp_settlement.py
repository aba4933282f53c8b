"""The keeper settles the LPs' deposit and redemption requests (ringfence.keeper, step 5): on the first
pass after an oracle round published after a request, it sends ``settleDeposit`` / ``settleRedeem``;
a request newer than the last round is left alone; a redemption the free liquidity cannot pay yet
stays pending (one log line) and is settled once it can; a request settled by someone else is
dropped without a transaction; a stale oracle is an error retried on the next block."""

from __future__ import annotations

from tests.conftest import ETH, USDC, advance_to, next_round
from tests.keeper.conftest import events

DEPOSIT = 50_000 * USDC


def _later(chain) -> None:
    """The next transaction in a later second than the head (a request then dates after the last round)."""
    advance_to(chain, chain.blocks.head.timestamp + 1)


def _settled_by(chain, pool, name: str, start: int) -> list[tuple[str, str]]:
    """(controller, transaction sender) of every ``name`` event since ``start``."""
    out = []
    for e in events(chain, pool, name, start):
        sender = chain.provider.get_receipt(e.transaction_hash).sender
        out.append((str(e.controller), str(sender)))
    return out


def test_keeper_settles_ready_requests_and_leaves_a_newer_one(chain, market, usdc, lp, alice, bob, keeper,
                                                             owner, make_keeper, keeper_logs):
    pool = market.pool
    bot = make_keeper(keeper)
    bot.step()  # indexed before the requests (they arrive as new events)
    lp_shares = int(pool.balanceOf(lp))
    redeem = lp_shares // 10
    quote_shares = market.request_deposit(alice, DEPOSIT)  # alice: a new LP
    quote_assets = market.request_redeem(lp, redeem)
    # nothing is ready before a new round: the keeper sends nothing
    nonce = keeper.nonce
    report = bot.step()
    assert report.lp_pending == 2 and not report.settled and not report.errors and keeper.nonce == nonce

    next_round(market, owner)
    _later(chain)
    market.request_deposit(bob, DEPOSIT)  # after the round: not ready on this pass
    expected_shares = int(pool.previewSettleDeposit(alice))
    expected_assets = int(pool.previewSettleRedeem(lp))
    # nothing but deposits in the pool, and no price move: the quotes are paid in full
    assert (expected_shares, expected_assets) == (quote_shares, quote_assets)
    alice_before, lp_usdc = int(pool.balanceOf(alice)), int(usdc.balanceOf(lp))
    start = chain.blocks.head.number + 1

    report = bot.step()
    assert sorted((s.kind, s.controller) for s in report.settled) == [("deposit", alice.address),
                                                                       ("redeem", lp.address)]
    assert report.lp_pending == 3 and not report.errors and keeper.nonce - nonce == 2
    assert _settled_by(chain, pool, "DepositSettled", start) == [(alice.address, keeper.address)]
    assert _settled_by(chain, pool, "RedeemSettled", start) == [(lp.address, keeper.address)]
    assert int(pool.balanceOf(alice)) - alice_before == expected_shares
    assert int(usdc.balanceOf(lp)) - lp_usdc == expected_assets
    assert int(pool.balanceOf(lp)) == lp_shares - redeem
    assert {s.kind: s.amount for s in report.settled} == {"deposit": expected_shares, "redeem": expected_assets}
    # bob's request is still pending, on chain and in the keeper's index
    assert int(pool.depositRequest(bob)[0]) == DEPOSIT
    assert [(r.kind, r.controller) for r in bot.index.pending_requests(pool.address)] == [("deposit", bob.address)]
    assert "settled the deposit request of " + alice.address in keeper_logs.text

    # no new round: nothing to do
    assert not bot.step().settled and keeper.nonce - nonce == 2
    # a new round: bob's turn; a keeper restarted now (index rebuilt from events) does it
    next_round(market, owner)
    fresh = make_keeper(keeper)
    report = fresh.step()
    assert [(s.kind, s.controller) for s in report.settled] == [("deposit", bob.address)]
    assert int(pool.depositRequest(bob)[0]) == 0 and not fresh.index.pending_requests()
    assert keeper.nonce - nonce == 3


def test_a_redemption_waits_for_free_liquidity_with_one_log_line(chain, market, lp, alice, keeper, owner,
                                                                 make_keeper, open_vault, keeper_logs):
    """The LP asks to redeem every share while a position holds part of the liquidity in reserve:
    the settlement would revert InsufficientLiquidity. The keeper sends nothing, says so once, retries
    on every pass, and settles it once the position is closed."""
    pool = market.pool
    vault = open_vault(alice, is_long=True, size=ETH, margin=400 * USDC)
    shares = int(pool.balanceOf(lp))
    market.request_redeem(lp, shares)
    next_round(market, owner)
    assert int(pool.previewSettleRedeem(lp)) > int(pool.freeLiquidity())  # it cannot be paid now
    bot = make_keeper(keeper)
    nonce = keeper.nonce
    for _ in range(3):  # three passes (and a new round between them): still waiting, logged once
        report = bot.step()
        assert not report.settled and report.lp_waiting == 1 and not report.errors
        next_round(market, owner)
    assert keeper.nonce == nonce
    assert keeper_logs.text.count("waits for free liquidity") == 1
    assert "InsufficientLiquidity" in keeper_logs.text

    market.close(alice, vault)
    assert int(pool.reserved()) == 0
    start = chain.blocks.head.number + 1
    report = bot.step()
    assert [(s.kind, s.controller) for s in report.settled] == [("redeem", lp.address)]
    assert report.lp_waiting == 0 and keeper.nonce == nonce + 1
    assert _settled_by(chain, pool, "RedeemSettled", start) == [(lp.address, keeper.address)]
    assert int(pool.balanceOf(lp)) == 0 and int(pool.totalSupply()) == 0


def test_a_request_settled_by_someone_else_is_dropped_without_a_transaction(chain, market, alice, keeper,
                                                                            owner, make_keeper):
    """The keeper acts on the head minus one block: the LP settled its own request in the head block,
    which the keeper has not indexed yet. The simulation says NoRequest: nothing is sent, no error."""
    market.request_deposit(alice, DEPOSIT)
    next_round(market, owner)
    market.settle_deposit(alice, alice)
    bot = make_keeper(keeper, confirmations=1)
    nonce = keeper.nonce
    report = bot.step()
    assert report.lp_pending == 1 and not report.settled and not report.errors
    assert keeper.nonce == nonce and not bot.index.pending_requests()
    chain.mine(1)
    assert not bot.step().lp_pending  # and the settlement's event, indexed now, changes nothing


def test_a_stale_oracle_holds_settlements_back_until_a_fresh_round(chain, market, alice, keeper, owner,
                                                                   make_keeper, keeper_logs):
    market.request_deposit(alice, DEPOSIT)
    chain.mine(1, timestamp=chain.blocks.head.timestamp + 3_700)  # the feed is older than its max age
    bot = make_keeper(keeper)
    nonce = keeper.nonce
    report = bot.step()
    assert not report.settled and keeper.nonce == nonce
    assert any("StalePrice" in e for e in report.errors) and "StalePrice" in keeper_logs.text
    next_round(market, owner)
    report = bot.step()
    assert [(s.kind, s.controller) for s in report.settled] == [("deposit", alice.address)]
    assert not report.errors and keeper.nonce == nonce + 1


def test_dry_run_only_logs_what_it_would_settle(chain, market, alice, keeper, owner, make_keeper, keeper_logs):
    market.request_deposit(alice, DEPOSIT)
    next_round(market, owner)
    nonce = keeper.nonce
    report = make_keeper(keeper, dry_run=True).step()
    assert not report.settled and keeper.nonce == nonce
    assert "would settle 1 LP request(s)" in keeper_logs.text
    assert int(market.pool.depositRequest(alice)[0]) == DEPOSIT
