"""What liquidations do: the outcome of one liquidation, a batch's keeper payment and the outcome
of a batch (``MarginPool.liquidate``); the flows that compute them are in
:mod:`ringfence.model.liquidation`."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from ringfence.model.structs import Position


@dataclass(frozen=True, slots=True, kw_only=True)
class LiquidationOutcome:
    """What one liquidation does (``MarginPool._liquidateOne``), every amount in assets.

    The ``LiquidationResult`` fields (``full``, ``closed_size``, ``equity_before``,
    ``keeper_bonus``, ``penalty``, ``owner_credit``, ``bad_debt``) are those of the pool's
    ``Liquidated`` event. The token moves, all non-negative::

        vault:   pool_to_vault - vault_to_pool
        pool:    vault_to_pool - pool_to_vault + fund_cover
                 - keeper_from_equity - keeper_from_pool - penalty
        keeper:  keeper_from_equity + keeper_from_fund + keeper_from_pool
        fund:    penalty - fund_cover - keeper_from_fund

    sum to zero (:attr:`net_flow`); the pool's token balance moves by ``liquidity_delta +
    owner_credit`` (the owner's credit is held by the pool, outside the LPs' liquidity).

    The keeper is paid once per batch (``_payKeeperAndFund``): the equity's share of every bonus, then what
    the insurance fund holds after the batch's bad-debt covers, then the pool's free liquidity
    after the batch. :func:`liquidate_batch` attributes the fund's and the pool's payments to the
    batch's liquidations in list order (the sums are the contract's ``KeeperPaid`` amounts); an
    outcome of :func:`liquidate` is a batch of one. ``liquidity_delta`` includes
    ``-keeper_from_pool``.
    """

    full: bool
    """The whole position was closed (the vault's position is no longer open)."""
    closed_size: int
    """Size closed, index units (WAD): the whole size when ``full``."""
    price_wad: int
    liquidation_price_wad: int
    """:func:`position_liquidation_price` before the liquidation (with ``fees``)."""
    fees: int
    """:func:`position_fees_up` owed before the liquidation: all settled to the pool now."""
    equity_before: int
    """:func:`equity_down` before the liquidation (negative: bankrupt)."""
    closed_notional: int
    """``notional_up(closed_size, P)`` (the bonus and the penalty are taken on ``closed_size * P``
    exactly, each rounded once)."""
    pnl_closed: int
    """:func:`pnl_down` of the closed size (its profit cap prorated, rounded down, if partial)."""
    keeper_bonus: int
    """What the keeper is owed: :func:`keeper_bonus` of the closed size in a partial liquidation (all
    from the equity); in a full one the equity's share plus a top-up up to ``min(bonus, floor, fees)``."""
    keeper_from_equity: int
    """The bonus paid out of the vault's equity (all of it in a partial liquidation)."""
    keeper_from_fund: int
    """The bonus paid by the insurance fund (attributed in batch order, see above)."""
    keeper_from_pool: int
    """The bonus paid by the pool's free liquidity, i.e. the LPs (attributed likewise)."""
    penalty: int
    """To the insurance fund, out of the equity only."""
    owner_credit: int
    """Credited to the owner, claimable from the pool (full liquidation only)."""
    bad_debt: int
    """``-equity_before`` when negative (full liquidation only), else 0."""
    fund_cover: int
    """What the insurance fund paid the pool towards ``bad_debt``."""
    position: Position | None
    """What remains of the position (partial), or ``None`` (full)."""
    liquidity_delta: int
    """Change of the pool's ``liquidity()`` (the LPs' realized liquidity; the old ``totalAssets``)."""
    reserved_released: int
    """Decrease of the pool's ``reserved``: the closed part's profit cap, plus what the cap rule takes
    off the rest for the margin it keeps (partial), or the whole cap (full)."""
    open_interest_size_released: int
    """Decrease of the side's open-interest size."""
    open_interest_notional_released: int
    """Decrease of the side's open-interest entry notional."""
    vault_to_pool: int
    """Tokens the vault pays the pool."""
    pool_to_vault: int
    """Tokens the pool pays the vault (a partial liquidation whose closed profit exceeds the
    fees, bonus and penalty)."""

    @property
    def keeper_unfunded(self) -> int:
        """The bonus the equity could not pay (owed by the fund, then the pool)."""
        return self.keeper_bonus - self.keeper_from_equity

    @property
    def keeper_paid(self) -> int:
        """What the keeper received for this liquidation."""
        return self.keeper_from_equity + self.keeper_from_fund + self.keeper_from_pool

    @property
    def keeper_shortfall(self) -> int:
        """The bonus nobody could pay (an empty fund and no free liquidity)."""
        return self.keeper_bonus - self.keeper_paid

    @property
    def lp_loss(self) -> int:
        """The part of the bad debt the fund could not cover: borne by the LPs."""
        return self.bad_debt - self.fund_cover

    @property
    def vault_delta(self) -> int:
        """Change of the vault's token balance."""
        return self.pool_to_vault - self.vault_to_pool

    @property
    def pool_delta(self) -> int:
        """Change of the pool's token balance: ``liquidity_delta + owner_credit``."""
        return (
            self.vault_to_pool
            - self.pool_to_vault
            + self.fund_cover
            - self.keeper_from_equity
            - self.keeper_from_pool
            - self.penalty
        )

    @property
    def fund_delta(self) -> int:
        """Change of the insurance fund's token balance."""
        return self.penalty - self.fund_cover - self.keeper_from_fund

    @property
    def net_flow(self) -> int:
        """Vault + pool + keeper + fund balance changes: always 0 (nothing is minted or lost)."""
        return self.vault_delta + self.pool_delta + self.keeper_paid + self.fund_delta


@dataclass(frozen=True, slots=True, kw_only=True)
class KeeperPayment:
    """One batch's payments (``MarginPool._payKeeperAndFund``), the ``KeeperPaid`` event's amounts.

    ``from_fund = min(unfunded, fund)`` in one ``coverKeeperBonus`` call (the fund's balance after the
    batch's bad-debt covers; the batch's penalties reach it only afterwards), then
    ``from_pool = min(unfunded - from_fund, free liquidity after the batch)``. The pool then makes
    at most two transfers: ``penalties`` to the fund and ``from_equity + from_pool`` to the
    keeper."""

    from_equity: int
    unfunded: int
    from_fund: int
    from_pool: int
    penalties: int

    @property
    def paid(self) -> int:
        """What the keeper received in all."""
        return self.from_equity + self.from_fund + self.from_pool

    @property
    def shortfall(self) -> int:
        """The bonus left unpaid (empty fund, no free liquidity)."""
        return self.unfunded - self.from_fund - self.from_pool

    @property
    def emits_keeper_paid(self) -> bool:
        """Whether the pool emits ``KeeperPaid`` (only when the keeper receives something)."""
        return self.paid != 0

    @property
    def pool_to_keeper(self) -> int:
        """The pool's one transfer to the keeper."""
        return self.from_equity + self.from_pool


VaultKey = TypeVar("VaultKey", bound=Hashable)
"""How a batch names its vaults (addresses on chain; anything hashable in a model)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchOutcome(Generic[VaultKey]):
    """What ``MarginPool.liquidate`` does to a list of vaults at one price: the liquidations in
    order (skipped vaults are left out, as in the contract's return value), the positions after,
    the batch's keeper payment and the state the batch leaves."""

    results: tuple[LiquidationOutcome, ...]
    vaults: tuple[VaultKey, ...]
    """The vault of each result (a vault listed twice may be liquidated twice)."""
    positions: dict[VaultKey, Position]
    """The open positions after the batch (liquidated fully: removed)."""
    payment: KeeperPayment
    insurance_fund: int
    """The fund's balance after the batch (penalties in, covers and keeper payment out)."""
    free_liquidity: int
    """The pool's ``liquidity() - reserved()`` after the batch (signed)."""

    @property
    def liquidity_delta(self) -> int:
        """Change of the pool's ``liquidity()``."""
        return sum(r.liquidity_delta for r in self.results)

    @property
    def reserved_released(self) -> int:
        return sum(r.reserved_released for r in self.results)

    @property
    def owner_credits(self) -> int:
        """Change of the pool's ``totalClaimable``."""
        return sum(r.owner_credit for r in self.results)

    @property
    def fund_cover(self) -> int:
        return sum(r.fund_cover for r in self.results)

    @property
    def pool_delta(self) -> int:
        """Change of the pool's token balance."""
        return sum(r.pool_delta for r in self.results)
