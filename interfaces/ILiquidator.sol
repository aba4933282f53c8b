// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice Vaults of one pool to liquidate together (one oracle read, one keeper payment).
struct Batch {
    address pool;
    address[] vaults;
}

/// @title ILiquidator
/// @notice The keepers' entry point: permissionless liquidation of underwater vaults of any pool the
/// factory created. The keeper (the caller) is paid in the same transaction by each pool.
interface ILiquidator {
    /// @notice One batch's outcome: how many vaults were liquidated and the keeper's pay.
    event BatchLiquidated(address indexed pool, address indexed keeper, uint256 attempted, uint256 liquidated);

    // Each error's @notice is its one-line message to users: `{name}` stands for the error's argument
    // `name` (ringfence/errors.py fills them in).

    /// @notice {pool} is not a pool of this factory
    /// @dev The same error as IPoolFactory.UnknownPool (one selector, one message).
    error UnknownPool(address pool);
    /// @notice the batch names no pool
    error EmptyBatch();

    /// @notice Liquidates one vault; reverts (HealthyPosition, PositionNotOpen, an oracle error…) if it cannot.
    /// What it did is in the pool's `Liquidated` and `KeeperPaid` events.
    function liquidate(address vault) external;

    /// @notice Liquidates many vaults of many pools; skips vaults that are healthy, closed or unknown
    /// instead of reverting, so a lost race costs nothing. Oracle errors still revert.
    /// @return liquidated How many vaults were liquidated in all.
    function liquidateBatch(Batch[] calldata batches) external returns (uint256 liquidated);

    /// @notice The PoolFactory whose pools this Liquidator serves (fixed at creation).
    function factory() external view returns (address);
}
