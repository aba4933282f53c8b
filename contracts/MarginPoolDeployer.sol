// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {MarketParams} from "../interfaces/IMarginPool.sol";
import {MarginPool} from "./MarginPool.sol";

/// @title MarginPoolDeployer
/// @notice Holds MarginPool's creation code so that PoolFactory stays under the 24 KiB code-size limit
/// (EIP-170). Anyone may call it, but the pool it deploys answers only to the caller as its factory, and
/// only pools created by the PoolFactory are in its registry (and reachable by its liquidator).
contract MarginPoolDeployer {
    /// @notice Deploys a MarginPool whose factory is the caller.
    function deploy(address asset, address oracle, MarketParams calldata params, string calldata name, string calldata symbol)
        external
        returns (address)
    {
        return address(new MarginPool(msg.sender, asset, oracle, params, name, symbol));
    }
}
