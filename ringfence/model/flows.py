"""Flows of ``MarginPool``: open, add margin, remove margin and close, with the contract's
checks in the contract's order, and the token flows of a close."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ringfence.model.errors import (
    InsufficientLiquidity,
    InsufficientMargin,
    LeverageTooHigh,
    MarginBelowMinimum,
    NotionalBelowMinimum,
    OpenInterestCapExceeded,
    PositionTooLarge,
    ZeroAmount,
    ZeroSize,
)
from ringfence.model.evm import (
    _checked,
    _checked_i,
    _int256,
    _to_int256,
    _to_uint,
    _to_uint128,
    _uint,
)
from ringfence.model.margin_math import notional_ratio_up, notional_up, profit_cap_down
from ringfence.model.position import (
    _pnl_of,
    closing_fees_up,
    initial_margin_test,
    position_fees_up,
)
from ringfence.model.structs import MarketParams, Position


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenResult:
    """What :func:`open_position` books."""

    position: Position
    entry_notional: int
    """``notional_up(size, price)``: the base of fees, limits and open interest."""
    open_fee: int
    """``notional_ratio_up(size, price, open_fee_wad)``, rounded up once: owed from the open."""
    max_profit: int
    """:func:`profit_cap_down` of the margin and the notional: reserved in the pool."""
    open_interest_after: int
    """The side's open interest (sum of entry notionals) including this position."""


# Long because it mirrors MarginPool._open and _checkOpen check by check, in the contract's order.
def open_position(
    params: MarketParams,
    *,
    is_long: bool,
    size: int,
    price_wad: int,
    margin: int,
    fee_index_wad: int,
    open_interest: int,
    free_liquidity: int,
) -> OpenResult:
    """Open a position at the oracle price ``price_wad`` (``MarginPool._open``/``_checkOpen``).

    ``open_interest`` is the side's open interest before the open, ``free_liquidity`` the pool's
    liquidity net of reserves. The checks, in the contract's order:

    1. ``size > 0``                                       else :class:`ZeroSize`
    2. ``margin >= min_margin``                           else :class:`MarginBelowMinimum`
    3. ``notional >= min_notional``                       else :class:`NotionalBelowMinimum`
    4. ``notional <= max_position_notional``              else :class:`PositionTooLarge`
    5. ``open_interest + notional <= max_open_interest``  else :class:`OpenInterestCapExceeded`
    6. ``margin - open_fee >= notional_ratio_up(size, price, IM)``  else :class:`LeverageTooHigh`
    7. ``max_profit <= free_liquidity``                   else :class:`InsufficientLiquidity`

    with ``notional = notional_up(size, price)`` (rounded **up**), ``open_fee`` rounded **up**,
    ``max_profit`` rounded **down**. The open fee is folded into
    ``fee_base = fee_index - open_fee_wad``, so ``fees_up`` at open equals ``open_fee``. The
    stored fields are ``SafeCast.toUint128`` (:class:`SafeCastOverflowedUintDowncast`); the
    side's size total is not modelled.
    """
    _uint("size", size)
    _uint("price_wad", price_wad)
    _uint("margin", margin)
    _uint("fee_index_wad", fee_index_wad)
    _uint("open_interest", open_interest)
    _uint("free_liquidity", free_liquidity)
    scale = params.scale
    if size == 0:
        raise ZeroSize()
    notional = notional_up(size, price_wad, scale)
    if margin < params.min_margin:
        raise MarginBelowMinimum(margin, params.min_margin)
    if notional < params.min_notional:
        raise NotionalBelowMinimum(notional, params.min_notional)
    if notional > params.max_position_notional:
        raise PositionTooLarge(notional, params.max_position_notional)
    open_interest_after = _checked(open_interest + notional)
    if open_interest_after > params.max_open_interest:
        raise OpenInterestCapExceeded(open_interest_after, params.max_open_interest)
    open_fee = notional_ratio_up(size, price_wad, params.open_fee_wad, scale)
    required = notional_ratio_up(size, price_wad, params.initial_margin_wad, scale)
    available = _checked_i(_to_int256(margin) - _to_int256(open_fee))
    if available < _to_int256(required):
        raise LeverageTooHigh(available, required)
    max_profit = profit_cap_down(margin, size, price_wad, scale, params.max_profit_wad)
    if max_profit > free_liquidity:
        raise InsufficientLiquidity(free_liquidity, max_profit)

    _to_uint128(open_interest_after)
    _to_uint128(max_profit)  # the reserve's increment
    # The record's fields (MarginPool.StoredPosition), cast in the pool's order; the cap is at most 10x an
    # 88-bit margin, so its 96 bits hold it unchecked.
    position = Position(
        size=_to_uint(120, size),
        entry_price_wad=_to_uint(120, price_wad),
        margin=_to_uint(88, margin),
        max_profit=max_profit,
        fee_base_wad=_to_uint(72, _checked(fee_index_wad - params.open_fee_wad)),
        is_long=is_long,
    )
    return OpenResult(
        position=position,
        entry_notional=notional,
        open_fee=open_fee,
        max_profit=max_profit,
        open_interest_after=open_interest_after,
    )


def add_margin(position: Position, amount: int) -> Position:
    """The position with ``amount`` more margin (``max_profit`` never rises: adding margin keeps the cap).
    Raises :class:`ZeroAmount` or :class:`SafeCastOverflowedUintDowncast` as the pool does."""
    _uint("amount", amount)
    if amount == 0:
        raise ZeroAmount()
    return replace(position, margin=_to_uint(88, position.margin + amount))


def remove_margin(
    params: MarketParams,
    position: Position,
    amount: int,
    price_wad: int,
    fee_index_wad: int,
) -> Position:
    """The position with ``amount`` less margin, after the pool's checks, in its order:

    1. ``amount > 0``                                      else :class:`ZeroAmount`
    2. ``amount <= m`` and ``m - amount >= min_margin``    else :class:`MarginBelowMinimum`
       ``(margin_after, min_margin)`` (``margin_after`` is 0 when ``amount > m``)
    3. :func:`initial_margin_test` of the updated position at ``price_wad`` with the fees at
       ``fee_index_wad``: ``available >= required``    else :class:`InsufficientMargin`

    Both sides of the last test are rounded against the trader, so it never passes where the
    exact test (:func:`exact_margin_sufficient`) fails. ``max_profit`` is lowered to
    :func:`profit_cap_down` of the margin left when that is smaller (the reserve follows the margin).
    """
    _uint("amount", amount)
    if amount == 0:
        raise ZeroAmount()
    margin_after = 0 if amount > position.margin else position.margin - amount
    if margin_after < params.min_margin or amount > position.margin:
        raise MarginBelowMinimum(margin_after, params.min_margin)
    cap = profit_cap_down(
        margin_after, position.size, position.entry_price_wad, params.scale, params.max_profit_wad
    )
    updated = replace(position, margin=margin_after, max_profit=min(position.max_profit, cap))
    fees = position_fees_up(updated, fee_index_wad, params.scale)
    available, required = initial_margin_test(
        updated, price_wad, fees, params.scale, params.initial_margin_wad
    )
    if available < _to_int256(required):
        raise InsufficientMargin(available, required)
    return updated


def remove_margin_allowed(
    params: MarketParams,
    position: Position,
    amount: int,
    price_wad: int,
    fee_index_wad: int,
) -> bool:
    """``True`` when :func:`remove_margin` would succeed; otherwise raises its error
    (:class:`InsufficientMargin` ``(available, required)`` when the initial margin fails)."""
    remove_margin(params, position, amount, price_wad, fee_index_wad)
    return True


def max_removable(
    params: MarketParams,
    position: Position,
    price_wad: int,
    fee_index_wad: int,
) -> int:
    """The largest ``amount`` :func:`remove_margin` accepts at ``price_wad`` and ``fee_index_wad``
    (0 if none), exactly: a binary search, both of its refusals being monotone in the amount (more
    removed leaves less margin; the requirement does not depend on the margin)."""

    def allowed(amount: int) -> bool:
        try:
            remove_margin(params, position, amount, price_wad, fee_index_wad)
        except (MarginBelowMinimum, InsufficientMargin):
            return False
        return True

    low, high = 0, max(position.margin - params.min_margin, 0)
    while low < high:
        middle = (low + high + 1) // 2
        if allowed(middle):
            low = middle
        else:
            high = middle - 1
    return low


@dataclass(frozen=True, slots=True, kw_only=True)
class CloseSettlement:
    """The token flows of a close, in assets (``MarginPool._settle`` and ``_coverBadDebt``).

    ``result`` is ``X = m + pnl - fees - close_fee``; ``payout = max(X, 0)`` is what the
    position's receiver gets (the contract's return value). The vault releases exactly the
    margin, the pool pays any payout above it, and a negative ``X`` is bad debt, covered first by
    the insurance fund, the rest borne by the LPs. Conservation (tokens move, none appear)::

        vault_to_owner + vault_to_pool             == margin
        vault_to_owner + pool_to_owner             == payout == max(X, 0)
        payout + pool_net                          == margin + insurance_to_pool
        pool_net                                   == fees + close_fee - pnl - lp_loss
        insurance_to_pool + lp_loss                == bad_debt == max(-X, 0)

    where ``pool_net = vault_to_pool + insurance_to_pool - pool_to_owner`` is the change of the
    pool's accounted (realized) liquidity (``liquidity()``; ``totalAssets()`` is marked to market:
    :func:`marking`).
    """

    result: int
    payout: int
    vault_to_owner: int
    vault_to_pool: int
    pool_to_owner: int
    bad_debt: int
    insurance_to_pool: int
    lp_loss: int

    @property
    def pool_net(self) -> int:
        """The pool's net change: ``vault_to_pool + insurance_to_pool - pool_to_owner``."""
        return self.vault_to_pool + self.insurance_to_pool - self.pool_to_owner


def settle_close(
    margin: int, pnl: int, fees: int, close_fee: int, insurance_fund: int
) -> CloseSettlement:
    """Split a close into token flows (the identities are on :class:`CloseSettlement`).

    ``X = m + pnl - (fees + close_fee)`` (checked, as the contract sums the two fees first).
    If ``X >= 0``: vault -> owner ``min(X, m)``, vault -> pool ``m - min(X, m)``, pool -> owner
    ``X - min(X, m)``. If ``X < 0``: vault -> pool ``m``, the owner gets 0, and the shortfall
    ``-X`` is bad debt: the insurance fund (balance ``insurance_fund``) pays
    ``min(insurance_fund, shortfall)`` to the pool and the LPs bear the rest. Pass
    :func:`pnl_down` and :func:`fees_up` amounts so every rounding already favours the protocol.
    """
    _uint("margin", margin)
    _int256("pnl", pnl)
    _uint("fees", fees)
    _uint("close_fee", close_fee)
    _uint("insurance_fund", insurance_fund)
    total_fees = _checked(fees + close_fee)
    result = _checked_i(_checked_i(_to_int256(margin) + pnl) - _to_int256(total_fees))
    if result >= 0:
        vault_to_owner = min(result, margin)
        return CloseSettlement(
            result=result,
            payout=result,
            vault_to_owner=vault_to_owner,
            vault_to_pool=margin - vault_to_owner,
            pool_to_owner=result - vault_to_owner,
            bad_debt=0,
            insurance_to_pool=0,
            lp_loss=0,
        )
    shortfall = -result
    covered = min(insurance_fund, shortfall)
    return CloseSettlement(
        result=result,
        payout=0,
        vault_to_owner=0,
        vault_to_pool=margin,
        pool_to_owner=0,
        bad_debt=shortfall,
        insurance_to_pool=covered,
        lp_loss=shortfall - covered,
    )


def close_position(
    params: MarketParams,
    position: Position,
    price_wad: int,
    fee_index_wad: int,
    insurance_fund: int,
) -> CloseSettlement:
    """Close at ``price_wad`` (``MarginPool.closePosition``): the fees owed at ``fee_index_wad``
    plus the close fee on ``s * P``, rounded **up** once (:func:`closing_fees_up`), ``pnl_down``
    capped at ``max_profit``, then :func:`settle_close`."""
    scale = params.scale
    fees = closing_fees_up(position, fee_index_wad, price_wad, params.close_fee_wad, scale)
    pnl = _pnl_of(position, price_wad, scale)
    return settle_close(position.margin, pnl, fees, 0, insurance_fund)
