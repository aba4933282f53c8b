// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IInsuranceFund} from "../interfaces/IInsuranceFund.sol";

/// @title InsuranceFund
/// @notice One per pool, created with it by the factory: pays the pool's bad debt (and the keeper of a bad-debt
/// liquidation) before the pool's LPs bear anything. See IInsuranceFund.
contract InsuranceFund is IInsuranceFund {
    using SafeERC20 for IERC20;

    /// @inheritdoc IInsuranceFund
    address public immutable pool;
    /// @inheritdoc IInsuranceFund
    address public immutable asset;

    constructor(address asset_, address pool_) {
        pool = pool_;
        asset = asset_;
    }

    modifier onlyPool() {
        if (msg.sender != pool) revert NotPool(msg.sender);
        _;
    }

    /// @inheritdoc IInsuranceFund
    function cover(uint256 amount) external onlyPool returns (uint256 paid) {
        paid = _transferUpTo(pool, amount);
        emit Covered(amount, paid);
    }

    /// @inheritdoc IInsuranceFund
    function coverKeeperBonus(address keeper, uint256 amount) external onlyPool returns (uint256 paid) {
        paid = _transferUpTo(keeper, amount);
    }

    /// @inheritdoc IInsuranceFund
    function fund(uint256 amount) external {
        emit Funded(msg.sender, amount);
        IERC20(asset).safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IInsuranceFund
    function available() public view returns (uint256) {
        return IERC20(asset).balanceOf(address(this));
    }

    /// @dev Sends `to` the smaller of `amount` and what the fund holds, and returns what it sent.
    function _transferUpTo(address to, uint256 amount) private returns (uint256 paid) {
        paid = Math.min(amount, available());
        if (paid != 0) IERC20(asset).safeTransfer(to, paid);
    }
}
