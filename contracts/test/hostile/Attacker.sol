// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IMarginPool, PositionStatus} from "../../../interfaces/IMarginPool.sol";
import {ILiquidator} from "../../../interfaces/ILiquidator.sol";
import {ITokenHook} from "./HostileTokens.sol";

/// @title Attacker
/// @notice TEST ONLY. Runs attack sequences inside one transaction: self-liquidation (L3), donation
/// then liquidation (D1), and re-entry from a token hook (T3).
contract Attacker is ITokenHook {
    IMarginPool public immutable pool;
    IERC20 public immutable token;
    address public reenterVault;
    bytes public lastRevert;

    constructor(IMarginPool pool_) {
        pool = pool_;
        token = IERC20(pool_.asset());
        token.approve(address(pool_), type(uint256).max);
    }

    /// @notice Opens a position in this contract's vault `nonce`.
    function open(uint96 nonce, bool isLong, uint256 size, uint256 margin) external returns (address) {
        return pool.openPosition(nonce, isLong, size, margin, 0);
    }

    /// @notice L3 in one transaction: optionally top up and donate, then liquidate the own vault as the
    /// keeper and claim what is credited. Returns what this contract holds afterwards.
    function selfLiquidate(ILiquidator liquidator, address vault, uint256 topUp, uint256 donation)
        external
        returns (uint256)
    {
        if (topUp != 0) pool.addMargin(vault, topUp);
        if (donation != 0) token.transfer(vault, donation);
        liquidator.liquidate(vault);
        if (pool.claimable(vault) != 0) pool.claim(vault, address(this));
        return token.balanceOf(address(this));
    }

    /// @notice The LP-freeze attempt in one transaction: open `size` with a large `margin`, then remove all
    /// but `keep` of it back to this contract. Returns the vault.
    function openAndRemove(uint96 nonce, bool isLong, uint256 size, uint256 margin, uint256 keep)
        external
        returns (address vault)
    {
        vault = pool.openPosition(nonce, isLong, size, margin, 0);
        pool.removeMargin(vault, margin - keep, address(this));
    }

    /// @notice Closes `vault` if its position is still open (what a partial liquidation left).
    function closeIfOpen(address vault) external returns (uint256) {
        if (pool.position(vault).status == PositionStatus.Open) pool.closePosition(vault, address(this), 0);
        return token.balanceOf(address(this));
    }

    /// @notice The honest alternative: close the position. Returns what this contract holds afterwards.
    function close(address vault) external returns (uint256) {
        pool.closePosition(vault, address(this), 0);
        return token.balanceOf(address(this));
    }

    /// @notice Arms a re-entry: during the next token transfer, try to close `vault` again.
    function armReentry(address vault) external {
        reenterVault = vault;
    }

    /// @inheritdoc ITokenHook
    function onTokenTransfer(address, address, uint256) external {
        address vault = reenterVault;
        if (vault == address(0)) return;
        reenterVault = address(0);
        try pool.closePosition(vault, address(this), 0) {
            lastRevert = "";
        } catch (bytes memory reason) {
            lastRevert = reason;
            assembly {
                revert(add(reason, 32), mload(reason))
            }
        }
    }
}
