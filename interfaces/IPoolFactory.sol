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
    /// @notice A market was created: `pool` over `asset`, priced by `oracle`, with its `insuranceFund`.
    event PoolCreated(address indexed pool, address indexed asset, address indexed oracle, address insuranceFund);
    /// @notice A market's parameters, at creation or when a queued change is executed.
    event PoolParamsSet(address indexed pool, MarketParams params);
    /// @notice `by` (the guardian or the owner) paused (`paused` true) or unpaused opening in `pool`.
    event PoolPausedSet(address indexed pool, bool paused, address indexed by);
    /// @notice The guardian is now `guardian` (at construction, or set by the owner).
    event GuardianSet(address indexed guardian);
    /// @notice The protocol's Liquidator was set (once, for good).
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

    // Each error's @notice is its one-line message to users: `{name}` stands for the error's argument
    // `name` (ringfence/errors.py fills them in).

    /// @notice parameter {name} = {value} is outside [{min}, {max}]
    /// @param name The parameter's name: a MarketParams field such as "maintenanceMarginWad", or
    /// "delay", "assetDecimals", "maxKeeperBonusMin", "maxPriceAge" (a price adapter's maxAge).
    error ParameterOutOfBounds(bytes32 name, uint256 value, uint256 min, uint256 max);
    /// @notice the new parameters equal the current ones
    error ParamsUnchanged();
    /// @notice the market is already in that state (paused: {paused})
    error PausedUnchanged(bool paused);
    /// @notice {caller} is neither the guardian nor the owner
    error NotGuardian(address caller);
    /// @notice {pool} is not a pool of this factory
    error UnknownPool(address pool);
    /// @notice an address argument is zero
    error ZeroAddress();
    /// @notice the liquidator is already set ({liquidator})
    error LiquidatorAlreadySet(address liquidator);
    /// @notice the factory's liquidator must be set before creating a market
    error LiquidatorNotSet();
    /// @notice {guardian} is already the guardian
    error GuardianUnchanged(address guardian);
    /// @notice the factory cannot be left without an owner: transfer it instead
    error RenounceDisabled();
    /// @notice the pool deployer {deployer} serves the factory {factory}, not this one
    /// @dev The pool deployer given to the constructor is bound to another factory.
    error DeployerNotBound(address deployer, address factory);
    /// @notice {pool} has no queued change of this kind (parameters or price adapter)
    error NothingPending(address pool);
    /// @notice the queued change of {pool} can be executed from {eta} on; it is {timestamp}
    /// @param eta The timestamp from which the change can be executed.
    /// @param timestamp The current block's timestamp.
    error TooEarly(address pool, uint256 eta, uint256 timestamp);
    /// @notice the market already reads its price from {oracle}
    error OracleUnchanged(address oracle);
    /// @notice the price adapter {oracle} does not answer price(): revert data '{reason}' (empty if it
    /// answered zero)
    /// @param reason The revert data of `price()`, empty when it answered zero.
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

    /// @notice Pauses or unpauses opening positions in `pool` (the guardian or the owner, at once). Emits
    /// PoolPausedSet.
    function setPaused(address pool, bool paused) external;
    /// @notice Sets the guardian, who may pause and unpause opening (owner). Emits GuardianSet.
    function setGuardian(address guardian) external;
    /// @notice Sets the protocol's Liquidator, once (owner); markets can be created only after. Emits
    /// LiquidatorSet.
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

    /// @notice Who may pause and unpause opening besides the owner (address(0): nobody).
    function guardian() external view returns (address);
    /// @notice The protocol's Liquidator (address(0) until set), fixed in every pool created after.
    function liquidator() external view returns (address);
    /// @notice Whether `pool` is a market this factory created.
    function isPool(address pool) external view returns (bool);
    /// @notice Every market this factory created, in order of creation.
    function pools() external view returns (address[] memory);
    /// @notice How many markets this factory created.
    function poolCount() external view returns (uint256);
}
