"""The Ringfence half of the bench: deploys through the SDK and measures each user story's ``gasUsed``.

Runs on whatever network Ape is connected to (the bench's Anvil, or py-evm / Anvil under pytest for
the gas snapshot). Every measured transaction is sent straight to the contract (the SDK hides the
receipts); set-up goes through the SDK. Each story checks from the events that it did what its name
says, and raises :class:`StoryError` otherwise.

State before each measured transaction, chosen to be the common case and the same on the Morpho side:
the market already has liquidity and another open position; the trader holds the token and approved
the pool long ago; the keeper already holds the token; the insurance fund already received a penalty.

LPs: the first deposit into the new pool (no shares yet) is the sync ERC-4626 ``deposit``
(``lp_bootstrap_deposit``); after it LPs enter and leave by requests settled on a later oracle round
(``lp_request_deposit`` then ``lp_settle_deposit``, ``lp_request_redeem`` then ``lp_settle_redeem``, the
settlements sent by the keeper). ``lp_deposit`` / ``lp_withdraw`` are the two transactions of an entry /
an exit summed, the rows that stand next to Morpho's ``supply`` / ``withdraw``.

Last, the MarginGuard's stories (:mod:`ringfence.bench.guard_side`, ``guard_*``), on a guard deployed
after everything else.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ringfence.abi import at
from ringfence.bench.guard_side import GuardStories, guard_available
from ringfence.bench.measure import Recorder, StoryError, ape_tx
from ringfence.bench.shared import ETH, USDC, USDC_DECIMALS, SharedEnv, feed_answer

MAX_UINT = 2**256 - 1
BATCH_SIZES = (10, 50, 100)
BLOCK_TIME = 12  # seconds between the previous block and each measured transaction

# Position shapes (ETH/USD market, MarketParams.default: IM 10 %, MM 5 %, min margin 10, min notional 50).
LP_SEED = 1_000_000 * USDC
TRADER = {"size": 1 * ETH, "margin": 400 * USDC}  # 7.5x long, the trader stories
PARTIAL = {"size": 10 * ETH, "margin": 3_500 * USDC}  # big: a partial liquidation restores it
SMALL = {"size": ETH // 50, "margin": 10 * USDC}  # 60 USDC notional: any partial would leave dust -> full
BAD_DEBT = {"size": 1 * ETH, "margin": 350 * USDC}  # liquidated below its bankruptcy price


def tick(chain: Any, seconds: int = BLOCK_TIME) -> None:
    """Dates the next block `seconds` after the head (Anvil and py-evm alike)."""
    chain.pending_timestamp = chain.blocks.head.timestamp + seconds


def _answer_below(price_wad: int, fraction: float) -> int:
    """A feed answer (8 decimals) `fraction` below a WAD price."""
    return int(price_wad * (1 - fraction)) // 10**10


@dataclass
class RingfenceContext:
    """What the stories need; built by :func:`deploy_ringfence`."""

    project: Any
    env: SharedEnv
    owner: Any
    protocol: Any  # ringfence.sdk.Protocol
    market: Any  # ringfence.sdk.Market
    liquidator: Any | None
    roles: dict[str, Any] = field(default_factory=dict)
    guard: Any | None = None  # ringfence.guard.Guard of the factory, when the project has the MarginGuard

    @property
    def pool(self) -> Any:
        return self.market.pool


def liquidation_available(project: Any) -> bool:
    """Whether the project has the Liquidator contract (liquidation landed)."""
    try:
        return project.Liquidator is not None
    except AttributeError:
        return False


def _ensure_liquidator(project: Any, protocol: Any, owner: Any) -> Any | None:
    """The factory's Liquidator: the SDK's if it set one, else deployed and set here (pools are fixed
    to the liquidator at creation, so this happens before createPool)."""
    if getattr(protocol, "liquidator", None) is not None:  # the SDK deploys and sets it
        return protocol.liquidator
    factory = protocol.factory
    if not liquidation_available(project) or not hasattr(factory, "liquidator"):
        return None
    current = str(factory.liquidator())
    if int(current, 16) == 0:
        liquidator = owner.deploy(project.Liquidator, factory.address)
        factory.setLiquidator(liquidator.address, sender=owner)
        return liquidator
    return at(project.Liquidator, current)


def deploy_ringfence(project: Any, accounts: Sequence[Any], env: SharedEnv, recorder: Recorder | None,
                     chain: Any) -> RingfenceContext:
    """Protocol.deploy, the Liquidator, deploy_oracle over the proxy, create_market (measured), seed LP,
    the factory's MarginGuard."""
    from ringfence.sdk import Guard, MarketParams, Protocol, deploy_oracle

    owner, guardian, lp, lp2, alice, bob, keeper = accounts[:7]
    protocol = Protocol.deploy(owner, guardian)
    liquidator = _ensure_liquidator(project, protocol, owner)
    oracle = deploy_oracle(owner, env.proxy, max_age=3600)
    tick(chain)
    market = protocol.create_market(owner, asset=env.usdc, oracle=oracle,
                                    params=MarketParams.default(USDC_DECIMALS),
                                    name="Ringfence ETH/USD LP", symbol="rfETH")
    if recorder is not None:
        receipt = _last_receipt(chain, protocol.factory.address)
        recorder.add("market_creation", [ape_tx("createPool", receipt)],
                     note="PoolFactory.createPool: pool + vault implementation + insurance fund")
    roles = {"owner": owner, "guardian": guardian, "lp": lp, "lp2": lp2, "alice": alice, "bob": bob, "keeper": keeper}
    env.usdc.mint(lp, LP_SEED, sender=owner)
    env.usdc.approve(market.pool.address, MAX_UINT, sender=lp)
    tick(chain)
    receipt = market.pool.deposit(LP_SEED, lp, sender=lp)  # the pool has no shares: sync deposit
    if recorder is not None:
        recorder.add("lp_bootstrap_deposit", [ape_tx("deposit", receipt)],
                     note="the first deposit, into a pool without shares (sync ERC-4626 deposit)")
    for who in (lp2, alice, bob, keeper):
        env.usdc.mint(who, 1_000_000 * USDC, sender=owner)
        env.usdc.approve(market.pool.address, MAX_UINT, sender=who)
    # Deployed last, so that no other contract's address (and calldata cost) moves.
    guard = Guard.deploy(owner, protocol.factory) if guard_available(project) else None
    return RingfenceContext(project, env, owner, protocol, market, liquidator, roles, guard)


def _last_receipt(chain: Any, to: str) -> Any:
    """The receipt of the newest transaction (auto-mining: one per block), checked to be sent to `to`."""
    block = chain.provider.web3.eth.get_block("latest")
    tx_hash = block["transactions"][-1]
    receipt = chain.provider.get_receipt(tx_hash if isinstance(tx_hash, str) else "0x" + bytes(tx_hash).hex())
    if str(receipt.receiver).lower() != str(to).lower():
        raise StoryError(f"latest transaction went to {receipt.receiver}, not {to}")
    return receipt


class RingfenceStories:
    """The user stories, in the order the bench runs them."""

    def __init__(self, ctx: RingfenceContext, recorder: Recorder, chain: Any,
                 new_account: Callable[[], Any],
                 before_batch: Callable[[int, list[str]], None] | None = None):
        self.ctx = ctx
        self.before_batch = before_batch  # called with the liquidatable vaults, before liquidateBatch
        self.rec = recorder
        self.chain = chain
        self.new_account = new_account
        self.pool = ctx.pool
        self.env = ctx.env
        self.r = ctx.roles

    # ------------------------------------------------------------------ helpers
    def _tick(self) -> None:
        """The next block comes BLOCK_TIME after the head: every measured transaction is the first of its
        second, so fee accrual (written at most once per second) is always paid, as on a real chain."""
        tick(self.chain)

    def _vault(self, address: str) -> Any:
        return at(self.ctx.project.PositionVault, address)

    def _fund(self, who: Any, amount: int = 100_000 * USDC) -> None:
        self.env.usdc.mint(who, amount, sender=self.ctx.owner)
        self.env.usdc.approve(self.pool.address, MAX_UINT, sender=who)

    def _fresh_trader(self) -> Any:
        who = self.new_account()
        self._fund(who)
        return who

    def _open(self, who: Any, shape: dict[str, int], nonce: int = 0, is_long: bool = True) -> Any:
        return self.pool.openPosition(nonce, is_long, shape["size"], shape["margin"], 0, sender=who)

    # ------------------------------------------------------------------ trader stories
    def trader_stories(self) -> None:
        env, pool, r = self.env, self.pool, self.r
        env.set_price(3000)
        self._open(r["bob"], TRADER)  # another open position: open interest and reserve are not zero
        alice = r["alice"]
        vault = str(pool.vaultAddress(alice, 0))
        if self.chain.provider.get_code(vault):
            raise StoryError("alice's vault exists before her first open")

        self._tick()
        receipt = self._open(alice, TRADER)
        if not self.chain.provider.get_code(vault):
            raise StoryError("openPosition did not create the vault")
        self.rec.add("open_from_nothing", [ape_tx("openPosition", receipt)],
                     note="creates the vault clone, books the position, pulls the margin into the vault")

        self._tick()
        receipt = pool.addMargin(vault, 100 * USDC, sender=alice)
        self.rec.add("add_margin", [ape_tx("addMargin", receipt)])

        self._tick()
        receipt = pool.removeMargin(vault, 50 * USDC, alice, sender=alice)
        self.rec.add("remove_margin", [ape_tx("removeMargin", receipt)], note="partial: 50 of 450 USDC")

        env.set_price(3150)
        self._tick()
        receipt = pool.closePosition(vault, alice, 0, sender=alice)
        closed = receipt.decode_logs(pool.PositionClosed)[0]
        if int(closed.pnl) <= 0:
            raise StoryError(f"close at a profit booked pnl {closed.pnl}")
        self.rec.add("close_profit", [ape_tx("closePosition", receipt)], pnl=int(closed.pnl),
                     payout=int(closed.payout), note="vault pays the margin back, the pool pays the profit")

        self._tick()
        receipt = self._open(alice, TRADER)
        self.rec.add("reopen", [ape_tx("openPosition", receipt)], note="same nonce: the kept vault is reused")

        env.set_price(3050)
        self._tick()
        receipt = pool.closePosition(vault, alice, 0, sender=alice)
        closed = receipt.decode_logs(pool.PositionClosed)[0]
        if int(closed.pnl) >= 0:
            raise StoryError(f"close at a loss booked pnl {closed.pnl}")
        self.rec.add("close_loss", [ape_tx("closePosition", receipt)], pnl=int(closed.pnl),
                     payout=int(closed.payout), note="vault pays the owner and the pool")
        env.set_price(3000)

    def _next_round(self) -> None:
        """A new oracle round (same answer) a second after the head: what lets a request settle."""
        tick(self.chain, 1)
        self.env.set_answer(self.env.answer())

    def lp_stories(self) -> None:
        """A new LP enters (requestDeposit, then the keeper's settleDeposit on the next round) and
        leaves with half its shares (requestRedeem, settleRedeem), while bob's position is open."""
        pool, lp2, keeper = self.pool, self.r["lp2"], self.r["keeper"]
        if int(pool.totalSupply()) == 0 or int(pool.reserved()) == 0:
            raise StoryError("the LP stories expect a pool with shares and an open position")
        self._tick()
        r1 = pool.requestDeposit(10_000 * USDC, lp2, sender=lp2)
        quote = int(r1.decode_logs(pool.DepositRequested)[0].quoteShares)
        self.rec.add("lp_request_deposit", [ape_tx("requestDeposit", r1)],
                     note="a new LP pays 10,000 USDC in; the shares are minted at settlement")
        self._next_round()
        self._tick()
        r2 = pool.settleDeposit(lp2, sender=keeper)
        settled = r2.decode_logs(pool.DepositSettled)[0]
        shares = int(settled.shares)
        if not 0 < shares <= quote or int(pool.balanceOf(lp2)) != shares:
            raise StoryError(f"settleDeposit minted {shares} shares (quote {quote})")
        self.rec.add("lp_settle_deposit", [ape_tx("settleDeposit", r2)], shares=shares,
                     note="by the keeper, on the next oracle round: mints the shares (marked price)")
        self.rec.add("lp_deposit", [ape_tx("requestDeposit", r1), ape_tx("settleDeposit", r2)],
                     note="a new LP's entry, the two transactions summed")

        self._tick()
        r3 = pool.requestRedeem(shares // 2, lp2, lp2, sender=lp2)
        quote = int(r3.decode_logs(pool.RedeemRequested)[0].quoteAssets)
        self.rec.add("lp_request_redeem", [ape_tx("requestRedeem", r3)],
                     note="half the LP's shares handed to the pool (escrow)")
        self._next_round()
        self._tick()
        r4 = pool.settleRedeem(lp2, sender=keeper)
        paid = r4.decode_logs(pool.RedeemSettled)[0]
        if not 0 < int(paid.assets) <= quote or int(paid.shares) != shares // 2:
            raise StoryError(f"settleRedeem paid {paid.assets} for {paid.shares} shares (quote {quote})")
        self.rec.add("lp_settle_redeem", [ape_tx("settleRedeem", r4)], assets=int(paid.assets),
                     note="by the keeper, on the next oracle round: burns the shares, pays the LP")
        self.rec.add("lp_withdraw", [ape_tx("requestRedeem", r3), ape_tx("settleRedeem", r4)],
                     note="an LP's exit (half its shares), the two transactions summed")

    # ------------------------------------------------------------------ liquidation stories
    def _liquidate_one(self, vault: str, direct: bool = False) -> tuple[Any, Any]:
        self._tick()
        keeper = self.r["keeper"]
        if direct:  # a keeper of one pool can skip the Liquidator's routing and registry check
            receipt = self.pool.liquidate([vault], keeper, True, sender=keeper)
        else:
            liquidator = self.ctx.liquidator
            if liquidator is None:
                raise StoryError("this build has no Liquidator")
            receipt = liquidator.liquidate(vault, sender=keeper)
        events = receipt.decode_logs(self.pool.Liquidated)
        if len(events) != 1:
            raise StoryError(f"liquidate({vault}) emitted {len(events)} Liquidated events")
        return receipt, events[0]

    def liquidation_stories(self) -> None:
        if self.ctx.liquidator is None:
            return
        env = self.env
        env.set_price(3000)
        warm, partial, full, bad, direct = (self._fresh_trader() for _ in range(5))
        v_warm = str(self.pool.vaultAddress(warm, 0))
        v_direct = str(self.pool.vaultAddress(direct, 0))
        v_partial = str(self.pool.vaultAddress(partial, 0))
        v_full = str(self.pool.vaultAddress(full, 0))
        v_bad = str(self.pool.vaultAddress(bad, 0))
        self._open(warm, SMALL)
        self._open(partial, PARTIAL)
        self._open(full, SMALL)
        self._open(bad, BAD_DEBT)
        self._open(direct, SMALL)

        # Warm-up (not measured): the insurance fund and the keeper already hold the token.
        env.set_answer(_answer_below(int(self._vault(v_warm).liquidationPrice()), 0.005))
        self._liquidate_one(v_warm)

        env.set_answer(_answer_below(int(self._vault(v_partial).liquidationPrice()), 0.002))
        receipt, ev = self._liquidate_one(v_partial)
        if ev.full or int(ev.badDebt) != 0:
            raise StoryError(f"partial liquidation: full={ev.full} badDebt={ev.badDebt}")
        self.rec.add("liquidate_partial", [ape_tx("Liquidator.liquidate", receipt)],
                     closed_fraction=round(int(ev.closedSize) / PARTIAL["size"], 4),
                     note="closes the smallest fraction that restores T; position stays open")

        env.set_answer(_answer_below(int(self._vault(v_full).liquidationPrice()), 0.005))
        receipt, ev = self._liquidate_one(v_full)
        if not ev.full or int(ev.badDebt) != 0 or int(ev.ownerCredit) == 0:
            raise StoryError(f"full liquidation: full={ev.full} badDebt={ev.badDebt} credit={ev.ownerCredit}")
        self.rec.add("liquidate_full", [ape_tx("Liquidator.liquidate", receipt)],
                     owner_credit=int(ev.ownerCredit),
                     note="small position (a partial would leave dust): closed, leftover credited to the owner")

        env.set_answer(_answer_below(int(self._vault(v_direct).liquidationPrice()), 0.005))
        receipt, ev = self._liquidate_one(v_direct, direct=True)
        if not ev.full or int(ev.badDebt) != 0 or int(ev.ownerCredit) == 0:
            raise StoryError(f"direct full liquidation: full={ev.full} badDebt={ev.badDebt}")
        self.rec.add("liquidate_full_direct", [ape_tx("MarginPool.liquidate", receipt)],
                     owner_credit=int(ev.ownerCredit), note="the same, called on the pool by the keeper for itself")

        env.set_answer(_answer_below(int(self._vault(v_bad).bankruptcyPrice()), 0.03))
        receipt, ev = self._liquidate_one(v_bad)
        if not ev.full or int(ev.badDebt) == 0:
            raise StoryError(f"bad-debt liquidation: full={ev.full} badDebt={ev.badDebt}")
        self.rec.add("liquidate_bad_debt", [ape_tx("Liquidator.liquidate", receipt)],
                     bad_debt=int(ev.badDebt), note="below the bankruptcy price: insurance fund covers")
        env.set_price(3000)

    def batch_story(self, n: int) -> None:
        """n vaults of n different owners, liquidated fully in one liquidateBatch."""
        if self.ctx.liquidator is None:
            return
        env, pool = self.env, self.pool
        env.set_price(3000)
        vaults = []
        for _ in range(n):
            who = self._fresh_trader()
            self._open(who, SMALL)
            vaults.append(str(pool.vaultAddress(who, 0)))
        env.set_answer(_answer_below(int(self._vault(vaults[-1]).liquidationPrice()), 0.005))
        if self.before_batch is not None:
            self.before_batch(n, vaults)
        self._tick()
        receipt = self.ctx.liquidator.liquidateBatch([(pool.address, vaults)], sender=self.r["keeper"])
        events = receipt.decode_logs(pool.Liquidated)
        if len(events) != n or not all(e.full and int(e.badDebt) == 0 for e in events):
            raise StoryError(f"batch of {n}: {len(events)} liquidated")
        self.rec.add(f"batch_{n}_per_vault", [ape_tx("Liquidator.liquidateBatch", receipt)], per=n,
                     note=f"liquidateBatch of {n} small vaults of {n} owners (full, owners credited), / {n}")
        env.set_price(3000)

    def run(self, batch_sizes: Sequence[int] = BATCH_SIZES) -> None:
        self.trader_stories()
        self.rec.derive("open_close_from_nothing", ["open_from_nothing", "close_profit"],
                        note="derived: the open from nothing's and the close at a profit's transactions, summed")
        self.lp_stories()
        self.liquidation_stories()
        for n in batch_sizes:
            self.batch_story(n)
        self.guard_stories()

    def guard_stories(self) -> None:
        """The MarginGuard's stories (:mod:`ringfence.bench.guard_side`), last: nothing above depends on them."""
        if self.ctx.guard is None:
            return
        GuardStories(self.ctx.guard, self.ctx.market, self.env, self.rec, self.r["keeper"], self._fresh_trader,
                     self._tick).run()


def account_factory(accounts: Any, chain: Any) -> Callable[[], Any]:
    """Fresh funded test accounts (deterministic: the next indexes of the test mnemonic)."""
    test_accounts = accounts.test_accounts if hasattr(accounts, "test_accounts") else accounts

    def new_account() -> Any:
        acct = test_accounts.generate_test_account()
        try:
            chain.provider.set_balance(acct.address, 10**21)
        except NotImplementedError:  # py-evm: fund it from the last configured test account
            funder = test_accounts[int(getattr(test_accounts, "number_of_accounts", 10)) - 1]
            funder.transfer(acct, 10**19)
        return acct

    return new_account


def run_ringfence(project: Any, accounts: Any, chain: Any, env: SharedEnv, recorder: Recorder,
                  batch_sizes: Sequence[int] = BATCH_SIZES,
                  before_batch: Callable[[int, list[str]], None] | None = None) -> RingfenceContext:
    """Deploys Ringfence on the connected network and runs every story; returns the context."""
    test_accounts = accounts.test_accounts if hasattr(accounts, "test_accounts") else accounts
    ctx = deploy_ringfence(project, list(test_accounts)[:7], env, recorder, chain)
    RingfenceStories(ctx, recorder, chain, account_factory(accounts, chain), before_batch).run(batch_sizes)
    return ctx


__all__ = ["BATCH_SIZES", "RingfenceContext", "RingfenceStories", "account_factory", "deploy_ringfence",
           "feed_answer", "liquidation_available", "run_ringfence"]
