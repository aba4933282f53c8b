// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {Position} from "../../interfaces/IMarginPool.sol";

/// @title MarginMath
/// @notice The position maths of Ringfence, in one place, with the rounding direction in every name.
/// @dev Units: prices and ratios are WAD (1e18); sizes are index-asset units in WAD; margins, fees and
/// PnL are settlement-token units ("assets"). `scale = 10**(36 - assetDecimals)` turns size * price
/// into assets. Rounding always favours the protocol: what a trader receives rounds down, what a
/// trader owes or must hold rounds up. `ringfence/model.py` mirrors every function here.
library MarginMath {
    uint256 internal constant WAD = 1e18;

    /// @dev floor(x * y / d), full 512-bit precision.
    function mulDivDown(uint256 x, uint256 y, uint256 d) internal pure returns (uint256) {
        return Math.mulDiv(x, y, d);
    }

    /// @dev ceil(x * y / d), full 512-bit precision.
    function mulDivUp(uint256 x, uint256 y, uint256 d) internal pure returns (uint256) {
        return Math.mulDiv(x, y, d, Math.Rounding.Ceil);
    }

    /// @notice Notional `size * price` in assets, rounded down (what a trader is credited).
    function notionalDown(uint256 size, uint256 priceWad, uint256 scale) internal pure returns (uint256) {
        return Math.mulDiv(size, priceWad, scale);
    }

    /// @notice Notional `size * price` in assets, rounded up (what requirements and fees are taken on).
    function notionalUp(uint256 size, uint256 priceWad, uint256 scale) internal pure returns (uint256) {
        return Math.mulDiv(size, priceWad, scale, Math.Rounding.Ceil);
    }

    /// @notice The trader's PnL in assets: a profit is rounded down and capped at `maxProfit`,
    /// a loss is rounded up (away from zero).
    function pnlDown(bool isLong, uint256 size, uint256 entryWad, uint256 priceWad, uint256 scale, uint256 maxProfit)
        internal
        pure
        returns (int256)
    {
        bool profit = isLong ? priceWad >= entryWad : priceWad <= entryWad;
        uint256 move = priceWad >= entryWad ? priceWad - entryWad : entryWad - priceWad;
        if (profit) return int256(Math.min(Math.mulDiv(size, move, scale), maxProfit));
        return -int256(Math.mulDiv(size, move, scale, Math.Rounding.Ceil));
    }

    /// @notice Fees owed in assets, rounded up once: `size * entryPrice * (feeIndex - feeBase)` (the exact
    /// entry notional, not a rounded one, so the result is within one unit of the exact fee).
    /// @dev The open fee is folded into `feeBase` (set `openFee` below the index at open), so one
    /// difference carries both the open fee and the borrow fee accrued since.
    function feesUp(uint256 size, uint256 entryWad, uint256 feeIndexWad, uint256 feeBaseWad, uint256 scale)
        internal
        pure
        returns (uint256)
    {
        return Math.mulDiv(size, entryWad * (feeIndexWad - feeBaseWad), scale * WAD, Math.Rounding.Ceil);
    }

    /// @notice A requirement (`ratio * notional`) in assets, rounded up.
    function requirementUp(uint256 notional, uint256 ratioWad) internal pure returns (uint256) {
        return Math.mulDiv(notional, ratioWad, WAD, Math.Rounding.Ceil);
    }

    /// @notice `ratio * size * price` in assets, rounded up once (a requirement or a fee on a notional).
    function notionalRatioUp(uint256 size, uint256 priceWad, uint256 ratioWad, uint256 scale)
        internal
        pure
        returns (uint256)
    {
        return Math.mulDiv(size, priceWad * ratioWad, scale * WAD, Math.Rounding.Ceil);
    }

    /// @notice `ratio * size * price` in assets, rounded down once (a payment out of the trader's equity).
    function notionalRatioDown(uint256 size, uint256 priceWad, uint256 ratioWad, uint256 scale)
        internal
        pure
        returns (uint256)
    {
        return Math.mulDiv(size, priceWad * ratioWad, scale * WAD);
    }

    /// @notice A position's profit cap: `maxProfit * min(margin, size * entryPrice)`, rounded down once.
    /// @dev Tied to the notional as well as the margin: over-collateralising a small position cannot
    /// reserve more of the pool than the position could ever win at the cap multiple of its notional.
    function profitCapDown(uint256 margin, uint256 size, uint256 entryWad, uint256 scale, uint256 maxProfitWad)
        internal
        pure
        returns (uint256)
    {
        return Math.min(
            Math.mulDiv(margin, maxProfitWad, WAD), notionalRatioDown(size, entryWad, maxProfitWad, scale)
        );
    }

    /// @notice The exact liquidation price: the position is liquidatable iff `e < MM * N` in exact
    /// rational arithmetic (loss side, fees as accrued), which for a long is `price < liquidationPrice`
    /// and for a short `price > liquidationPrice`.
    /// @dev Long: `ceil((s*E - (m - f)*scale) / (s*(1 - MM)))`, 0 when the position cannot be liquidated.
    /// Short: `floor((s*E + (m - f)*scale) / (s*(1 + MM)))`, 0 when it is liquidatable at any price.
    function liquidationPrice(
        bool isLong,
        uint256 size,
        uint256 entryWad,
        uint256 margin,
        uint256 fees,
        uint256 scale,
        uint256 mmWad
    ) internal pure returns (uint256) {
        if (isLong) {
            (bool positive, uint256 k) = _longBankruptcyNumerator(size, entryWad, margin, fees, scale);
            if (!positive) return 0;
            return Math.mulDiv(k, WAD, size * (WAD - mmWad), Math.Rounding.Ceil);
        }
        (bool positiveShort, uint256 kShort) = _shortBankruptcyNumerator(size, entryWad, margin, fees, scale);
        if (!positiveShort) return 0;
        return Math.mulDiv(kShort, WAD, size * (WAD + mmWad));
    }

    /// @notice The bankruptcy price (equity zero), rounded towards the side of danger:
    /// long `ceil(E - (m - f)*scale/s)`, short `floor(E + (m - f)*scale/s)`; 0 when there is none.
    function bankruptcyPrice(bool isLong, uint256 size, uint256 entryWad, uint256 margin, uint256 fees, uint256 scale)
        internal
        pure
        returns (uint256)
    {
        if (isLong) {
            (bool positive, uint256 k) = _longBankruptcyNumerator(size, entryWad, margin, fees, scale);
            return positive ? Math.ceilDiv(k, size) : 0;
        }
        (bool positiveShort, uint256 kShort) = _shortBankruptcyNumerator(size, entryWad, margin, fees, scale);
        return positiveShort ? kShort / size : 0;
    }

    /// @notice Whether the position is liquidatable at `priceWad` (exact, see `liquidationPrice`).
    function isLiquidatable(bool isLong, uint256 priceWad, uint256 liqPriceWad) internal pure returns (bool) {
        return isLong ? priceWad < liqPriceWad : priceWad > liqPriceWad;
    }

    // ---------------------------------------------------------------- a position as a whole

    /// @notice The position's entry notional in assets, rounded up (fees are owed on it).
    function entryNotionalUp(Position memory p, uint256 scale) internal pure returns (uint256) {
        return notionalUp(p.size, p.entryPriceWad, scale);
    }

    /// @notice Fees the position owes at `feeIndexWad` (open fee and borrow fee), rounded up.
    function positionFeesUp(Position memory p, uint256 feeIndexWad, uint256 scale) internal pure returns (uint256) {
        return feesUp(p.size, p.entryPriceWad, feeIndexWad, p.feeBaseWad, scale);
    }

    /// @notice What closing the position at `priceWad` costs: the fees owed plus the close fee on
    /// `size * price`, rounded up once.
    function closingFeesUp(Position memory p, uint256 feeIndexWad, uint256 priceWad, uint256 closeFeeWad, uint256 scale)
        internal
        pure
        returns (uint256)
    {
        uint256 perSize = uint256(p.entryPriceWad) * (feeIndexWad - p.feeBaseWad) + priceWad * closeFeeWad;
        return Math.mulDiv(p.size, perSize, scale * WAD, Math.Rounding.Ceil);
    }

    /// @notice Equity `margin + PnL - fees` in assets (PnL capped and rounded down, fees rounded up).
    function equityDown(Position memory p, uint256 priceWad, uint256 fees, uint256 scale)
        internal
        pure
        returns (int256)
    {
        int256 pnl = pnlDown(p.isLong, p.size, p.entryPriceWad, priceWad, scale, p.maxProfit);
        return int256(uint256(p.margin)) + pnl - int256(fees);
    }

    /// @notice Health `equity / (MM * notional)`, WAD, rounded down; 0 when equity <= 0.
    function healthDown(Position memory p, uint256 priceWad, uint256 fees, uint256 scale, uint256 mmWad)
        internal
        pure
        returns (uint256)
    {
        uint256 requirement = notionalRatioUp(p.size, priceWad, mmWad, scale);
        if (requirement == 0) return type(uint256).max;
        int256 e = equityDown(p, priceWad, fees, scale);
        return e <= 0 ? 0 : mulDivDown(uint256(e), WAD, requirement);
    }

    /// @notice `margin + min(PnL, 0) - fees` (what the initial-margin test may count) and `IM * notional`.
    function initialMarginTest(Position memory p, uint256 priceWad, uint256 fees, uint256 scale, uint256 imWad)
        internal
        pure
        returns (int256 available, uint256 required)
    {
        int256 pnl = pnlDown(p.isLong, p.size, p.entryPriceWad, priceWad, scale, p.maxProfit);
        available = int256(uint256(p.margin)) + (pnl < 0 ? pnl : int256(0)) - int256(fees);
        required = notionalRatioUp(p.size, priceWad, imWad, scale);
    }

    /// @notice The position's exact liquidation price given the fees it owes (see `liquidationPrice`).
    function positionLiquidationPrice(Position memory p, uint256 fees, uint256 scale, uint256 mmWad)
        internal
        pure
        returns (uint256)
    {
        return liquidationPrice(p.isLong, p.size, p.entryPriceWad, p.margin, fees, scale, mmWad);
    }

    /// @notice The liquidation test of the position at `priceWad` with fees accrued to `feeIndexWad`: the fees
    /// it owes (`positionFeesUp`), its exact liquidation price (`positionLiquidationPrice`) and whether it is
    /// liquidatable (`isLiquidatable`).
    function liquidationTest(Position memory p, uint256 priceWad, uint256 feeIndexWad, uint256 scale, uint256 mmWad)
        internal
        pure
        returns (bool liquidatable, uint256 liqPriceWad, uint256 fees)
    {
        fees = positionFeesUp(p, feeIndexWad, scale);
        liqPriceWad = positionLiquidationPrice(p, fees, scale, mmWad);
        liquidatable = isLiquidatable(p.isLong, priceWad, liqPriceWad);
    }

    /// @dev Long: `s*E - (m - f)*scale`, with its sign (false when not positive).
    function _longBankruptcyNumerator(uint256 size, uint256 entryWad, uint256 margin, uint256 fees, uint256 scale)
        private
        pure
        returns (bool, uint256)
    {
        uint256 debt = size * entryWad;
        if (fees >= margin) return (true, debt + (fees - margin) * scale);
        uint256 collateral = (margin - fees) * scale;
        return collateral >= debt ? (false, 0) : (true, debt - collateral);
    }

    /// @dev Short: `s*E + (m - f)*scale`, with its sign (false when not positive).
    function _shortBankruptcyNumerator(uint256 size, uint256 entryWad, uint256 margin, uint256 fees, uint256 scale)
        private
        pure
        returns (bool, uint256)
    {
        uint256 credit = size * entryWad;
        if (margin >= fees) return (true, credit + (margin - fees) * scale);
        uint256 shortfall = (fees - margin) * scale;
        return shortfall >= credit ? (false, 0) : (true, credit - shortfall);
    }
}
