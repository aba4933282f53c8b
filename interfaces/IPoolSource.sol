// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice What `PoolProof` reads of a PoolFactory (`deployer`) and of its MarginPoolDeployer (`chunks`), once,
/// when the Liquidator or the MarginGuard is created.
interface IPoolSource {
    /// @notice The factory's MarginPoolDeployer, the creator of every pool of the factory.
    function deployer() external view returns (address);
    /// @notice How many data contracts of the pool's code the deployer created first (its nonces 1 to `chunks`).
    function chunks() external view returns (uint256);
}
