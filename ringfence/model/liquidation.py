"""Liquidation: ``MarginPool.liquidate``, ``_liquidateOne``, ``_partialSize``,
``_liquidatePartially``, ``_liquidateFully``, ``_keeperBonus``, ``_payKeeperAndFund`` and
``_coverBadDebt``, every token move of each path included."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from ringfence.model.constants import MAX_UINT88, WAD
from ringfence.model.errors import HealthyPosition, PositionNotOpen
from ringfence.model.evm import _checked, _checked_i, _int256, _to_int256, _to_uint, _uint
from ringfence.model.margin_math import (
    mul_div_down,
    mul_div_up,
    notional_ratio_down,
    notional_ratio_up,
    notional_up,
    pnl_down,
    profit_cap_down,
)
from ringfence.model.outcomes import BatchOutcome, KeeperPayment, LiquidationOutcome, VaultKey
from ringfence.model.position import (
    _pnl_of,
    entry_notional_up,
    equity_down,
    liquidation_test,
)
from ringfence.model.structs import MarketParams, Position


def keeper_bonus(params: MarketParams, closed_size: int, price_wad: int) -> int:
    """The keeper bonus on a closed size (``MarginPool._keeperBonus``):
    ``floor(b * closed_size * P)`` (rounded **down** once), then raised to ``keeper_bonus_min``
    and lowered to ``keeper_bonus_max``, in that order (so the cap wins if ``min > max``)."""
    bonus = notional_ratio_down(closed_size, price_wad, params.keeper_bonus_wad, params.scale)
    return min(max(bonus, params.keeper_bonus_min), params.keeper_bonus_max)


PARTIAL_SLACK = 3
"""Assets added to a partial liquidation's shortfall (``MarginPool.PARTIAL_SLACK``)."""


def partial_size(params: MarketParams, position: Position, price_wad: int, equity: int) -> int:
    """The size a partial liquidation closes (``MarginPool._partialSize``), 0 when only a full
    liquidation will do.

    With ``N = notional_up(s, P)`` and ``e`` the :func:`equity_down` of the position, the
    smallest fraction that restores ``e' >= T * N'`` once the keeper bonus ``b`` and the penalty
    ``q`` are paid out of the closed notional is ``phi = (T*N - e) / (N * (T - b - q))``; the size
    is ``ceil(s * (N*T - e*WAD + PARTIAL_SLACK*WAD) / (N * (T - b - q)))`` with the ratios in WAD,
    rounded **up** (against the liquidated position); the slack of ``PARTIAL_SLACK`` assets absorbs
    the other roundings. 0 when ``e <= 0`` (bankrupt), when ``T*N <= e`` (not
    below the target: cannot happen for a liquidatable position) and when the size rounds to the
    whole position or beyond.
    """
    _int256("equity", equity)
    if equity <= 0:
        return 0
    notional = notional_up(position.size, price_wad, params.scale)
    target_wad = params.liquidation_target_wad
    equity_scaled = _checked(equity * WAD)
    target = _checked(notional * target_wad)
    if target <= equity_scaled:
        return 0
    rate = _checked(_checked(target_wad - params.keeper_bonus_wad) - params.liquidation_penalty_wad)
    shortfall = _checked(target - equity_scaled + PARTIAL_SLACK * WAD)
    closed = mul_div_up(position.size, shortfall, _checked(notional * rate))
    return closed if closed < position.size else 0


def keeper_payment(
    outcomes: Sequence[LiquidationOutcome], insurance_fund: int, free_liquidity: int
) -> KeeperPayment:
    """Sum a batch's keeper payments as ``MarginPool._payKeeperAndFund`` does: one fund call and one pool
    top-up for the whole batch.

    ``insurance_fund`` is the fund's balance after the batch's bad-debt covers and
    ``free_liquidity`` the pool's ``liquidity() - reserved()`` after the batch's liquidations (may
    be negative: then nothing is free). The outcomes' own ``keeper_from_fund`` and
    ``keeper_from_pool`` are ignored.
    """
    _uint("insurance_fund", insurance_fund)
    from_equity = sum(o.keeper_from_equity for o in outcomes)
    unfunded = sum(o.keeper_unfunded for o in outcomes)
    penalties = sum(o.penalty for o in outcomes)
    from_fund = from_pool = 0
    if unfunded != 0:
        from_fund = min(unfunded, insurance_fund)
        from_pool = min(unfunded - from_fund, max(free_liquidity, 0))
    return KeeperPayment(
        from_equity=from_equity,
        unfunded=unfunded,
        from_fund=from_fund,
        from_pool=from_pool,
        penalties=penalties,
    )


# Long because it mirrors MarginPool._liquidatePartially step by step, every amount and check.
def _liquidate_partially(
    params: MarketParams,
    position: Position,
    price_wad: int,
    fees: int,
    fee_index_wad: int,
    closed_size: int,
    common: dict[str, Any],
) -> LiquidationOutcome | None:
    """``MarginPool._liquidatePartially``: ``None`` (nothing done) when the remaining notional
    is below ``min_notional``, the margin left below ``min_margin``, or the equity left below the
    target ``T * notional'`` (the keeper bonus floor can cost more than the rate)."""
    scale = params.scale
    remaining = _checked(position.size - closed_size)
    remaining_notional = notional_up(remaining, price_wad, scale)
    if remaining_notional < params.min_notional:
        return None
    closed_notional = notional_up(closed_size, price_wad, scale)
    cap_closed = mul_div_down(position.max_profit, closed_size, position.size)
    pnl_closed = pnl_down(
        position.is_long, closed_size, position.entry_price_wad, price_wad, scale, cap_closed
    )
    bonus = keeper_bonus(params, closed_size, price_wad)
    penalty = notional_ratio_up(closed_size, price_wad, params.liquidation_penalty_wad, scale)
    charges = _to_int256(_checked(_checked(fees + bonus) + penalty))
    margin_after = _checked_i(_checked_i(position.margin + pnl_closed) - charges)
    # Below the minimum, or past the record's 88-bit margin field: the pool closes the position fully.
    if margin_after < _to_int256(params.min_margin) or margin_after > MAX_UINT88:
        return None
    cap_remaining = min(
        position.max_profit - cap_closed,
        profit_cap_down(margin_after, remaining, position.entry_price_wad, scale, params.max_profit_wad),
    )
    equity_after = margin_after + pnl_down(
        position.is_long, remaining, position.entry_price_wad, price_wad, scale, cap_remaining
    )
    target = notional_ratio_up(remaining, price_wad, params.liquidation_target_wad, scale)
    if equity_after <= 0 or equity_after < target:
        return None

    entry_before = notional_up(position.size, position.entry_price_wad, scale)
    entry_after = notional_up(remaining, position.entry_price_wad, scale)
    after = Position(
        size=remaining,
        entry_price_wad=position.entry_price_wad,
        margin=margin_after,  # at most MAX_UINT88, checked above
        max_profit=cap_remaining,
        fee_base_wad=_to_uint(72, fee_index_wad),  # toUint72(feeIndex): every fee is settled
        is_long=position.is_long,
    )
    return LiquidationOutcome(
        **common,
        full=False,
        closed_size=closed_size,
        closed_notional=closed_notional,
        pnl_closed=pnl_closed,
        keeper_bonus=bonus,
        keeper_from_equity=bonus,
        keeper_from_fund=0,
        keeper_from_pool=0,
        penalty=penalty,
        owner_credit=0,
        bad_debt=0,
        fund_cover=0,
        position=after,
        liquidity_delta=fees - pnl_closed,
        reserved_released=position.max_profit - cap_remaining,
        open_interest_size_released=closed_size,
        open_interest_notional_released=_checked(entry_before - entry_after),
        vault_to_pool=max(position.margin - margin_after, 0),
        pool_to_vault=max(margin_after - position.margin, 0),
    )


def _liquidate_fully(
    params: MarketParams,
    position: Position,
    price_wad: int,
    insurance_fund: int,
    common: dict[str, Any],
) -> LiquidationOutcome:
    """``MarginPool._liquidateFully`` and ``_coverBadDebt``: the margin goes to the pool, which
    pays the keeper out of the equity first, then the penalty, and credits the owner with the
    rest; a negative equity is bad debt, covered by the fund as far as it can."""
    scale = params.scale
    equity_before: int = common["equity_before"]
    notional = notional_up(position.size, price_wad, scale)
    bonus = keeper_bonus(params, position.size, price_wad)
    penalty_due = notional_ratio_up(position.size, price_wad, params.liquidation_penalty_wad, scale)
    available = max(0, equity_before)
    from_equity = min(bonus, available)
    available -= from_equity
    penalty = min(penalty_due, available)
    owner_credit = available - penalty
    # The fund and the LPs top the keeper up to the floor at most, and to no more than the fees the
    # position was charged (no farming of bankrupt vaults).
    floor = min(bonus, params.keeper_bonus_min, common["fees"])
    owed = from_equity + max(0, floor - from_equity)
    bad_debt = max(0, -equity_before)
    cover = min(bad_debt, insurance_fund)
    return LiquidationOutcome(
        **common,
        full=True,
        closed_size=position.size,
        closed_notional=notional,
        pnl_closed=_pnl_of(position, price_wad, scale),
        keeper_bonus=owed,
        keeper_from_equity=from_equity,
        keeper_from_fund=0,
        keeper_from_pool=0,
        penalty=penalty,
        owner_credit=owner_credit,
        bad_debt=bad_debt,
        fund_cover=cover,
        position=None,
        liquidity_delta=position.margin - from_equity - penalty - owner_credit + cover,
        reserved_released=position.max_profit,
        open_interest_size_released=position.size,
        open_interest_notional_released=entry_notional_up(position, scale),
        vault_to_pool=position.margin,
        pool_to_vault=0,
    )


def liquidate_one(
    params: MarketParams,
    position: Position,
    price_wad: int,
    fee_index_wad: int,
    insurance_fund: int,
    *,
    check: bool = True,
) -> LiquidationOutcome | None:
    """One vault's liquidation step inside a batch (``MarginPool._liquidateOne`` with the
    pool's liquidatability test), before the batch's keeper payment: ``keeper_from_fund`` and
    ``keeper_from_pool`` are 0 and ``liquidity_delta`` excludes the pool's top-up of the bonus.

    ``None`` when the position is not liquidatable at ``price_wad`` (``check=False`` skips the
    test). Partial when :func:`partial_size` is non-zero and what would remain is at least
    ``min_notional`` with at least ``min_margin``; otherwise full. ``insurance_fund`` is the
    fund's balance at this step (it pays bad debt before anything else in the batch).
    """
    _uint("price_wad", price_wad)
    _uint("fee_index_wad", fee_index_wad)
    _uint("insurance_fund", insurance_fund)
    scale = params.scale
    liquidatable, liq_price, fees = liquidation_test(
        position, price_wad, fee_index_wad, scale, params.maintenance_margin_wad
    )
    if check and not liquidatable:
        return None
    equity_before = equity_down(position, price_wad, fees, scale)
    common: dict[str, Any] = {
        "price_wad": price_wad,
        "liquidation_price_wad": liq_price,
        "fees": fees,
        "equity_before": equity_before,
    }
    closed = partial_size(params, position, price_wad, equity_before)
    if closed != 0:
        outcome = _liquidate_partially(
            params, position, price_wad, fees, fee_index_wad, closed, common
        )
        if outcome is not None:
            return outcome
    return _liquidate_fully(params, position, price_wad, insurance_fund, common)


# Long because it mirrors MarginPool.liquidate step by step: the vault loop, then the one _payKeeperAndFund.
def liquidate_batch(
    params: MarketParams,
    vaults: Sequence[VaultKey],
    positions: Mapping[VaultKey, Position],
    price_wad: int,
    fee_index_wad: int,
    insurance_fund: int,
    free_liquidity: int,
    *,
    strict: bool = False,
) -> BatchOutcome[VaultKey]:
    """``MarginPool.liquidate(vaults, keeper, strict)`` at one price and fee index.

    ``positions`` holds the open positions by vault (a vault absent from it is not open);
    ``insurance_fund`` is the fund's balance and ``free_liquidity`` the pool's
    ``liquidity() - reserved()`` before the batch (pass the signed difference: the contract's
    ``freeLiquidity()`` clamps it at 0, which loses nothing unless the pool is under-reserved).
    Vaults are liquidated in order, each seeing the positions and the fund the previous ones
    left (a vault listed twice is liquidated again if still liquidatable). Then the keeper is
    paid once (:func:`keeper_payment`) and the fund's and the pool's shares of the payment are
    attributed to the results in order.

    ``strict`` (the Liquidator's single form): raise :class:`PositionNotOpen` or
    :class:`HealthyPosition` instead of skipping.
    """
    _uint("insurance_fund", insurance_fund)
    _int256("free_liquidity", free_liquidity)
    book = dict(positions)
    fund = insurance_fund
    free = free_liquidity
    steps: list[LiquidationOutcome] = []
    done: list[VaultKey] = []
    for vault in vaults:
        position = book.get(vault)
        if position is None:
            if strict:
                raise PositionNotOpen(vault)
            continue
        outcome = liquidate_one(params, position, price_wad, fee_index_wad, fund)
        if outcome is None:
            if strict:
                _, liq_price, _ = liquidation_test(
                    position, price_wad, fee_index_wad, params.scale, params.maintenance_margin_wad
                )
                raise HealthyPosition(vault, price_wad, liq_price)
            continue
        fund -= outcome.fund_cover
        free += outcome.liquidity_delta + outcome.reserved_released
        if outcome.position is None:
            del book[vault]
        else:
            book[vault] = outcome.position
        steps.append(outcome)
        done.append(vault)

    payment = keeper_payment(steps, fund, free)
    fund_left, pool_left = payment.from_fund, payment.from_pool
    results: list[LiquidationOutcome] = []
    for step in steps:
        from_fund = min(step.keeper_unfunded, fund_left)
        from_pool = min(step.keeper_unfunded - from_fund, pool_left)
        fund_left -= from_fund
        pool_left -= from_pool
        results.append(
            replace(
                step,
                keeper_from_fund=from_fund,
                keeper_from_pool=from_pool,
                liquidity_delta=step.liquidity_delta - from_pool,
            )
        )
    return BatchOutcome(
        results=tuple(results),
        vaults=tuple(done),
        positions=book,
        payment=payment,
        insurance_fund=fund - payment.from_fund + payment.penalties,
        free_liquidity=free - payment.from_pool,
    )


def liquidate(
    params: MarketParams,
    position: Position,
    price_wad: int,
    fee_index_wad: int,
    insurance_fund: int,
    free_liquidity: int,
) -> LiquidationOutcome:
    """``Liquidator.liquidate(vault)``: a strict batch of one (:func:`liquidate_batch`), the
    keeper paid from the equity, then the fund, then the pool's free liquidity, as far as each
    goes (:attr:`LiquidationOutcome.keeper_shortfall` is what none of them could pay).

    ``insurance_fund`` is the fund's balance and ``free_liquidity`` the pool's
    ``liquidity() - reserved()`` before the liquidation. Raises :class:`HealthyPosition`
    ``(price, liquidation_price)`` when the position is not liquidatable.
    """
    batch = liquidate_batch(
        params,
        (0,),
        {0: position},
        price_wad,
        fee_index_wad,
        insurance_fund,
        free_liquidity,
        strict=True,
    )
    return batch.results[0]
