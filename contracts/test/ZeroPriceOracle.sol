// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IPriceOracle} from "../../interfaces/IPriceOracle.sol";

/// @notice Test double: a price adapter other than `ChainlinkOracle` (which never answers zero) that breaks
/// `IPriceOracle`'s promise by answering a zero price. The factory must refuse it like a silent one.
contract ZeroPriceOracle is IPriceOracle {
    function price() external pure returns (uint256) {
        return 0;
    }

    function latestPrice() external view returns (uint256, uint256) {
        return (0, block.timestamp);
    }

    function maxAge() external pure returns (uint256) {
        return 3600;
    }
}
