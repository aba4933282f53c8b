// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice What `PoolProof` reads of a PoolFactory (`deployer`) and of its MarginPoolDeployer (`chunks`), once,
/// when the Liquidator or the MarginGuard is created.
interface IPoolSource {
    function deployer() external view returns (address);
    function chunks() external view returns (uint256);
}
