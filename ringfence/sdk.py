"""A typed SDK over the Ringfence contracts, shared by the scripts, the tests, the keeper and the simulator.

Nothing here touches a network at import time: contract containers come from
:func:`ringfence.chain.contracts.container` (the checkout's build, or the package's bundled types) when
a function needs them. Every call that can revert goes through :func:`ringfence.errors.contract_errors`,
so callers see :class:`ringfence.errors.RingfenceError` subclasses with the error's arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from ringfence.abi import at, erc20_abi
from ringfence.chain.contracts import container
from ringfence.errors import contract_errors
from ringfence.guard import Guard, GuardPolicy  # noqa: F401 - re-exported: the MarginGuard's SDK
from ringfence.market_reads import MarketReads
from ringfence.model import MarketParams, Position
from ringfence.progress import approve_when_short, send
from ringfence.units import WAD, from_units, from_wad

SECONDS_PER_YEAR = 365 * 24 * 3600
MIN_DELAY = 3600
"""``PoolFactory.MIN_DELAY``: the shortest owner delay a factory accepts (seconds)."""
DEFAULT_DELAY = 24 * 3600
"""The owner delay (``PoolFactory.delay``, seconds) the tooling deploys with unless told otherwise."""
Approve = bool | Literal["unlimited"]
"""How a call that pulls tokens approves the pool: ``True`` exactly the amount (when the allowance is
short of it), ``"unlimited"`` the largest allowance (opt-in), ``False`` not at all."""
MAX_KEEPER_BONUS_MIN_TOKENS = 100
"""``PoolFactory.MAX_KEEPER_BONUS_MIN_TOKENS``: a market's cap on its keeper-bonus floor is at most this
many whole settlement tokens."""


@dataclass(frozen=True)
class VaultState:
    """Everything a trader wants to see about one vault, read on chain at one price."""

    address: str
    owner: str
    is_long: bool
    size: int  # WAD
    entry_price_wad: int
    price_wad: int
    margin: int  # assets
    fees: int  # assets owed now
    equity: int  # assets
    health_wad: int
    liquidation_price_wad: int
    bankruptcy_price_wad: int
    liquidatable: bool
    decimals: int

    @property
    def notional(self) -> int:
        """Current notional in assets (rounded down)."""
        return self.size * self.price_wad * 10**self.decimals // WAD // WAD

    @property
    def pnl(self) -> int:
        """Equity - margin + fees: the PnL the vault would book now (capped, rounded down)."""
        return self.equity - self.margin + self.fees

    @property
    def leverage(self) -> Decimal:
        """Notional at the current price / margin (infinite without margin): the leverage of
        :meth:`Market.quote` (at the entry price) followed through price moves."""
        if self.margin <= 0:
            return Decimal("Infinity")
        return Decimal(self.notional) / Decimal(self.margin)

    def human(self) -> dict[str, str]:
        """The state formatted for a table."""
        d = self.decimals
        return {
            "vault": self.address,
            "side": "long" if self.is_long else "short",
            "size": f"{from_wad(self.size):.4f}",
            "entry": f"{from_wad(self.entry_price_wad):.2f}",
            "price": f"{from_wad(self.price_wad):.2f}",
            "margin": f"{from_units(self.margin, d):.2f}",
            "pnl": f"{from_units(self.pnl, d):.2f}",
            "equity": f"{from_units(self.equity, d):.2f}",
            "leverage": f"{self.leverage:.2f}x",
            "health": f"{from_wad(self.health_wad):.3f}" if self.health_wad < 2**255 else "inf",
            "liq. price": f"{from_wad(self.liquidation_price_wad):.2f}",
            "bankruptcy": f"{from_wad(self.bankruptcy_price_wad):.2f}",
        }


@dataclass(frozen=True)
class LpRequests:
    """One controller's pending LP requests (zeros where there is none)."""

    deposit_assets: int
    deposit_quote_shares: int
    deposit_time: int
    redeem_shares: int
    redeem_quote_assets: int
    redeem_time: int


class Market(MarketReads):
    """One Ringfence market (a MarginPool) and the calls traders and LPs make on it. With a ``lens``
    (the protocol's Lens), :class:`ringfence.market_reads.MarketReads` reads the market in few calls."""

    state_type = VaultState

    def __init__(self, pool: Any, lens: Any = None):
        self.pool = pool
        self.lens = lens
        self._vault_implementation: str | None = None
        read = self._lens_market([])
        state = read[0] if read is not None else None
        self.asset_address: str = str(state.asset if state is not None else pool.asset())
        scale = int(state.priceScale if state is not None else pool.priceScale())
        self.decimals: int = 36 - len(str(scale)) + 1

    @property
    def address(self) -> str:
        return str(self.pool.address)

    @property
    def oracle_address(self) -> str:
        """The market's price adapter now (the factory's owner can move a market to a new one)."""
        return str(self.pool.oracle())

    def params(self) -> MarketParams:
        return MarketParams.from_chain(self.pool.params())

    def vault_address(self, owner: Any, nonce: int) -> str:
        """``owner``'s vault number ``nonce`` (computed locally once the implementation is known)."""
        if self._vault_implementation is None:
            return str(self.pool.vaultAddress(owner, nonce))
        return self._vault_addresses(owner, range(nonce, nonce + 1))[0]

    def vault(self, address: str) -> Any:
        return at(container("PositionVault"), address)

    # ------------------------------------------------------------ trader
    def open(
        self,
        trader: Any,
        *,
        is_long: bool,
        size: int,
        margin: int,
        nonce: int = 0,
        acceptable_price_wad: int = 0,
        approve: Approve = True,
    ) -> str:
        """Opens a position in ``trader``'s vault ``nonce`` and returns the vault's address."""
        with contract_errors():
            self._approve(trader, margin, approve)
            send("openPosition", self.pool.openPosition, nonce, is_long, size, margin, acceptable_price_wad,
                 sender=trader)
        return self.vault_address(trader, nonce)

    def add_margin(self, payer: Any, vault: str, amount: int, approve: Approve = True) -> None:
        with contract_errors():
            self._approve(payer, amount, approve)
            send("addMargin", self.pool.addMargin, vault, amount, sender=payer)

    def remove_margin(self, owner: Any, vault: str, amount: int, receiver: Any = None) -> None:
        with contract_errors():
            send("removeMargin", self.pool.removeMargin, vault, amount, receiver or owner, sender=owner)

    def close(self, owner: Any, vault: str, receiver: Any = None, acceptable_price_wad: int = 0) -> int:
        """Closes the position; returns the payout read from the PositionClosed event."""
        with contract_errors():
            receipt = send("closePosition", self.pool.closePosition, vault, receiver or owner, acceptable_price_wad,
                           sender=owner)
        events = receipt.decode_logs(self.pool.PositionClosed)
        return int(events[0].payout) if events else 0

    def claimable(self, vault: Any) -> int:
        """What the full liquidation of ``vault`` credited to its owner and is not claimed yet."""
        return int(self.pool.claimable(vault))

    def claim(self, owner: Any, vault: Any, receiver: Any = None) -> int:
        """Withdraws what the liquidation of ``owner``'s ``vault`` credited to them; returns the amount."""
        with contract_errors():
            receipt = send("claim", self.pool.claim, vault, receiver or owner, sender=owner)
        return int(receipt.decode_logs(self.pool.Claimed)[0].amount)

    # ------------------------------------------------------------ LPs
    def deposit(self, lp: Any, assets: int, approve: Approve = True) -> int:
        """The first deposit of an empty pool (no shares yet): immediate; returns the shares minted.
        Once the pool has shares, LPs enter with :meth:`request_deposit` and :meth:`settle_deposit`."""
        with contract_errors():
            self._approve(lp, assets, approve)
            receipt = send("deposit", self.pool.deposit, assets, lp, sender=lp)
        return int(receipt.decode_logs(self.pool.Deposit)[0].shares)

    def request_deposit(self, lp: Any, assets: int, controller: Any = None, approve: Approve = True) -> int:
        """Pays ``assets`` for shares of ``controller`` (default ``lp``), minted by :meth:`settle_deposit`
        once the oracle has published a round after this block; returns the most shares it can get."""
        with contract_errors():
            self._approve(lp, assets, approve)
            receipt = send("requestDeposit", self.pool.requestDeposit, assets, controller or lp, sender=lp)
        return int(receipt.decode_logs(self.pool.DepositRequested)[0].quoteShares)

    def request_redeem(self, lp: Any, shares: int, controller: Any = None) -> int:
        """Hands ``shares`` of ``lp`` to the pool for a redemption paid to ``controller`` (default ``lp``)
        by :meth:`settle_redeem` after the next oracle round; returns the most assets it can get."""
        with contract_errors():
            receipt = send("requestRedeem", self.pool.requestRedeem, shares, controller or lp, lp, sender=lp)
        return int(receipt.decode_logs(self.pool.RedeemRequested)[0].quoteAssets)

    def settle_deposit(self, caller: Any, controller: Any) -> int:
        """Mints ``controller``'s requested shares (anyone may call it); returns the shares."""
        with contract_errors():
            receipt = send("settleDeposit", self.pool.settleDeposit, controller, sender=caller)
        return int(receipt.decode_logs(self.pool.DepositSettled)[0].shares)

    def settle_redeem(self, caller: Any, controller: Any) -> int:
        """Pays ``controller``'s requested redemption (anyone may call it); returns the assets."""
        with contract_errors():
            receipt = send("settleRedeem", self.pool.settleRedeem, controller, sender=caller)
        return int(receipt.decode_logs(self.pool.RedeemSettled)[0].assets)

    def lp_requests(self, controller: Any) -> LpRequests:
        """``controller``'s pending deposit and redemption, and what settling them would give now."""
        d = self.pool.depositRequest(controller)
        r = self.pool.redeemRequest(controller)
        return LpRequests(
            deposit_assets=int(d[0]), deposit_quote_shares=int(d[1]), deposit_time=int(d[2]),
            redeem_shares=int(r[0]), redeem_quote_assets=int(r[1]), redeem_time=int(r[2]),
        )

    # ------------------------------------------------------------ reads
    def position(self, vault: str) -> Position:
        return Position.from_chain(self.pool.position(vault))

    def state(self, vault: str) -> VaultState:
        """The vault's position, PnL, health and prices at the current oracle price."""
        v = self.vault(vault)
        with contract_errors():
            p = self.position(vault)
            price = self.price()
            return VaultState(
                address=str(vault),
                owner=str(v.owner()),
                is_long=p.is_long,
                size=p.size,
                entry_price_wad=p.entry_price_wad,
                price_wad=price,
                margin=p.margin,
                fees=int(v.feesOwed()),
                equity=int(v.equity()),
                health_wad=int(v.health()),
                liquidation_price_wad=int(v.liquidationPrice()),
                bankruptcy_price_wad=int(v.bankruptcyPrice()),
                liquidatable=bool(v.isLiquidatable()),
                decimals=self.decimals,
            )

    def price(self) -> int:
        """The market's oracle price (WAD), or the oracle's named error."""
        with contract_errors():
            return int(_oracle(self.oracle_address).price(skip_trace=True))

    def token(self) -> Any:
        """The settlement token (an ERC-20 contract instance)."""
        return erc20(self.asset_address)

    def _approve(self, owner: Any, amount: int, approve: Approve) -> None:
        """Lets the pool pull ``amount`` of ``owner``'s tokens (see :data:`Approve`)."""
        if approve is False:
            return
        approve_when_short(self.token(), owner, self.pool.address, amount, asset=self.asset_address,
                           allowance=2**256 - 1 if approve == "unlimited" else amount)


class Protocol:
    """The factory, the liquidator, the lens and the pools: deploy the protocol, create and find markets."""

    def __init__(self, factory: Any, liquidator: Any = None, lens: Any = None):
        self.factory = factory
        self.liquidator = liquidator or at(container("Liquidator"), factory.liquidator())
        self.lens = lens

    @classmethod
    def deploy(cls, owner: Any, guardian: Any = None, *, delay: int = DEFAULT_DELAY) -> Protocol:
        """Deploys the pool deployer (bound to the factory's address, the next CREATE of ``owner``
        after it), the factory (owner = ``owner``, owner delay ``delay`` seconds), the liquidator
        (set in the factory, which requires it before any pool) and the lens."""
        with contract_errors():
            nonce = owner.nonce
            deployer = owner.deploy(container("MarginPoolDeployer"), owner.get_deployment_address(nonce + 1))
            factory = owner.deploy(container("PoolFactory"), owner, guardian or owner, deployer, delay)
            liquidator = owner.deploy(container("Liquidator"), factory)
            factory.setLiquidator(liquidator, sender=owner)
            lens = owner.deploy(container("Lens"))
        return cls(factory, liquidator, lens)

    def create_market(
        self,
        owner: Any,
        *,
        asset: Any,
        oracle: Any,
        params: MarketParams,
        name: str = "Ringfence LP",
        symbol: str = "rfLP",
        max_keeper_bonus_min: int | None = None,
    ) -> Market:
        """Creates a market. ``max_keeper_bonus_min`` (settlement-token units) caps its keeper-bonus
        floor for good; ``None``: the factory's largest cap, 100 whole tokens."""
        if max_keeper_bonus_min is None:
            decimals = int(erc20(asset.address if hasattr(asset, "address") else asset).decimals())
            max_keeper_bonus_min = MAX_KEEPER_BONUS_MIN_TOKENS * 10**decimals
        with contract_errors():
            receipt = self.factory.createPool(asset, oracle, params.as_tuple(), max_keeper_bonus_min,
                                              name, symbol, sender=owner)
        pool_address = receipt.decode_logs(self.factory.PoolCreated)[0].pool
        return Market(at(container("MarginPool"), pool_address))

    # ---------------------------------------------------------------- owner changes (delayed)
    def queue_params(self, owner: Any, pool: Any, params: MarketParams) -> int:
        """Queues new parameters for ``pool``; returns the timestamp from which they can be executed."""
        with contract_errors():
            receipt = send("queueParams", self.factory.queueParams, pool, params.as_tuple(), sender=owner)
        return int(receipt.decode_logs(self.factory.ParamsQueued)[0].eta)

    def execute_params(self, owner: Any, pool: Any) -> Any:
        """Applies ``pool``'s queued parameters (after the delay); returns the receipt."""
        with contract_errors():
            return send("executeParams", self.factory.executeParams, pool, sender=owner)

    def pending_params(self, pool: Any) -> tuple[MarketParams | None, int]:
        """``pool``'s queued parameters and their ETA, or ``(None, 0)``."""
        params, eta = self.factory.pendingParams(pool)
        return (MarketParams.from_chain(params) if int(eta) else None), int(eta)

    def queue_oracle(self, owner: Any, pool: Any, oracle: Any) -> int:
        """Queues moving ``pool`` to the price adapter ``oracle``; returns the ETA."""
        with contract_errors():
            receipt = send("queueOracle", self.factory.queueOracle, pool, oracle, sender=owner)
        return int(receipt.decode_logs(self.factory.OracleQueued)[0].eta)

    def execute_oracle(self, owner: Any, pool: Any) -> Any:
        """Moves ``pool`` to its queued price adapter (after the delay); returns the receipt."""
        with contract_errors():
            return send("executeOracle", self.factory.executeOracle, pool, sender=owner)

    def liquidate(self, keeper: Any, vault: str) -> Any:
        """Liquidates one vault (reverts by name if it cannot be); returns the receipt."""
        with contract_errors():
            return self.liquidator.liquidate(vault, sender=keeper)

    def liquidate_batch(self, keeper: Any, batches: list[tuple[str, list[str]]], **tx: Any) -> Any:
        """Liquidates `(pool, vaults)` batches, skipping what cannot be liquidated; returns the receipt."""
        with contract_errors():
            return self.liquidator.liquidateBatch(
                [(str(pool), [str(v) for v in vaults]) for pool, vaults in batches], sender=keeper, **tx
            )

    def markets(self) -> list[Market]:
        return [Market(at(container("MarginPool"), a)) for a in self.factory.pools()]


def deploy_oracle(
    deployer: Any,
    feed: Any,
    *,
    max_age: int = 3600,
    min_answer: int = 0,
    max_answer: int = 0,
    sequencer_feed: Any = None,
    grace_period: int = 0,
) -> Any:
    """Deploys a ChainlinkOracle adapter over ``feed``."""
    zero = "0x" + "00" * 20
    with contract_errors():
        return deployer.deploy(
            container("ChainlinkOracle"), feed, max_age, min_answer, max_answer, sequencer_feed or zero,
            grace_period,
        )


def _oracle(address: str) -> Any:
    return at(container("ChainlinkOracle"), address)


def erc20(address: str) -> Any:
    """An ERC-20 contract instance at ``address`` (any token: the standard ABI)."""
    from ape import Contract

    return Contract(address, abi=erc20_abi())
