// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {LibRLP} from "solady/src/utils/LibRLP.sol";
import {SSTORE2} from "solady/src/utils/SSTORE2.sol";
import {MarketParams} from "../interfaces/IMarginPool.sol";
import {MarginPool} from "./MarginPool.sol";

/// @title MarginPoolDeployer
/// @notice Creates MarginPools for one factory, so that PoolFactory stays under the 24 KiB code-size
/// limit (EIP-170). MarginPool's creation code is not part of this contract's code either: the
/// constructor writes it into data contracts (SSTORE2, at most 24,575 bytes each), and `deploy` reads
/// them back. So the pool's creation code may exceed 24,576 bytes; only this contract's creation code
/// (which carries it once) must stay under EIP-3860's 49,152 bytes.
/// @dev Bound to its factory in the constructor (the factory's address is known in advance: CREATE or
/// CREATE2) and the factory checks `factory() == address(this)` in its own constructor, so the binding
/// cannot be taken by anyone else. This contract creates only its data contracts (in its constructor) and
/// pools, so the address of its next pool is known in advance (the factory creates the pool's vault
/// implementation and insurance fund, which name the pool, before the pool itself).
contract MarginPoolDeployer {
    /// @notice {caller} is not the factory
    /// @dev Only the factory may deploy pools (IMarginPool's error: same selector, same text).
    error NotFactory(address caller);
    /// @notice the factory address given to the pool deployer is zero
    error ZeroFactory();
    /// @notice creating the pool failed without a reason (a pool constructor's own error is re-thrown)
    error PoolCreationFailed();

    /// @notice The largest data contract's payload: its code is a STOP byte then the payload (EIP-170).
    uint256 public constant CHUNK_SIZE = 24_575;

    /// @notice The factory this deployer serves, the only caller of `deploy` (fixed at creation).
    address public immutable factory;
    /// @notice The length of MarginPool's creation code (without constructor arguments).
    uint256 public immutable codeLength;
    /// @notice How many data contracts hold it. The i-th (from 0) is this contract's CREATE number i + 1.
    uint256 public immutable chunks;
    /// @notice The CREATE nonce of this contract: 1 at creation (EIP-161), + 1 per data contract written
    /// by the constructor, + 1 per pool.
    uint256 public createNonce;

    /// @param factory_ The factory that will call `deploy` (it checks this binding in its constructor).
    constructor(address factory_) {
        if (factory_ == address(0)) revert ZeroFactory();
        factory = factory_;
        bytes memory code = type(MarginPool).creationCode;
        uint256 length = code.length;
        uint256 count = (length + CHUNK_SIZE - 1) / CHUNK_SIZE;
        for (uint256 i; i < count; ++i) {
            uint256 start = i * CHUNK_SIZE;
            uint256 size = length - start < CHUNK_SIZE ? length - start : CHUNK_SIZE;
            bytes memory part = new bytes(size);
            assembly ("memory-safe") {
                mcopy(add(part, 0x20), add(add(code, 0x20), start), size)
            }
            address pointer = SSTORE2.write(part);
            assert(pointer == LibRLP.computeAddress(address(this), i + 1));
        }
        codeLength = length;
        chunks = count;
        createNonce = 1 + count;
    }

    /// @notice The data contract holding chunk `i` (from 0) of MarginPool's creation code.
    function chunk(uint256 i) public view returns (address) {
        return LibRLP.computeAddress(address(this), i + 1);
    }

    /// @notice The address of the next pool this deployer will create.
    function nextPool() external view returns (address) {
        return LibRLP.computeAddress(address(this), createNonce);
    }

    /// @notice Deploys a MarginPool whose factory is the caller (the bound factory only).
    function deploy(
        address liquidator,
        address vaultImplementation,
        address insuranceFund,
        address asset,
        address oracle,
        MarketParams calldata params,
        string calldata name,
        string calldata symbol
    ) external returns (address pool) {
        if (msg.sender != factory) revert NotFactory(msg.sender);
        // The pool's nonce: the CREATE below uses this contract's nonce, which `createNonce` tracks.
        bytes memory args = abi.encode(
            msg.sender, liquidator, vaultImplementation, insuranceFund, asset, oracle, params, name, symbol, createNonce
        );
        uint256 length = codeLength;
        bytes memory initcode = new bytes(length + args.length);
        uint256 count = chunks;
        uint256 offset;
        for (uint256 i; i < count; ++i) {
            address pointer = chunk(i);
            assembly ("memory-safe") {
                let size := sub(extcodesize(pointer), 1)
                extcodecopy(pointer, add(add(initcode, 0x20), offset), 1, size)
                offset := add(offset, size)
            }
        }
        assert(offset == length);
        ++createNonce;
        assembly ("memory-safe") {
            mcopy(add(add(initcode, 0x20), length), add(args, 0x20), mload(args))
            pool := create(0, add(initcode, 0x20), mload(initcode))
            if iszero(pool) {
                if returndatasize() {
                    let p := mload(0x40)
                    returndatacopy(p, 0, returndatasize())
                    revert(p, returndatasize())
                }
            }
        }
        if (pool == address(0)) revert PoolCreationFailed();
    }
}
