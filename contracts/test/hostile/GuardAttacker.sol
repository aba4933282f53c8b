// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IMarginGuard} from "../../../interfaces/IMarginGuard.sol";
import {ILiquidator} from "../../../interfaces/ILiquidator.sol";
import {ITokenHook} from "./HostileTokens.sol";

/// @title GuardAttacker
/// @notice TEST ONLY. Drives the MarginGuard inside one transaction: a top-up and a liquidation of the
/// same vault in either order, repeated top-ups with unlimited capital at hand, and re-entry into the
/// guard from a token hook.
contract GuardAttacker is ITokenHook {
    IMarginGuard public immutable guard;
    ILiquidator public immutable liquidator;
    address public reenterVault;
    bool public toppedUp;
    bool public liquidated;
    uint256 public topUps;
    bytes public lastRevert;

    constructor(IMarginGuard guard_, ILiquidator liquidator_) {
        guard = guard_;
        liquidator = liquidator_;
    }

    /// @notice Tries a top-up then a liquidation of `vault` (or the other order), recording which succeeded.
    function race(address vault, bool topUpFirst) external {
        if (topUpFirst) {
            toppedUp = _tryTopUp(vault);
            liquidated = _tryLiquidate(vault);
        } else {
            liquidated = _tryLiquidate(vault);
            toppedUp = _tryTopUp(vault);
        }
    }

    /// @notice Tries `rounds` top-ups of `vault` in one transaction; returns this contract's `token` balance.
    function repeatTopUps(address vault, uint256 rounds, IERC20 token) external returns (uint256) {
        for (uint256 i; i < rounds; ++i) {
            if (_tryTopUp(vault)) ++topUps;
        }
        return token.balanceOf(address(this));
    }

    /// @notice Calls the guard's internal entry directly, naming itself the executor.
    function callTopUpFor(address vault) external {
        guard.topUpFor(vault, address(this));
    }

    /// @notice Arms a re-entry: during the next token transfer, try `topUp(vault)` again.
    function armReentry(address vault) external {
        reenterVault = vault;
    }

    /// @notice Tops up `vault` as the executor (re-entry armed or not).
    function topUp(address vault) external {
        guard.topUp(vault);
    }

    /// @inheritdoc ITokenHook
    function onTokenTransfer(address, address, uint256) external {
        address vault = reenterVault;
        if (vault == address(0)) return;
        reenterVault = address(0);
        try guard.topUp(vault) {
            lastRevert = "";
        } catch (bytes memory reason) {
            lastRevert = reason;
            assembly {
                revert(add(reason, 32), mload(reason))
            }
        }
    }

    function _tryTopUp(address vault) internal returns (bool) {
        try guard.topUp(vault) {
            return true;
        } catch (bytes memory reason) {
            lastRevert = reason;
            return false;
        }
    }

    function _tryLiquidate(address vault) internal returns (bool) {
        try liquidator.liquidate(vault) {
            return true;
        } catch (bytes memory reason) {
            lastRevert = reason;
            return false;
        }
    }
}
