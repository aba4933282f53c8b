// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Position} from "./IMarginPool.sol";

/// @title IPositionVault
/// @notice The custody account of one isolated position: an EIP-1167 clone that holds the position's
/// margin as a real token balance at its own address and nothing else that backs another position.
/// @dev The pool is the implementation's immutable; the owner is recorded by the pool (a clone has no
/// storage and no initializer) and is part of the clone's CREATE2 salt. Only the
/// pool moves tokens out, and only for settlement (close, remove margin, liquidation) or to give the
/// owner back what was donated. Position state and maths live in the pool (`IMarginPool.position`);
/// the views here forward to it so a wallet can ask the vault directly.
interface IPositionVault {
    /// @notice {caller} is not the pool
    /// @dev The error's @notice is its message to users (ringfence/errors.py), as in IMarginPool.
    error NotPool(address caller);

    /// @notice Sends `amount` of `token` held by the vault to `to`. Pool only.
    function transferOut(address token, address to, uint256 amount) external;

    /// @notice The vault's owner as the pool records it (address(0) for the implementation).
    function owner() external view returns (address);
    /// @notice The pool whose vault this is (the implementation's immutable): the only caller of `transferOut`.
    function pool() external view returns (address);

    // Views of the position (each reverts with IMarginPool.PositionNotOpen unless it is open; those
    // that need a price revert with the oracle's named errors).
    /// @notice The position as the pool records it.
    function position() external view returns (Position memory);
    /// @notice Fees owed now (open fee and borrow fee accrued), in assets, rounded up.
    function feesOwed() external view returns (uint256);
    /// @notice `margin + PnL - fees` at the oracle price, in assets (PnL capped and rounded down).
    function equity() external view returns (int256);
    /// @notice equity / (MM * notional), WAD, rounded down; 0 when equity <= 0. For display:
    /// `isLiquidatable` is the exact test.
    function health() external view returns (uint256);
    /// @notice Whether `equity < MM * notional` now (exact rational test, see MarginMath).
    function isLiquidatable() external view returns (bool);
    /// @notice Long: liquidatable iff price < this; short: iff price > this (fees as accrued now).
    function liquidationPrice() external view returns (uint256);
    /// @notice The price at which equity is zero, rounded towards the side of danger.
    function bankruptcyPrice() external view returns (uint256);
}
