// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IMarginPool} from "../../../interfaces/IMarginPool.sol";
import {ILiquidator} from "../../../interfaces/ILiquidator.sol";

/// @dev The test feed's setter (MockAggregator).
interface IAnswerSetter {
    function setAnswer(int256 answer) external;
}

/// @title LpSkimmer
/// @notice TEST ONLY. The LP skim (docs/security-checklist.md R2) in one transaction with flash-loaned capital:
/// deposit, realize a trader's loss by liquidating it, take the LP gain back out.
contract LpSkimmer {
    IMarginPool public immutable pool;
    ILiquidator public immutable liquidator;

    constructor(IMarginPool pool_, ILiquidator liquidator_) {
        pool = pool_;
        liquidator = liquidator_;
        IERC20(pool_.asset()).approve(address(pool_), type(uint256).max);
    }

    /// @notice The original attack: ERC-4626 deposit, liquidation, redeem, all immediate.
    function skimSync(address vault, uint256 assets) external {
        pool.deposit(assets, address(this));
        liquidator.liquidate(vault);
        pool.redeem(pool.balanceOf(address(this)), address(this), address(this));
    }

    /// @notice The same through the request path: request a deposit, liquidate, settle it at once.
    function skimRequested(address vault, uint256 assets) external {
        pool.requestDeposit(assets, address(this));
        liquidator.liquidate(vault);
        pool.settleDeposit(address(this));
    }

    /// @notice (c) at its tightest: the oracle round the attacker saw coming and its deposit request in the
    /// same transaction (so the same second): that round must not count as one after the request.
    function roundThenRequest(IAnswerSetter feed, int256 answer, uint256 assets) external returns (uint256) {
        feed.setAnswer(answer);
        return pool.requestDeposit(assets, address(this));
    }

    /// @notice Requests a deposit (the first step of the multi-block variants).
    function requestDeposit(uint256 assets) external returns (uint256) {
        return pool.requestDeposit(assets, address(this));
    }

    /// @notice Requests the redemption of every share this contract holds.
    function requestRedeemAll() external returns (uint256) {
        return pool.requestRedeem(pool.balanceOf(address(this)), address(this), address(this));
    }
}
