// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MarketParams} from "./IMarginPool.sol";

/// @title IPoolFactory
/// @notice Creates Ringfence markets (one MarginPool each, with its insurance fund and vault
/// implementation) and is the registry of pools and the home of the protocol's roles.
/// @dev Owner powers (two-step ownership transfer): create markets; change a market's parameters within
/// the hard bounds below and move a market to a new price adapter, both only `delay()` seconds after
/// queueing the change (queue, wait, execute; the owner may cancel meanwhile); set the guardian; set the
/// liquidator once; pause and unpause opening. Guardian powers: pause and unpause opening, at once.
/// Nobody can pause adding margin, closing or liquidating, move a vault's margin, or take the insurance
/// fund's tokens anywhere but to its pool.
/// Hard bounds: 0 < MM < IM <= 100 % and IM >= 1 % (leverage <= 100x); MM < T <= IM;
/// keeper bonus rate + penalty rate <= MM; open and close fees <= 1 %; borrow rate <= 100 % a year;
/// profit cap between 1x and 10x the margin; min margin and min notional > 0; max position >= min
/// notional; max open interest >= max position; bonus floor <= (MM - penalty rate) x min notional (a
/// minimum position at the maintenance line can pay it) and <= the market's `maxKeeperBonusMin`, fixed
/// at creation (at most 100 whole settlement tokens), and <= bonus cap; oracle max age <= 2 days; delay
/// between 1 hour and 30 days. Pools are created only once the liquidator is set.
interface IPoolFactory {
    event PoolCreated(address indexed pool, address indexed asset, address indexed oracle, address insuranceFund);
    /// @notice A market's parameters, at creation or when a queued change is executed.
    event PoolParamsSet(address indexed pool, MarketParams params);
    event PoolPausedSet(address indexed pool, bool paused, address indexed by);
    event GuardianSet(address indexed guardian);
    event LiquidatorSet(address indexed liquidator);
    /// @notice The cap on a market's keeper-bonus floor, fixed when the market is created.
    event MaxKeeperBonusMinSet(address indexed pool, uint256 maxKeeperBonusMin);
    /// @notice A parameter change was queued; it can be executed from `eta` (a timestamp) on.
    event ParamsQueued(address indexed pool, MarketParams params, uint256 eta);
    /// @notice The owner cancelled a market's queued parameter change.
    event ParamsCancelled(address indexed pool);
    /// @notice A move to a new price adapter was queued; it can be executed from `eta` (a timestamp) on.
    event OracleQueued(address indexed pool, address indexed oracle, uint256 eta);
    /// @notice The owner cancelled a market's queued move to `oracle`.
    event OracleCancelled(address indexed pool, address indexed oracle);
    /// @notice A market now reads its price from `oracle` (a queued move was executed).
    event PoolOracleSet(address indexed pool, address indexed oracle);

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
    /// @notice `pool` has no queued change of this kind (parameters or price adapter).
    error NothingPending(address pool);
    /// @notice `pool`'s queued change can be executed from `eta` on; it is `timestamp`.
    error TooEarly(address pool, uint256 eta, uint256 timestamp);
    /// @notice The market already reads its price from `oracle`.
    error OracleUnchanged(address oracle);
    /// @notice `oracle`'s `price()` reverted (its error is `reason`) or answered zero (`reason` empty).
    error OracleNotAnswering(address oracle, bytes reason);

    /// @notice Creates a market over `asset` priced by `oracle` (an IPriceOracle whose maxAge is bounded).
    /// @param maxKeeperBonusMin The market's cap on the keeper-bonus floor for good (settlement-token
    /// units, at most 100 whole tokens and at least `params.keeperBonusMin`).
    /// @return pool The new MarginPool (an ERC-4626 whose shares are named `name`/`symbol`).
    function createPool(
        address asset,
        address oracle,
        MarketParams calldata params,
        uint256 maxKeeperBonusMin,
        string calldata name,
        string calldata symbol
    ) external returns (address pool);

    /// @notice Queues new parameters for `pool` (owner; checked against the hard bounds and the market's
    /// floor cap now and again at execution; must differ from the current ones). Replaces a change
    /// already queued, and its delay starts again. Emits ParamsQueued.
    function queueParams(address pool, MarketParams calldata params) external;

    /// @notice Applies `pool`'s queued parameters once their delay has passed (owner). Reverts with
    /// NothingPending or TooEarly. Emits PoolParamsSet.
    function executeParams(address pool) external;

    /// @notice Drops `pool`'s queued parameter change (owner). Emits ParamsCancelled.
    function cancelParams(address pool) external;

    /// @notice `pool`'s queued parameters and the timestamp from which they can be executed (0: none).
    function pendingParams(address pool) external view returns (MarketParams memory params, uint256 eta);

    /// @notice Queues moving `pool` to the price adapter `oracle` (owner). The adapter must be non-zero,
    /// new, have a bounded maxAge, and answer `price()` now (checked again at execution). Replaces a
    /// move already queued, and its delay starts again. Emits OracleQueued.
    function queueOracle(address pool, address oracle) external;

    /// @notice Moves `pool` to its queued price adapter once the delay has passed (owner), if the adapter
    /// still answers. Reverts with NothingPending, TooEarly or OracleNotAnswering. Emits PoolOracleSet.
    function executeOracle(address pool) external;

    /// @notice Drops `pool`'s queued move to a new price adapter (owner). Emits OracleCancelled.
    function cancelOracle(address pool) external;

    /// @notice `pool`'s queued price adapter and the timestamp from which the move can be executed (0: none).
    function pendingOracle(address pool) external view returns (address oracle, uint256 eta);

    function setPaused(address pool, bool paused) external;
    function setGuardian(address guardian) external;
    function setLiquidator(address liquidator) external;

    /// @notice Reverts with ParameterOutOfBounds unless `params` are within the hard bounds (the rules that
    /// hold for every market).
    function checkParams(MarketParams calldata params) external pure;

    /// @notice As `checkParams`, plus the bound of `pool` itself (its keeper-bonus floor cap).
    function checkPoolParams(address pool, MarketParams calldata params) external view;

    /// @notice Seconds between queueing a parameter or price-adapter change and executing it (fixed).
    function delay() external view returns (uint256);

    /// @notice The cap on `pool`'s keeper-bonus floor (settlement-token units), fixed at its creation.
    function maxKeeperBonusMin(address pool) external view returns (uint256);

    function guardian() external view returns (address);
    function liquidator() external view returns (address);
    function isPool(address pool) external view returns (bool);
    function pools() external view returns (address[] memory);
    function poolCount() external view returns (uint256);
}
