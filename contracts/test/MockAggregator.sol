// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

/// @title MockAggregator
/// @notice TEST ONLY. A Chainlink price feed whose rounds the test writes directly, and which can
///         be made to revert, burn all its gas, or return malformed data. Its decimals can be
///         changed, or decimals() made to revert, as a feed proxy moved to another aggregator would.
contract MockAggregator is AggregatorV3Interface {
    /// @notice How latestRoundData() misbehaves, when it does not answer normally.
    enum Malformed {
        None, // the ABI-encoded five words
        Short, // only one word of return data
        DirtyRoundId // roundId with bits above uint80 set
    }

    struct Round {
        int256 answer;
        uint256 startedAt;
        uint256 updatedAt;
        uint80 answeredInRound;
    }

    /// @notice getRoundData() was asked for a round this feed does not hold.
    error NoDataPresent();

    /// @notice latestRoundData() was made to revert with setReverts(true).
    error MockReverted();

    /// @notice decimals() was made to revert with setDecimalsReverts(true).
    error MockDecimalsReverted();

    /// @notice The id of the latest round.
    uint80 public latestRound;

    /// @notice Whether latestRoundData() reverts (MockReverted).
    bool public reverts;

    /// @notice Whether latestRoundData() loops until it runs out of gas.
    bool public burnsGas;

    /// @notice How latestRoundData() returns malformed data, if it does.
    Malformed public malformed;

    /// @dev decimals(); in the same slot as latestRound, so reading both costs one cold slot.
    uint8 private _decimals;

    /// @notice Whether decimals() reverts (MockDecimalsReverted).
    bool public decimalsReverts;

    mapping(uint80 roundId => Round) private _rounds;

    /// @param decimals_ The feed's decimals().
    /// @param initialAnswer The answer of round 1, written at deployment.
    constructor(uint8 decimals_, int256 initialAnswer) {
        _decimals = decimals_;
        setAnswer(initialAnswer);
    }

    /// @notice Starts a new complete round: roundId + 1, updatedAt = startedAt = block.timestamp.
    /// @param answer The new round's answer.
    function setAnswer(int256 answer) public {
        uint80 roundId = latestRound + 1;
        latestRound = roundId;
        _rounds[roundId] = Round(answer, block.timestamp, block.timestamp, roundId);
    }

    /// @notice Writes the latest round raw (for incomplete, stale or future rounds).
    /// @param roundId The id of the round, which becomes the latest round.
    /// @param answer The round's answer.
    /// @param startedAt The round's startedAt.
    /// @param updatedAt The round's updatedAt.
    /// @param answeredInRound The round in which the answer was computed.
    function setRoundData(uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
        external
    {
        latestRound = roundId;
        _rounds[roundId] = Round(answer, startedAt, updatedAt, answeredInRound);
    }

    /// @notice Overwrites the latest round's updatedAt.
    /// @param updatedAt The new updatedAt.
    function setUpdatedAt(uint256 updatedAt) external {
        _rounds[latestRound].updatedAt = updatedAt;
    }

    /// @notice Changes decimals(), as a feed proxy pointed to an aggregator with other decimals does.
    ///         Existing rounds keep their raw answers.
    /// @param decimals_ The feed's new decimals().
    function setDecimals(uint8 decimals_) external {
        _decimals = decimals_;
    }

    /// @notice Makes decimals() revert (with MockDecimalsReverted) or not.
    /// @param reverts_ Whether it reverts.
    function setDecimalsReverts(bool reverts_) external {
        decimalsReverts = reverts_;
    }

    /// @notice Makes latestRoundData() revert (with MockReverted) or not.
    /// @param reverts_ Whether it reverts.
    function setReverts(bool reverts_) external {
        reverts = reverts_;
    }

    /// @notice Makes latestRoundData() loop until it runs out of gas, or not.
    /// @param burnsGas_ Whether it burns all its gas.
    function setBurnsGas(bool burnsGas_) external {
        burnsGas = burnsGas_;
    }

    /// @notice Makes latestRoundData() return malformed data (see Malformed), or not.
    /// @param malformed_ The kind of malformed data, None for well-formed.
    function setMalformed(Malformed malformed_) external {
        malformed = malformed_;
    }

    /// @inheritdoc AggregatorV3Interface
    function decimals() external view returns (uint8) {
        if (decimalsReverts) revert MockDecimalsReverted();
        return _decimals;
    }

    /// @inheritdoc AggregatorV3Interface
    function description() external pure returns (string memory) {
        return "Ringfence MockAggregator";
    }

    /// @inheritdoc AggregatorV3Interface
    function version() external pure returns (uint256) {
        return 4;
    }

    /// @inheritdoc AggregatorV3Interface
    function getRoundData(uint80 roundId_)
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        Round storage r = _rounds[roundId_];
        if (r.updatedAt == 0 && r.startedAt == 0 && r.answer == 0) revert NoDataPresent();
        return (roundId_, r.answer, r.startedAt, r.updatedAt, r.answeredInRound);
    }

    /// @inheritdoc AggregatorV3Interface
    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        if (reverts) revert MockReverted();
        if (burnsGas) {
            // Expand memory 64 KiB at a time: the quadratic memory cost exhausts any gas
            // allowance in a few dozen iterations (a plain loop would take millions).
            assembly ("memory-safe") {
                for { let i := 0 } 1 { i := add(i, 0x10000) } { mstore(i, 1) }
            }
        }
        Malformed m = malformed;
        if (m == Malformed.Short) {
            assembly ("memory-safe") {
                mstore(0x00, 1)
                return(0x00, 0x20)
            }
        }
        roundId = latestRound;
        Round storage r = _rounds[roundId];
        if (m == Malformed.DirtyRoundId) {
            uint256 dirty = uint256(roundId) | (uint256(1) << 80);
            (int256 a, uint256 s, uint256 u, uint256 air) = (r.answer, r.startedAt, r.updatedAt, r.answeredInRound);
            assembly ("memory-safe") {
                let p := mload(0x40)
                mstore(p, dirty)
                mstore(add(p, 0x20), a)
                mstore(add(p, 0x40), s)
                mstore(add(p, 0x60), u)
                mstore(add(p, 0x80), air)
                return(p, 0xa0)
            }
        }
        return (roundId, r.answer, r.startedAt, r.updatedAt, r.answeredInRound);
    }

    /// @notice The block.timestamp this call runs at (lets a test see the time an eth_call sees).
    /// @return The current block's timestamp.
    function blockTimestamp() external view returns (uint256) {
        return block.timestamp;
    }

    /// @notice The latest round's answer (AggregatorInterface-style convenience).
    /// @return The latest answer.
    function latestAnswer() external view returns (int256) {
        return _rounds[latestRound].answer;
    }

    /// @notice The latest round's updatedAt (AggregatorInterface-style convenience).
    /// @return The latest updatedAt.
    function latestTimestamp() external view returns (uint256) {
        return _rounds[latestRound].updatedAt;
    }
}
