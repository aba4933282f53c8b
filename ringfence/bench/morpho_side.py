"""The Morpho Blue 1.0.0 half of the bench, driven by raw web3.py against the bench's Anvil.

Morpho and its rate model are deployed from bytecode compiled with Morpho Blue's own settings
(:mod:`ringfence.bench.artifacts`). The market lends the same ``MockERC20`` USDC that Ringfence settles
in, against the same ``MockERC20`` (18 decimals) as WETH collateral, priced by
``MorphoChainlinkOracle`` reading the same Chainlink proxy → aggregator as Ringfence's oracle.
The rate model is the package's ``IrmMock`` (utilization-linear, pure): Morpho accrues interest on
every call, as Ringfence accrues its borrow fee. Actors are fresh addresses (Anvil auto-impersonation).

Each story mirrors a Ringfence one (see ``ringfence_side``), in the same state: liquidity supplied and
another borrower in the market; the trader already holds both tokens and approved Morpho; the
liquidator already holds USDC.

Morpho Blue has no one-transaction open, close or batch of its own: users go through a bundler. The
stories measure both ways. ``open_from_nothing``, ``reopen``, ``close_profit``, ``close_loss`` and the
``batch_<n>_per_vault`` rows go through ``MorphoBundler`` (contracts/test/bench, a stand-in for Morpho's
bundlers: one transaction each, the bundler's own token pull and calls included); the ``*_2tx`` rows
are the same operations as direct Morpho calls, two transactions summed, and
``liquidate_full_mean_of_singles`` is single liquidations, each its own transaction. The bundler's
set-up (``setAuthorization``, token approvals, its USDC) is not counted, like every approval.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from web3 import Web3
from web3.logs import DISCARD
from web3.types import RPCEndpoint

from ringfence.bench.artifacts import Artifact, morpho_artifacts
from ringfence.bench.measure import Recorder, StoryError, web3_tx
from ringfence.bench.ringfence_side import BLOCK_TIME
from ringfence.bench.shared import ETH, USDC, USDC_DECIMALS, WETH_DECIMALS, SharedEnv
from ringfence.chain.contracts import abi

LLTV = 860_000_000_000_000_000  # 86 %, Morpho's WETH/USDC-style market
MAX_UINT = 2**256 - 1
PER_LIQUIDATION_SAMPLES = 10
LIQUIDATION_PRICE = 2850  # LTV 2500/2850 = 87.7 % > LLTV 86 %, seized 97 % of the collateral: no bad debt
KEEPER_USDC = 1_000_000 * USDC

TOKEN_ENTRIES = ("mint", "approve", "balanceOf")
"""What the Morpho stories call on the benchmark's tokens (MockERC20s)."""


@dataclass
class MorphoContext:
    w3: Web3
    morpho: Any
    irm: Any
    oracle: Any
    usdc: Any
    weth: Any
    params: tuple
    market_id: bytes
    bundler: Any = None  # MorphoBundler the traders use; holds nothing between transactions (setup)
    keeper_bundler: Any = None  # MorphoBundler of the keeper, holding its USDC (setup)


class MorphoStories:
    def __init__(self, w3: Web3, env: SharedEnv, recorder: Recorder, set_price: Callable[[float], None],
                 set_answer: Callable[[int], None], artifacts: dict[str, Artifact] | None = None):
        self.w3 = w3
        self.env = env
        self.rec = recorder
        self.set_price = set_price
        self.set_answer = set_answer
        self.arts = {**(artifacts or morpho_artifacts()),
                     **{k: env.artifacts[k] for k in ("MorphoChainlinkOracle", "MorphoBundler")}}
        w3.provider.make_request(RPCEndpoint("anvil_autoImpersonateAccount"), [True])
        token_abi = abi("MockERC20", TOKEN_ENTRIES)
        self.usdc = w3.eth.contract(address=Web3.to_checksum_address(str(env.usdc.address)), abi=token_abi)
        self.weth = w3.eth.contract(address=Web3.to_checksum_address(str(env.weth.address)), abi=token_abi)
        self.ctx: MorphoContext | None = None

    @property
    def context(self) -> MorphoContext:
        """The deployed Morpho side (after :meth:`setup`)."""
        if self.ctx is None:
            raise RuntimeError("MorphoStories.setup() has not run")
        return self.ctx

    # ------------------------------------------------------------------ plumbing
    def actor(self) -> str:
        """A fresh address with ETH, impersonated by Anvil; deterministic (the n-th of the bench), so
        runs are comparable to the gas unit (an address's zero bytes change calldata costs)."""
        self._actors = getattr(self, "_actors", 0) + 1
        address = Account.from_key(Web3.keccak(text=f"ringfence-bench-morpho-{self._actors}")).address
        self.w3.provider.make_request(RPCEndpoint("anvil_setBalance"), [address, hex(10**21)])
        return address

    def tick(self, seconds: int = BLOCK_TIME) -> None:
        """Dates the next block `seconds` after the head (see ringfence_side.tick)."""
        head = self.w3.eth.get_block("latest")["timestamp"]
        self.w3.provider.make_request(RPCEndpoint("evm_setNextBlockTimestamp"), [head + seconds])

    def send(self, fn: Any, sender: str, tick: bool = False) -> Any:
        """Sends and waits; `tick`: mine it BLOCK_TIME after the head (every Morpho call, measured or not:
        Morpho accrues interest at most once per second)."""
        if tick:
            self.tick()
        tx_hash = fn.transact({"from": sender})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30, poll_latency=0.005)
        if receipt["status"] != 1:
            raise StoryError(f"Morpho transaction reverted: {tx_hash.hex()}")
        return receipt

    def deploy(self, name: str, *args: Any, sender: str) -> Any:
        art = self.arts[name]
        factory = self.w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
        receipt = self.send(factory.constructor(*args), sender)
        return self.w3.eth.contract(address=receipt["contractAddress"], abi=art.abi)

    def fund(self, who: str, usdc: int = 0, weth: int = 0) -> None:
        morpho = self.context.morpho.address
        if usdc:
            self.send(self.usdc.functions.mint(who, usdc), who)
            self.send(self.usdc.functions.approve(morpho, MAX_UINT), who)
        if weth:
            self.send(self.weth.functions.mint(who, weth), who)
            self.send(self.weth.functions.approve(morpho, MAX_UINT), who)

    def position(self, who: str) -> tuple[int, int, int]:
        return tuple(self.context.morpho.functions.position(self.context.market_id, who).call())  # type: ignore[return-value]

    # ------------------------------------------------------------------ Morpho calls
    def supply_collateral(self, who: str, assets: int) -> Any:
        return self.send(self.context.morpho.functions.supplyCollateral(self.context.params, assets, who, b""), who, tick=True)

    def borrow(self, who: str, assets: int) -> Any:
        return self.send(self.context.morpho.functions.borrow(self.context.params, assets, 0, who, who), who, tick=True)

    def repay_all(self, who: str) -> Any:
        shares = self.position(who)[1]
        return self.send(self.context.morpho.functions.repay(self.context.params, 0, shares, who, b""), who, tick=True)

    def withdraw_collateral(self, who: str, assets: int | None = None) -> Any:
        if assets is None:
            assets = self.position(who)[2]
        return self.send(self.context.morpho.functions.withdrawCollateral(self.context.params, assets, who, who), who, tick=True)

    def liquidate(self, keeper: str, borrower: str, seized: int = 0, repaid_shares: int = 0) -> tuple[Any, Any]:
        receipt = self.send(self.context.morpho.functions.liquidate(self.context.params, borrower, seized, repaid_shares, b""),
                            keeper, tick=True)
        events = self.liquidations(receipt)
        if len(events) != 1:
            raise StoryError(f"Morpho liquidate emitted {len(events)} Liquidate events")
        return receipt, events[0]

    def liquidations(self, receipt: Any) -> list[Any]:
        """The args of the Liquidate events Morpho emitted in `receipt`."""
        return [e["args"] for e in self.context.morpho.events.Liquidate().process_receipt(receipt, errors=DISCARD)
                if e["address"] == self.context.morpho.address]

    # ------------------------------------------------------------------ bundler calls
    def bundler_user(self) -> str:
        """A fresh trader who authorised the bundler on Morpho and approved it for both tokens (set-up)."""
        who = self.trader()
        bundler = self.context.bundler.address
        self.send(self.context.morpho.functions.setAuthorization(bundler, True), who)
        self.send(self.usdc.functions.approve(bundler, MAX_UINT), who)
        self.send(self.weth.functions.approve(bundler, MAX_UINT), who)
        return who

    def bundle_open(self, who: str, collateral: int, borrow: int) -> Any:
        return self.send(self.context.bundler.functions.open(self.context.params, collateral, borrow), who, tick=True)

    def bundle_close(self, who: str) -> Any:
        receipt = self.send(self.context.bundler.functions.close(self.context.params), who, tick=True)
        if self.position(who) != (0, 0, 0):
            raise StoryError(f"MorphoBundler.close left {self.position(who)}")
        return receipt

    # ------------------------------------------------------------------ stories
    def setup(self) -> None:
        w3 = self.w3
        owner = self.actor()
        irm = self.deploy("IrmMock", sender=owner)
        morpho = self.deploy("Morpho", owner, sender=owner)
        oracle = self.deploy("MorphoChainlinkOracle", Web3.to_checksum_address(str(self.env.proxy.address)),
                             USDC_DECIMALS, WETH_DECIMALS, sender=owner)
        params = (self.usdc.address, self.weth.address, oracle.address, irm.address, LLTV)
        self.send(morpho.functions.enableIrm(irm.address), owner)
        self.send(morpho.functions.enableLltv(LLTV), owner)
        market_id = Web3.keccak(w3.codec.encode(["address", "address", "address", "address", "uint256"], list(params)))
        self.ctx = MorphoContext(w3, morpho, irm, oracle, self.usdc, self.weth, params, market_id)
        receipt = self.send(morpho.functions.createMarket(params), owner, tick=True)
        self.rec.add("market_creation", [web3_tx("createMarket", receipt)], note="after enableIrm / enableLltv (not counted)")
        price = oracle.functions.price().call()
        if price != self.env.answer() * 10 ** (36 + USDC_DECIMALS - WETH_DECIMALS - 8):
            raise StoryError(f"Morpho oracle price {price} does not match the feed")

        lp = self.actor()
        self.fund(lp, usdc=1_000_000 * USDC)
        self.send(morpho.functions.supply(params, 1_000_000 * USDC, 0, lp, b""), lp)
        self.lp2 = self.actor()
        self.fund(self.lp2, usdc=1_000_000 * USDC)
        self.keeper = self.actor()
        self.fund(self.keeper, usdc=KEEPER_USDC)
        self.ctx.bundler = self._deploy_bundler(owner)
        self.ctx.keeper_bundler = self._deploy_bundler(self.keeper)
        self.send(self.usdc.functions.mint(self.ctx.keeper_bundler.address, KEEPER_USDC), self.keeper)
        self.send(self.weth.functions.mint(self.ctx.keeper_bundler.address, ETH // 100), self.keeper)

    def _deploy_bundler(self, deployer: str) -> Any:
        """A MorphoBundler that Morpho may pull both tokens from (set-up). Two: the traders' (holds
        nothing between transactions, as Morpho's public bundlers) and the keeper's own (its
        ``liquidateBatch`` spends the keeper's USDC the bundler holds; like the keeper for single
        liquidations, it already holds some seized collateral)."""
        bundler = self.deploy("MorphoBundler", self.context.morpho.address, sender=deployer)
        for token in (self.usdc, self.weth):
            self.send(bundler.functions.approveMorpho(token.address), deployer)
        return bundler

    def trader(self) -> str:
        who = self.actor()
        self.fund(who, usdc=10_000 * USDC, weth=100 * ETH)
        return who

    def trader_stories(self) -> None:
        self.set_price(3000)
        bob = self.trader()  # another borrower: the market's borrow totals are not zero
        self.supply_collateral(bob, ETH)
        self.borrow(bob, 1_000 * USDC)
        self.two_transaction_stories()
        self.bundler_stories()
        self.rec.derive("open_close_from_nothing", ["open_from_nothing", "close_profit"],
                        note="derived: the bundler's open and close at a profit, summed")
        self.rec.derive("open_close_from_nothing_2tx", ["open_from_nothing_2tx", "close_profit_2tx"],
                        note="derived: the four direct Morpho transactions, summed")

    def two_transaction_stories(self) -> None:
        """A borrower calling Morpho directly: an open or a close is two transactions (the ``*_2tx`` rows)."""
        alice = self.trader()
        a = self.supply_collateral(alice, ETH)
        b = self.borrow(alice, 2_000 * USDC)
        self.rec.add("open_from_nothing_2tx", [web3_tx("supplyCollateral", a), web3_tx("borrow", b)],
                     note="a new borrower: collateral in, then the loan out (two transactions)")
        receipt = self.supply_collateral(alice, ETH // 10)
        self.rec.add("add_margin", [web3_tx("supplyCollateral", receipt)])
        receipt = self.withdraw_collateral(alice, ETH // 20)
        self.rec.add("remove_margin", [web3_tx("withdrawCollateral", receipt)])

        self.set_price(3150)
        r1 = self.repay_all(alice)
        r2 = self.withdraw_collateral(alice)
        if self.position(alice) != (0, 0, 0):
            raise StoryError("Morpho close left a position")
        self.rec.add("close_profit_2tx", [web3_tx("repay", r1), web3_tx("withdrawCollateral", r2)],
                     note="all borrow shares, then all the collateral (two transactions)")

        a = self.supply_collateral(alice, ETH)
        b = self.borrow(alice, 2_000 * USDC)
        self.rec.add("reopen_2tx", [web3_tx("supplyCollateral", a), web3_tx("borrow", b)],
                     note="the same borrower after a full close (two transactions)")

        self.set_price(3050)
        r1 = self.repay_all(alice)
        r2 = self.withdraw_collateral(alice)
        self.rec.add("close_loss_2tx", [web3_tx("repay", r1), web3_tx("withdrawCollateral", r2)],
                     note="all borrow shares, then all the collateral (two transactions)")
        self.set_price(3000)

    def bundler_stories(self) -> None:
        """A borrower going through the bundler: an open or a close is one transaction. The price moves as
        on the Ringfence side (Morpho books no profit or loss: the names follow Ringfence's stories)."""
        carol = self.bundler_user()
        receipt = self.bundle_open(carol, ETH, 2_000 * USDC)
        self.rec.add("open_from_nothing", [web3_tx("MorphoBundler.open", receipt)],
                     note="a new borrower, one transaction: collateral pulled by the bundler, "
                          "supplyCollateral + borrow on the borrower's behalf")
        self.set_price(3150)
        receipt = self.bundle_close(carol)
        self.rec.add("close_profit", [web3_tx("MorphoBundler.close", receipt)],
                     note="one transaction: repay all borrow shares (the assets pulled from the borrower in "
                          "onMorphoRepay), withdrawCollateral of all of it")
        receipt = self.bundle_open(carol, ETH, 2_000 * USDC)
        self.rec.add("reopen", [web3_tx("MorphoBundler.open", receipt)],
                     note="the same borrower after a full close, one transaction (Morpho keeps no per-position account)")
        self.set_price(3050)
        receipt = self.bundle_close(carol)
        self.rec.add("close_loss", [web3_tx("MorphoBundler.close", receipt)], note="the same, one transaction")
        self.set_price(3000)

    def lp_stories(self) -> None:
        m, p, lp2 = self.context.morpho, self.context.params, self.lp2
        receipt = self.send(m.functions.supply(p, 10_000 * USDC, 0, lp2, b""), lp2, tick=True)
        self.rec.add("lp_deposit", [web3_tx("supply", receipt)], note="supply by a new lender")
        receipt = self.send(m.functions.withdraw(p, 5_000 * USDC, 0, lp2, lp2), lp2, tick=True)
        self.rec.add("lp_withdraw", [web3_tx("withdraw", receipt)], note="withdraw, half")

    def _borrower(self, borrow: int = 2_500 * USDC) -> str:
        """A fresh borrower of `borrow` against 1 WETH (its collateral is all it was given)."""
        who = self.actor()
        self.fund(who, weth=ETH)
        self.supply_collateral(who, ETH)
        self.borrow(who, borrow)
        return who

    def liquidation_stories(self, per_liquidation_samples: int = PER_LIQUIDATION_SAMPLES) -> None:
        self.set_price(3000)
        keeper = self.keeper
        warm, partial, full, bad = (self._borrower() for _ in range(4))
        singles = [self._borrower() for _ in range(per_liquidation_samples)]
        self.set_price(LIQUIDATION_PRICE)

        self.liquidate(keeper, warm, repaid_shares=self.position(warm)[1])  # warm-up, not measured

        shares = self.position(partial)[1]
        receipt, ev = self.liquidate(keeper, partial, repaid_shares=shares // 2)
        if self.position(partial)[1] == 0 or ev["badDebtShares"] != 0:
            raise StoryError("Morpho partial liquidation repaid everything")
        self.rec.add("liquidate_partial", [web3_tx("liquidate", receipt)], note="half the borrow shares; the position stays open")

        receipt, ev = self.liquidate(keeper, full, repaid_shares=self.position(full)[1])
        pos = self.position(full)
        if pos[1] != 0 or pos[2] == 0 or ev["badDebtShares"] != 0:
            raise StoryError(f"Morpho full liquidation left {pos}")
        self.rec.add("liquidate_full", [web3_tx("liquidate", receipt)],
                     note="all the borrow shares; the rest of the collateral stays the borrower's")
        self.rec.add("liquidate_full_direct", [web3_tx("liquidate", receipt)],
                     note="the same transaction: Morpho is always called directly")

        txs = [web3_tx("liquidate", self.liquidate(keeper, who, repaid_shares=self.position(who)[1])[0])
               for who in singles]
        self.rec.add("liquidate_full_mean_of_singles", txs, per=len(txs),
                     note=f"mean of {len(txs)} full liquidations of {len(txs)} borrowers, each its own transaction")

        self.set_price(2300)  # collateral worth less than the debt
        receipt, ev = self.liquidate(keeper, bad, seized=self.position(bad)[2])
        if ev["badDebtShares"] == 0:
            raise StoryError("Morpho bad-debt liquidation realized no bad debt")
        self.rec.add("liquidate_bad_debt", [web3_tx("liquidate", receipt)],
                     note="all the collateral; the rest of the debt is realized as bad debt")
        self.set_price(3000)

    def batch_story(self, n: int) -> None:
        """n fresh borrowers liquidated fully (all their borrow shares) in one ``liquidateBatch`` of the
        keeper's bundler: n Morpho ``liquidate`` calls in one transaction."""
        self.set_price(3000)
        borrowers = [self._borrower() for _ in range(n)]
        self.set_price(LIQUIDATION_PRICE)
        receipt = self.send(self.context.keeper_bundler.functions.liquidateBatch(self.context.params, borrowers),
                            self.keeper, tick=True)
        events = self.liquidations(receipt)
        left = [who for who in borrowers if self.position(who)[1] != 0]
        if len(events) != n or left or any(ev["badDebtShares"] != 0 for ev in events):
            raise StoryError(f"Morpho batch of {n}: {len(events)} liquidated, {len(left)} left with debt")
        self.rec.add(f"batch_{n}_per_vault", [web3_tx("MorphoBundler.liquidateBatch", receipt)], per=n,
                     note=f"one liquidateBatch (bundler multicall) of {n} full liquidations of {n} borrowers, / {n}")
        self.set_price(3000)

    def run(self, with_liquidations: bool, batch_sizes: Sequence[int]) -> None:
        self.setup()
        self.trader_stories()
        self.lp_stories()
        if with_liquidations:
            self.liquidation_stories()
            for n in batch_sizes:
                self.batch_story(n)
