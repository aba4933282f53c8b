// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {LibRLP} from "solady/src/utils/LibRLP.sol";
import {IMarginPool} from "../../interfaces/IMarginPool.sol";
import {IPoolSource} from "../../interfaces/IPoolSource.sol";

/// @title PoolProof
/// @notice Whether an address is one of a factory's pools, without a call to the factory. Every pool is
/// created by the factory's `MarginPoolDeployer` with CREATE, and that deployer creates nothing else past
/// its first `chunks` nonces (the data contracts of the pool's code); each pool records its nonce
/// (`MarginPool.creationNonce`). So `pool` is a pool of the factory iff it answers a nonce `n` past the
/// chunks and the deployer's CREATE address at `n` is `pool` itself: a contract elsewhere cannot be at
/// that address, whatever it answers. The factory registers every pool in the transaction that creates
/// it, so this says the same as `PoolFactory.isPool` (`tests/security/test_pool_proof.py`), for one
/// call to the pool (which its caller is about to make anyway) instead of a cold factory and a cold slot.
library PoolProof {
    /// @notice The deployer of `factory`'s pools and the first nonce at which it creates a pool.
    function source(address factory) internal view returns (address deployer, uint256 firstNonce) {
        deployer = IPoolSource(factory).deployer();
        firstNonce = IPoolSource(deployer).chunks() + 1;
    }

    /// @notice Whether `pool` is a pool created by `deployer` at a nonce of at least `firstNonce`.
    function isPool(address deployer, uint256 firstNonce, address pool) internal view returns (bool) {
        bytes4 selector = IMarginPool.creationNonce.selector;
        bool ok;
        uint256 nonce;
        assembly ("memory-safe") {
            // The call and its one return word in scratch space; a longer answer is not copied.
            mstore(0x00, selector)
            ok := staticcall(gas(), pool, 0x00, 0x04, 0x00, 0x20)
            ok := and(ok, gt(returndatasize(), 0x1f))
            nonce := mload(0x00)
        }
        return ok && nonce >= firstNonce && nonce < type(uint64).max
            && LibRLP.computeAddress(deployer, nonce) == pool;
    }
}
