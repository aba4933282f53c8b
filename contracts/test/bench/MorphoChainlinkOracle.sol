// SPDX-License-Identifier: MIT
pragma solidity ^0.8.19;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

/// @title MorphoChainlinkOracle
/// @notice BENCH ONLY. Morpho Blue's `IOracle` over one Chainlink price feed, read the way mainnet feeds
/// are read (the feed is the aggregator proxy, so a read is two contract calls). It does what Morpho's
/// own `MorphoChainlinkOracleV2` does for a single feed: `latestRoundData()`, reject a negative answer,
/// and scale by an immutable factor to "loan-token units per collateral-token unit, times 1e36".
/// No staleness check: Morpho's oracles have none either.
contract MorphoChainlinkOracle {
    error NegativeAnswer(int256 answer);

    /// @notice The Chainlink feed (an aggregator proxy).
    AggregatorV3Interface public immutable feed;

    /// @notice 10 ** (36 + loanDecimals - collateralDecimals - feedDecimals).
    uint256 public immutable scaleFactor;

    constructor(AggregatorV3Interface feed_, uint8 loanDecimals, uint8 collateralDecimals) {
        feed = feed_;
        scaleFactor = 10 ** (36 + uint256(loanDecimals) - uint256(collateralDecimals) - uint256(feed_.decimals()));
    }

    /// @notice Morpho's `IOracle.price()`: one collateral unit in loan units, scaled by 1e36.
    function price() external view returns (uint256) {
        (, int256 answer,,,) = feed.latestRoundData();
        if (answer < 0) revert NegativeAnswer(answer);
        return uint256(answer) * scaleFactor;
    }
}
