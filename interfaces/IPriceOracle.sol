// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IPriceOracle
/// @notice What a Ringfence market reads: one price, scaled to 1e18 (WAD), or a revert with a named error.
interface IPriceOracle {
    /// @notice The current price of one whole unit of the index asset in whole settlement-token units, scaled to 1e18.
    /// @dev Reverts with a named error of IChainlinkOracle when the price cannot be trusted.
    /// @return priceWad The price, scaled to 1e18; never zero.
    function price() external view returns (uint256 priceWad);

    /// @notice The same price, with the time its feed last updated it (LP requests settle only on a round
    /// published after them).
    /// @dev Reverts exactly where `price()` does.
    /// @return priceWad The price, scaled to 1e18; never zero.
    /// @return updatedAt The `updatedAt` of the feed's round that gave the price (seconds).
    function latestPrice() external view returns (uint256 priceWad, uint256 updatedAt);

    /// @notice The longest age (seconds) of an answer this oracle accepts (the factory bounds it).
    /// @return The maximum accepted age of the feed's latest answer, in seconds.
    function maxAge() external view returns (uint256);
}
