// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

/// @title MockSequencerFeed
/// @notice TEST ONLY. A Chainlink L2 sequencer uptime feed: answer 0 = up, 1 = down, startedAt =
///         when the status last changed. Deployed up, with startedAt = the deployment's block time
///         (so a fresh deployment is inside any non-zero grace period).
contract MockSequencerFeed is AggregatorV3Interface {
    /// @notice getRoundData() was asked for a round other than the latest.
    error NoDataPresent();

    /// @notice The id of the latest status round.
    uint80 public latestRound;

    /// @notice The latest status: 0 = up, 1 = down.
    int256 public status;

    /// @notice When the status last changed.
    uint256 public startedAt;

    /// @notice When the latest status round was written.
    uint256 public updatedAt;

    constructor() {
        _newRound(0);
    }

    /// @notice Starts a new status round: answer 1 (down) or 0 (up), startedAt = block.timestamp.
    /// @param down Whether the sequencer is down.
    function setStatus(bool down) external {
        _newRound(down ? int256(1) : int256(0));
    }

    /// @notice Overwrites when the status last changed.
    /// @param startedAt_ The new startedAt.
    function setStartedAt(uint256 startedAt_) external {
        startedAt = startedAt_;
    }

    /// @inheritdoc AggregatorV3Interface
    function decimals() external pure returns (uint8) {
        return 0;
    }

    /// @inheritdoc AggregatorV3Interface
    function description() external pure returns (string memory) {
        return "Ringfence MockSequencerFeed";
    }

    /// @inheritdoc AggregatorV3Interface
    function version() external pure returns (uint256) {
        return 1;
    }

    /// @inheritdoc AggregatorV3Interface
    function getRoundData(uint80 roundId)
        external
        view
        returns (uint80, int256, uint256, uint256, uint80)
    {
        if (roundId != latestRound) revert NoDataPresent();
        return (roundId, status, startedAt, updatedAt, roundId);
    }

    /// @inheritdoc AggregatorV3Interface
    function latestRoundData() external view returns (uint80, int256, uint256, uint256, uint80) {
        return (latestRound, status, startedAt, updatedAt, latestRound);
    }

    function _newRound(int256 status_) private {
        latestRound += 1;
        status = status_;
        startedAt = block.timestamp;
        updatedAt = block.timestamp;
    }
}
