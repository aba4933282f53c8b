// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @notice Test double: a contract posing as one of the factory's pools. It answers `creationNonce` with
/// whatever nonce it is told (a genuine pool's, say) and accepts any liquidation, counting the calls, so a
/// test sees whether the Liquidator or the MarginGuard took it for a pool (`tests/security/test_pool_proof.py`).
contract PoolImpostor {
    uint256 public creationNonce;
    uint256 public liquidateCalls;

    constructor(uint256 nonce_) {
        creationNonce = nonce_;
    }

    function liquidate(address[] calldata, address, bool) external returns (uint256) {
        ++liquidateCalls;
        return 0;
    }
}
