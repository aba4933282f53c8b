// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {LibRLP} from "solady/src/utils/LibRLP.sol";
import {MarketParams} from "../interfaces/IMarginPool.sol";
import {MarginPool} from "./MarginPool.sol";

/// @title MarginPoolDeployer
/// @notice Holds MarginPool's creation code so that PoolFactory stays under the 24 KiB code-size limit
/// (EIP-170). Bound once to its factory, the only caller; it creates nothing else, so the address of
/// its next pool is known in advance (the factory creates the pool's vault implementation and
/// insurance fund, which name the pool, before the pool itself).
contract MarginPoolDeployer {
    error NotFactory(address caller);
    error AlreadyBound(address factory);

    /// @notice The factory this deployer serves (set once by `bind`).
    address public factory;
    /// @notice The CREATE nonce of this contract: 1 at creation (EIP-161), +1 per pool.
    uint256 public nonce = 1;

    /// @notice Binds the deployer to the caller (the factory, from its constructor). Once.
    function bind() external {
        if (factory != address(0)) revert AlreadyBound(factory);
        factory = msg.sender;
    }

    /// @notice The address of the next pool this deployer will create.
    function nextPool() external view returns (address) {
        return LibRLP.computeAddress(address(this), nonce);
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
        ++nonce;
        pool = address(
            new MarginPool(msg.sender, liquidator, vaultImplementation, insuranceFund, asset, oracle, params, name, symbol)
        );
    }
}
