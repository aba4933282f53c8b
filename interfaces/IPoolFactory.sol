// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MarketParams} from "./IMarginPool.sol";

/// @title IPoolFactory
/// @notice Creates Ringfence markets (one MarginPool each, with its insurance fund and vault
/// implementation) and is the registry of pools and the home of the protocol's roles.
/// @dev Owner powers (two-step ownership transfer): create markets; change a market's parameters within
/// the hard bounds below; set the guardian; set the liquidator once; pause and unpause opening.
/// Guardian powers: pause and unpause opening. Nobody can pause adding margin, closing or liquidating,
/// move a vault's margin, or take the insurance fund's tokens anywhere but to its pool.
/// Hard bounds: 0 < MM < IM <= 100 % and IM >= 1 % (leverage <= 100x); MM < T <= IM;
/// keeper bonus rate + penalty rate <= MM; open and close fees <= 1 %; borrow rate <= 100 % a year;
/// profit cap between 1x and 10x the margin; min margin and min notional > 0; max position >= min
/// notional; max open interest >= max position; bonus floor <= half the min margin (self-liquidation
/// never pays) and <= bonus cap; oracle max age <= 2 days. Pools are created only once the liquidator is set.
interface IPoolFactory {
    event PoolCreated(address indexed pool, address indexed asset, address indexed oracle, address insuranceFund);
    event PoolParamsSet(address indexed pool, MarketParams params);
    event PoolPausedSet(address indexed pool, bool paused, address indexed by);
    event GuardianSet(address indexed guardian);
    event LiquidatorSet(address indexed liquidator);

    /// @notice `name` is the parameter (e.g. "maintenanceMarginWad"); `value` was outside [min, max].
    error ParameterOutOfBounds(bytes32 name, uint256 value, uint256 min, uint256 max);
    error ParamsUnchanged();
    error PausedUnchanged(bool paused);
    error NotGuardian(address caller);
    error UnknownPool(address pool);
    error ZeroAddress();
    error LiquidatorAlreadySet(address liquidator);
    error LiquidatorNotSet();
    error GuardianUnchanged(address guardian);
    error RenounceDisabled();
    /// @notice The pool deployer given to the constructor serves `factory`, not this factory.
    error DeployerNotBound(address deployer, address factory);

    /// @notice Creates a market over `asset` priced by `oracle` (an IPriceOracle whose maxAge is bounded).
    /// @return pool The new MarginPool (an ERC-4626 whose shares are named `name`/`symbol`).
    function createPool(
        address asset,
        address oracle,
        MarketParams calldata params,
        string calldata name,
        string calldata symbol
    ) external returns (address pool);

    function setParams(address pool, MarketParams calldata params) external;
    function setPaused(address pool, bool paused) external;
    function setGuardian(address guardian) external;
    function setLiquidator(address liquidator) external;

    /// @notice Reverts with ParameterOutOfBounds unless `params` are within the hard bounds.
    function checkParams(MarketParams calldata params) external pure;

    function guardian() external view returns (address);
    function liquidator() external view returns (address);
    function isPool(address pool) external view returns (bool);
    function pools() external view returns (address[] memory);
    function poolCount() external view returns (uint256);
}
