// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IInsuranceFund
/// @notice One per pool. Receives liquidation penalties (and anyone's contributions) and pays the pool's
/// bad debt before the pool's LPs bear any of it. Its tokens leave only on its own pool's order: to the
/// pool (`cover`) or to the keeper of a liquidation whose equity could not pay the bonus (`coverKeeperBonus`).
interface IInsuranceFund {
    /// @notice The pool asked the fund to cover `requested` of bad debt; the fund paid `paid` (what it had, at most).
    event Covered(uint256 requested, uint256 paid);
    /// @notice `from` paid `amount` into the fund.
    event Funded(address indexed from, uint256 amount);

    /// @notice {caller} is not the pool
    /// @dev The error's @notice is its message to users (ringfence/errors.py), as in IMarginPool.
    error NotPool(address caller);

    /// @notice Pays the pool up to `amount` (what it holds, at most) and returns what it paid. Pool only.
    function cover(uint256 amount) external returns (uint256 paid);
    /// @notice Pays `keeper` up to `amount` of a liquidation bonus the liquidated vaults' equity could not pay
    /// (what the fund holds, at most) and returns what it paid. Pool only.
    function coverKeeperBonus(address keeper, uint256 amount) external returns (uint256 paid);
    /// @notice Pulls `amount` from the caller into the fund.
    function fund(uint256 amount) external;

    /// @notice The pool the fund serves, the only one that can move its tokens (fixed at creation).
    function pool() external view returns (address);
    /// @notice The settlement token the fund holds and pays in.
    function asset() external view returns (address);
    /// @notice What the fund can pay now.
    function available() external view returns (uint256);
}
