// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ILens, MarketState, VaultView} from "../interfaces/ILens.sol";
import {IMarginPool, Position, PositionStatus} from "../interfaces/IMarginPool.sol";
import {IPriceOracle} from "../interfaces/IPriceOracle.sol";
import {MarginMath} from "./libraries/MarginMath.sol";

/// @title Lens
/// @notice Read-only batch views of many vaults of one pool at one oracle price. See ILens.
contract Lens is ILens {
    /// @dev What every vault of one pool shares in a query.
    struct Market {
        uint256 priceWad;
        uint256 feeIndex;
        uint256 scale;
        uint256 mmWad;
    }

    /// @inheritdoc ILens
    function vaults(address pool, address[] calldata list) external view returns (VaultView[] memory views) {
        Market memory m = _market(pool);
        views = new VaultView[](list.length);
        for (uint256 i; i < list.length; ++i) {
            views[i] = _view(IMarginPool(pool), list[i], m);
        }
    }

    /// @inheritdoc ILens
    function liquidatable(address pool, address[] calldata list) external view returns (bool[] memory flags) {
        Market memory m = _market(pool);
        flags = new bool[](list.length);
        for (uint256 i; i < list.length; ++i) {
            Position memory p = IMarginPool(pool).position(list[i]);
            if (p.status != PositionStatus.Open) continue;
            (flags[i],,) = MarginMath.liquidationTest(p, m.priceWad, m.feeIndex, m.scale, m.mmWad);
        }
    }

    function _market(address pool) internal view returns (Market memory m) {
        IMarginPool market = IMarginPool(pool);
        m.priceWad = IPriceOracle(market.oracle()).price();
        m.feeIndex = market.currentFeeIndex();
        m.scale = market.priceScale();
        m.mmWad = market.params().maintenanceMarginWad;
    }

    function _view(IMarginPool pool, address vault, Market memory m) internal view returns (VaultView memory v) {
        v.vault = vault;
        Position memory p = pool.position(vault);
        v.status = uint8(p.status);
        if (p.status != PositionStatus.Open) return v;
        v.owner = p.owner;
        v.isLong = p.isLong;
        v.size = p.size;
        v.entryPriceWad = p.entryPriceWad;
        v.margin = p.margin;
        v.maxProfit = p.maxProfit;
        (v.liquidatable, v.liquidationPriceWad, v.fees) =
            MarginMath.liquidationTest(p, m.priceWad, m.feeIndex, m.scale, m.mmWad);
        v.equity = MarginMath.equityDown(p, m.priceWad, v.fees, m.scale);
        v.health = MarginMath.healthDown(p, m.priceWad, v.fees, m.scale, m.mmWad);
    }

    /// @inheritdoc ILens
    function market(address pool, address[] calldata list)
        external
        view
        returns (MarketState memory s, VaultView[] memory views)
    {
        IMarginPool p = IMarginPool(pool);
        s.params = p.params();
        s.asset = p.asset();
        s.oracle = p.oracle();
        s.vaultImplementation = p.vaultImplementation();
        s.priceScale = p.priceScale();
        s.feeIndex = p.currentFeeIndex();
        (s.sizeLong, s.openInterestLong) = p.openInterest(true);
        (s.sizeShort, s.openInterestShort) = p.openInterest(false);
        s.liquidity = p.liquidity();
        s.freeLiquidity = p.freeLiquidity();
        s.reserved = p.reserved();
        s.pendingDeposits = p.pendingDeposits();
        s.paused = p.paused();
        try IPriceOracle(s.oracle).price() returns (uint256 priceWad) {
            (s.priceOk, s.priceWad) = (true, priceWad);
            s.totalAssets = p.totalAssets();
        } catch {}
        views = new VaultView[](list.length);
        Market memory m = Market(s.priceWad, s.feeIndex, s.priceScale, s.params.maintenanceMarginWad);
        for (uint256 i; i < list.length; ++i) {
            if (s.priceOk) {
                views[i] = _view(p, list[i], m);
            } else {
                views[i].vault = list[i];
                views[i].status = uint8(p.position(list[i]).status);
            }
        }
    }
}
