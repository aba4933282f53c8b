// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IPositionVault} from "../interfaces/IPositionVault.sol";
import {IMarginPool, Position, PositionStatus} from "../interfaces/IMarginPool.sol";
import {IPriceOracle} from "../interfaces/IPriceOracle.sol";
import {MarginMath} from "./libraries/MarginMath.sol";

/// @title PositionVault
/// @notice Custody of one isolated position. Deployed once per pool as the implementation (`pool` is an
/// immutable of the implementation's code, which every clone reads), then cloned per position. A clone
/// has no storage and no initializer: its owner is its immutable argument, in its code after the 45 bytes
/// of EIP-1167 (and in its CREATE2 salt), so there is nothing to initialise twice. See IPositionVault.
contract PositionVault is IPositionVault {
    using SafeERC20 for IERC20;

    /// @inheritdoc IPositionVault
    address public immutable pool;

    constructor(address pool_) {
        pool = pool_;
    }

    modifier onlyPool() {
        if (msg.sender != pool) revert NotPool(msg.sender);
        _;
    }

    /// @inheritdoc IPositionVault
    function transferOut(address token, address to, uint256 amount) external onlyPool {
        IERC20(token).safeTransfer(to, amount);
    }

    /// @inheritdoc IPositionVault
    function owner() external view returns (address) {
        return position().owner;
    }

    /// @inheritdoc IPositionVault
    function position() public view returns (Position memory) {
        return IMarginPool(pool).position(address(this));
    }

    /// @inheritdoc IPositionVault
    function feesOwed() public view returns (uint256 fees) {
        (,, fees) = _openWithFees();
    }

    /// @inheritdoc IPositionVault
    function equity() external view returns (int256) {
        (Position memory p, uint256 scale, uint256 fees) = _openWithFees();
        return MarginMath.equityDown(p, _price(), fees, scale);
    }

    /// @inheritdoc IPositionVault
    function health() external view returns (uint256) {
        (Position memory p, uint256 scale, uint256 fees) = _openWithFees();
        return MarginMath.healthDown(p, _price(), fees, scale, IMarginPool(pool).params().maintenanceMarginWad);
    }

    /// @inheritdoc IPositionVault
    function isLiquidatable() external view returns (bool liquidatable) {
        (Position memory p, uint256 scale, uint256 feeIndex) = _open();
        (liquidatable,,) =
            MarginMath.liquidationTest(p, _price(), feeIndex, scale, IMarginPool(pool).params().maintenanceMarginWad);
    }

    /// @inheritdoc IPositionVault
    function liquidationPrice() public view returns (uint256) {
        (Position memory p, uint256 scale, uint256 fees) = _openWithFees();
        return MarginMath.positionLiquidationPrice(p, fees, scale, IMarginPool(pool).params().maintenanceMarginWad);
    }

    /// @inheritdoc IPositionVault
    function bankruptcyPrice() external view returns (uint256) {
        (Position memory p, uint256 scale, uint256 fees) = _openWithFees();
        return MarginMath.bankruptcyPrice(p.isLong, p.size, p.entryPriceWad, p.margin, fees, scale);
    }

    /// @dev The open position with the pool's price scale and its fee index now.
    function _open() internal view returns (Position memory p, uint256 scale, uint256 feeIndex) {
        p = position();
        if (p.status != PositionStatus.Open) revert IMarginPool.PositionNotOpen(address(this));
        scale = IMarginPool(pool).priceScale();
        feeIndex = IMarginPool(pool).currentFeeIndex();
    }

    /// @dev The open position with the pool's price scale and the fees it owes now.
    function _openWithFees() internal view returns (Position memory p, uint256 scale, uint256 fees) {
        uint256 feeIndex;
        (p, scale, feeIndex) = _open();
        fees = MarginMath.positionFeesUp(p, feeIndex, scale);
    }

    function _price() internal view returns (uint256) {
        return IPriceOracle(IMarginPool(pool).oracle()).price();
    }
}
