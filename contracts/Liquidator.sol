// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ILiquidator, Batch} from "../interfaces/ILiquidator.sol";
import {IMarginPool} from "../interfaces/IMarginPool.sol";
import {IPositionVault} from "../interfaces/IPositionVault.sol";
import {PoolProof} from "./libraries/PoolProof.sol";

/// @title Liquidator
/// @notice Permissionless liquidation of underwater vaults of the factory's pools. The caller is the
/// keeper and is paid by each pool in the same transaction. See ILiquidator.
contract Liquidator is ILiquidator {
    /// @inheritdoc ILiquidator
    address public immutable factory;
    /// @dev The factory's pool deployer and its first pool nonce (`PoolProof`), read once here.
    address internal immutable _poolDeployer;
    uint256 internal immutable _firstPoolNonce;

    /// @param factory_ The PoolFactory whose pools this liquidates (created before this contract).
    constructor(address factory_) {
        factory = factory_;
        (_poolDeployer, _firstPoolNonce) = PoolProof.source(factory_);
    }

    /// @inheritdoc ILiquidator
    function liquidate(address vault) external {
        address pool = IPositionVault(vault).pool();
        _requirePool(pool);
        address[] memory vaults = new address[](1);
        vaults[0] = vault;
        IMarginPool(pool).liquidate(vaults, msg.sender, true);
    }

    /// @inheritdoc ILiquidator
    function liquidateBatch(Batch[] calldata batches) external returns (uint256 liquidated) {
        if (batches.length == 0) revert EmptyBatch();
        for (uint256 i; i < batches.length; ++i) {
            Batch calldata batch = batches[i];
            _requirePool(batch.pool);
            uint256 done = IMarginPool(batch.pool).liquidate(batch.vaults, msg.sender, false);
            emit BatchLiquidated(batch.pool, msg.sender, batch.vaults.length, done);
            liquidated += done;
        }
    }

    function _requirePool(address pool) internal view {
        if (!PoolProof.isPool(_poolDeployer, _firstPoolNonce, pool)) revert UnknownPool(pool);
    }
}
