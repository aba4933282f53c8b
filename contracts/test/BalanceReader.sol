// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title BalanceReader
/// @notice TEST ONLY. Many token balances in one call, for invariant checks after every fuzz step.
contract BalanceReader {
    function balancesOf(IERC20 token, address[] calldata holders) external view returns (uint256[] memory out) {
        out = new uint256[](holders.length);
        for (uint256 i; i < holders.length; ++i) {
            out[i] = token.balanceOf(holders[i]);
        }
    }
}
