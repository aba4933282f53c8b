"""The reads of one market that a wallet makes, in few calls: the market's state through the Lens
(``Lens.market``: parameters, price, fee index, open interest, liquidity and some vaults' state in one
``eth_call``), the model's what-if of an open, the first free vault number, the LP figures, and
simulations of the pool's transactions (an ``eth_call``: nothing is sent).

:class:`MarketReads` is a base of :class:`ringfence.sdk.Market`; without a Lens (``Market(pool)``, or
a Lens deployed before ``Lens.market``) the same methods read the pool one figure at a time.
Reverts come out as :class:`ringfence.errors.RingfenceError` subclasses; :meth:`MarketReads.quote`
raises the model's :class:`ringfence.model.ModelError` where opening would revert.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from eth_utils import keccak, to_canonical_address, to_checksum_address

from ringfence import model
from ringfence.chain.contracts import struct_fields
from ringfence.errors import contract_errors, error_class
from ringfence.progress import notify

__all__ = ["MarketReads", "MarketSnapshot", "Quote", "predict_vault_address"]

_OPEN = 1  # PositionStatus.Open
_NONCE_BATCH = 16  # vault numbers per Lens call when looking for a free one


@dataclass(frozen=True)
class Quote:
    """The model's what-if of opening a position now (amounts in settlement-token units)."""

    is_long: bool
    size: int  # WAD
    price_wad: int
    margin: int
    notional: int
    open_fee: int
    margin_required: int  # initial margin + open fee, at least the market's minimum margin
    leverage: Decimal  # notional / margin, two decimals
    max_profit: int
    liquidation_price_wad: int  # 0: none
    bankruptcy_price_wad: int  # 0: none


@dataclass(frozen=True)
class MarketSnapshot:
    """One market's state read at one block (``price_wad`` and ``total_assets`` are ``None`` when
    the oracle refuses the price: :meth:`MarketReads.price` names the reason)."""

    params: model.MarketParams
    asset: str
    oracle: str
    vault_implementation: str
    price_scale: int
    price_wad: int | None
    fee_index: int
    open_interest_long: int  # entry notional
    open_interest_short: int
    size_long: int  # WAD
    size_short: int
    liquidity: int
    free_liquidity: int
    reserved: int
    pending_deposits: int
    total_assets: int | None
    paused: bool

    def open_interest(self, is_long: bool) -> int:
        return self.open_interest_long if is_long else self.open_interest_short


def _named(raw: Any, names: list[str]) -> SimpleNamespace:
    """A struct as a contract returns it (a struct object or, inside several outputs, a tuple), its
    fields named as in the ABI (``names``, from :func:`ringfence.chain.contracts.struct_fields`)."""
    if hasattr(raw, names[0]):
        return SimpleNamespace(**{name: getattr(raw, name) for name in names})
    return SimpleNamespace(**dict(zip(names, raw, strict=True)))


def predict_vault_address(pool: str, implementation: str, owner: str, nonce: int) -> str:
    """``MarginPool.vaultAddress(owner, nonce)`` computed locally: the CREATE2 address of the pool's
    EIP-1167 clone of ``implementation`` with the owner as its immutable argument (OpenZeppelin's
    ``Clones.cloneDeterministicWithImmutableArgs``) and salt ``owner << 96 | nonce``."""
    args = to_canonical_address(to_checksum_address(str(owner)))
    code = (b"\x61" + (0x2D + len(args)).to_bytes(2, "big") + bytes.fromhex("3d81600a3d39f3363d3d373d3d3d363d73")
            + to_canonical_address(implementation) + bytes.fromhex("5af43d82803e903d91602b57fd5bf3") + args)
    salt = ((int(to_checksum_address(str(owner)), 16) << 96) | nonce).to_bytes(32, "big")
    digest = keccak(b"\xff" + to_canonical_address(pool) + salt + keccak(code))
    return to_checksum_address(digest[12:])


class MarketReads:
    """The reads and simulations of :class:`ringfence.sdk.Market` (see the module's docstring)."""

    pool: Any
    lens: Any
    decimals: int
    _vault_implementation: str | None
    state_type: Any  # ringfence.sdk.VaultState

    # Implemented by ringfence.sdk.Market.
    @property
    def oracle_address(self) -> str:
        raise NotImplementedError

    def params(self) -> Any:
        raise NotImplementedError

    def price(self) -> int:
        raise NotImplementedError

    def position(self, vault: str) -> Any:
        raise NotImplementedError

    def state(self, vault: str) -> Any:
        raise NotImplementedError

    def vault_address(self, owner: Any, nonce: int) -> str:
        raise NotImplementedError

    # ------------------------------------------------------------ market state
    def _lens_market(self, vaults: list[str]) -> tuple[SimpleNamespace, list[SimpleNamespace]] | None:
        """``Lens.market(pool, vaults)``, or ``None`` without a Lens that has it (then forgotten)."""
        if self.lens is None:
            return None
        try:
            raw_state, raw_views = self.lens.market(self.pool.address, vaults, skip_trace=True)
        except Exception:  # noqa: BLE001 - no Lens.market at that address: read the pool instead
            self.lens = None
            return None
        state = _named(raw_state, struct_fields("Lens", "market"))
        self._vault_implementation = str(state.vaultImplementation)
        fields = struct_fields("Lens", "vaults")  # VaultView
        return state, [_named(view, fields) for view in raw_views]

    def snapshot(self) -> MarketSnapshot:
        """The market's parameters, price, fee index, open interest and liquidity (one Lens call)."""
        return self._read([])[0]

    def _read(self, vaults: list[str]) -> tuple[MarketSnapshot, list[SimpleNamespace] | None]:
        """The snapshot and the Lens's views of ``vaults`` (``None`` without a Lens)."""
        read = self._lens_market(vaults)
        if read is None:
            return self._pool_snapshot(), None
        s, views = read
        return MarketSnapshot(
            params=model.MarketParams.from_chain(s.params), asset=str(s.asset), oracle=str(s.oracle),
            vault_implementation=str(s.vaultImplementation), price_scale=int(s.priceScale),
            price_wad=int(s.priceWad) if s.priceOk else None, fee_index=int(s.feeIndex),
            open_interest_long=int(s.openInterestLong), open_interest_short=int(s.openInterestShort),
            size_long=int(s.sizeLong), size_short=int(s.sizeShort),
            liquidity=int(s.liquidity), free_liquidity=int(s.freeLiquidity), reserved=int(s.reserved),
            pending_deposits=int(s.pendingDeposits),
            total_assets=int(s.totalAssets) if s.priceOk else None, paused=bool(s.paused),
        ), views

    def _pool_snapshot(self) -> MarketSnapshot:
        """:meth:`snapshot` read from the pool, one figure at a time."""
        from ringfence.errors import RingfenceError

        pool = self.pool
        price: int | None
        total: int | None
        try:
            price = self.price()
            with contract_errors():
                total = int(pool.totalAssets(skip_trace=True))
        except RingfenceError:
            price = total = None
        longs, shorts = pool.openInterest(True), pool.openInterest(False)
        return MarketSnapshot(
            params=self.params(), asset=str(pool.asset()), oracle=str(pool.oracle()),
            vault_implementation=self.vault_implementation(), price_scale=int(pool.priceScale()),
            price_wad=price, fee_index=int(pool.currentFeeIndex()),
            open_interest_long=int(longs[1]), open_interest_short=int(shorts[1]),
            size_long=int(longs[0]), size_short=int(shorts[0]), liquidity=int(pool.liquidity()),
            free_liquidity=int(pool.freeLiquidity()), reserved=int(pool.reserved()),
            pending_deposits=int(pool.pendingDeposits()), total_assets=total, paused=bool(pool.paused()),
        )

    def vault_implementation(self) -> str:
        """The pool's PositionVault implementation (fixed for the pool's life; read once)."""
        if self._vault_implementation is None:
            self._vault_implementation = str(self.pool.vaultImplementation())
        return self._vault_implementation

    # ------------------------------------------------------------ trader
    def quote(self, *, is_long: bool, size: int, margin: int, price_wad: int | None = None) -> Quote:
        """The model's what-if of opening now (at ``price_wad`` instead of the oracle's if given):
        raises the oracle's error without a price, the model's ModelError where the open would revert."""
        return self._quote(self.snapshot(), is_long=is_long, size=size, margin=margin, price_wad=price_wad)

    def quote_open(self, owner: Any, *, is_long: bool, size: int, margin: int) -> tuple[Quote, int | None]:
        """:meth:`quote` and :meth:`next_free_nonce` of ``owner``, from one Lens call when one of
        ``owner``'s first 16 vault numbers is free."""
        vaults = self._vault_addresses(owner, range(_NONCE_BATCH)) if self.lens is not None else []
        snap, views = self._read(vaults)
        quote = self._quote(snap, is_long=is_long, size=size, margin=margin)
        free = [n for n, view in enumerate(views or []) if int(view.status) != _OPEN]
        if free:
            return quote, free[0]
        return quote, self.next_free_nonce(owner, start=_NONCE_BATCH if views else 0)

    def _quote(self, snap: MarketSnapshot, *, is_long: bool, size: int, margin: int,
               price_wad: int | None = None) -> Quote:
        if price_wad is None:
            price_wad = snap.price_wad if snap.price_wad is not None else self.price()
        params = snap.params.with_(asset_decimals=self.decimals)
        opened = model.open_position(
            params, is_long=is_long, size=size, price_wad=price_wad, margin=margin,
            fee_index_wad=snap.fee_index, open_interest=snap.open_interest(is_long),
            free_liquidity=snap.free_liquidity,
        )
        notional, fee = opened.entry_notional, opened.open_fee
        required = model.requirement_up(notional, params.initial_margin_wad) + fee
        return Quote(
            is_long=is_long, size=size, price_wad=price_wad, margin=margin, notional=notional,
            open_fee=fee, margin_required=max(required, params.min_margin),
            leverage=(Decimal(notional) / Decimal(margin)).quantize(Decimal("0.01")),
            max_profit=opened.max_profit,
            liquidation_price_wad=model.liquidation_price(
                is_long, size, price_wad, margin, fee, params.scale, params.maintenance_margin_wad),
            bankruptcy_price_wad=model.bankruptcy_price(is_long, size, price_wad, margin, fee, params.scale),
        )

    def _vault_addresses(self, owner: Any, nonces: range) -> list[str]:
        """``owner``'s vaults numbered ``nonces``, computed locally."""
        implementation = self._vault_implementation or self.vault_implementation()
        who = str(getattr(owner, "address", owner))
        return [predict_vault_address(self.pool.address, implementation, who, n) for n in nonces]

    def next_free_nonce(self, owner: Any, start: int = 0, limit: int = 10_000) -> int | None:
        """The first vault number of ``owner`` from ``start`` below ``limit`` without an open position
        (``None`` if all are open): one Lens call per 16 numbers, the vaults' addresses computed
        locally (without a Lens: one read per number)."""
        for first in range(start, limit, _NONCE_BATCH):
            nonces = range(first, min(first + _NONCE_BATCH, limit))
            read = self._lens_market(self._vault_addresses(owner, nonces)) if self.lens is not None else None
            if read is None:
                free = next((n for n in nonces if self.position(self.vault_address(owner, n)).status != _OPEN),
                            None)
            else:
                free = next((n for n, view in zip(nonces, read[1], strict=True) if int(view.status) != _OPEN),
                            None)
            if free is not None:
                return free
        return None

    def vault_state(self, vault: str) -> Any:
        """:meth:`ringfence.sdk.Market.state` in one Lens call, with PositionNotOpen for a vault
        without an open position and the oracle's error without a trustworthy price."""
        read = self._lens_market([vault])
        if read is None:
            if self.position(vault).status != _OPEN:
                raise error_class("PositionNotOpen")({"vault": vault})
            self.price()
            return self.state(vault)
        s, (v,) = read
        if int(v.status) != _OPEN:
            raise error_class("PositionNotOpen")({"vault": vault})
        if not s.priceOk:
            self.price()  # the oracle's named error
        size, entry, margin, fees = int(v.size), int(v.entryPriceWad), int(v.margin), int(v.fees)
        return self.state_type(
            address=str(vault), owner=str(v.owner), is_long=bool(v.isLong), size=size, entry_price_wad=entry,
            price_wad=int(s.priceWad), margin=margin, fees=fees, equity=int(v.equity),
            health_wad=int(v.health), liquidation_price_wad=int(v.liquidationPriceWad),
            bankruptcy_price_wad=model.bankruptcy_price(bool(v.isLong), size, entry, margin, fees,
                                                        int(s.priceScale)),
            liquidatable=bool(v.liquidatable), decimals=self.decimals,
        )

    def max_removable(self, vault: str, seconds: int = 60) -> int:
        """The most margin the owner of ``vault`` can remove (:func:`ringfence.model.max_removable`)
        at the oracle price, with ``seconds`` more borrow fees than now (a transaction is mined later
        than this read); the oracle's error without a price."""
        snap = self.snapshot()
        price = snap.price_wad if snap.price_wad is not None else self.price()
        params = snap.params.with_(asset_decimals=self.decimals)
        fee_index = snap.fee_index + params.borrow_rate_wad * seconds
        return model.max_removable(params, self.position(vault), price, fee_index)

    def check(self, function: str, *args: Any, sender: Any) -> None:
        """Runs the pool's ``function(*args)`` from ``sender`` as an ``eth_call`` (nothing is sent):
        returns if the transaction would go through, else raises its named error."""
        notify("simulating", function)
        with contract_errors():
            getattr(self.pool, function).call(*args, sender=sender, skip_trace=True)

    def latest_round_time(self) -> int:
        """The ``updatedAt`` of the oracle's latest accepted round (its named error if it refuses)."""
        from ringfence.abi import at
        from ringfence.chain.contracts import container

        with contract_errors():
            return int(at(container("ChainlinkOracle"), self.oracle_address).latestPrice(skip_trace=True)[1])

    # ------------------------------------------------------------ LPs
    def share_decimals(self) -> int:
        """The decimals of the pool's shares (the token's plus the ERC-4626 offset)."""
        return int(self.pool.decimals())

    def shares_of(self, holder: Any) -> int:
        return int(self.pool.balanceOf(holder))

    def total_supply(self) -> int:
        return int(self.pool.totalSupply())

    def shares_value(self, shares: int) -> int:
        """What ``shares`` are worth at the marked share price (``convertToAssets``)."""
        with contract_errors():
            return int(self.pool.convertToAssets(shares, skip_trace=True))

    def shares_for(self, assets: int) -> int:
        """The shares worth ``assets``, rounded up (``previewWithdraw``)."""
        with contract_errors():
            return int(self.pool.previewWithdraw(assets, skip_trace=True))

    def max_deposit(self, receiver: Any) -> int:
        """What an immediate deposit may bring (nonzero only into a pool without shares)."""
        return int(self.pool.maxDeposit(receiver))

    def preview_settle_deposit(self, controller: Any) -> int:
        """The shares settling ``controller``'s deposit request would mint now."""
        with contract_errors():
            return int(self.pool.previewSettleDeposit(controller, skip_trace=True))

    def preview_settle_redeem(self, controller: Any) -> int:
        """The assets settling ``controller``'s redemption request would pay now."""
        with contract_errors():
            return int(self.pool.previewSettleRedeem(controller, skip_trace=True))
