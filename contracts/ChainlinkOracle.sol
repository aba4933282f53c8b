// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {IChainlinkOracle} from "../interfaces/IChainlinkOracle.sol";
import {IPriceOracle} from "../interfaces/IPriceOracle.sol";

/// @title ChainlinkOracle
/// @notice Reads one Chainlink price feed and returns its latest answer scaled to 1e18 (WAD), or
///         reverts with a named error of IChainlinkOracle when that answer cannot be trusted.
///         On an L2, a Chainlink sequencer uptime feed can guard the price (sequencer down, or
///         back up for no more than a grace period, both revert).
/// @dev Everything is immutable: a read costs two calls to the price feed (latestRoundData(),
///      then decimals() at an address already warm), one to the sequencer uptime feed when there
///      is one, and no storage access. Every read checks that the feed still reports the decimals
///      read in the constructor: a feed proxy moved to an aggregator with other decimals would
///      otherwise be scaled wrongly (by a power of ten), so such a feed is refused with
///      FeedDecimalsChanged until the market is moved to a new adapter.
///      The answer checks run in this order: changed decimals, incomplete round, non-positive
///      answer, answer from the future, stale answer, answer outside the bounds. Bounds are
///      checked against effective bounds computed once in the constructor, which also exclude
///      any answer that would scale to 0 (feeds with more than 18 decimals) or overflow uint256
///      (no upper bound configured), so price() never returns 0 and never panics.
contract ChainlinkOracle is IChainlinkOracle {
    /// @dev Selector of AggregatorV3Interface.latestRoundData(), used in the low-level read.
    bytes4 private constant _LATEST_ROUND_DATA = AggregatorV3Interface.latestRoundData.selector;

    /// @dev Selector of AggregatorV3Interface.decimals(), used in the low-level read.
    bytes4 private constant _DECIMALS = AggregatorV3Interface.decimals.selector;

    /// @dev Feeds with more decimals than this are refused; 10 ** (36 - 18) still fits uint256 easily.
    uint8 private constant _MAX_FEED_DECIMALS = 36;

    /// @inheritdoc IChainlinkOracle
    address public immutable feed;

    /// @inheritdoc IChainlinkOracle
    address public immutable sequencerFeed;

    /// @inheritdoc IChainlinkOracle
    uint256 public immutable gracePeriod;

    /// @inheritdoc IPriceOracle
    uint256 public immutable maxAge;

    /// @inheritdoc IChainlinkOracle
    int256 public immutable minAnswer;

    /// @inheritdoc IChainlinkOracle
    int256 public immutable maxAnswer;

    /// @inheritdoc IChainlinkOracle
    uint8 public immutable feedDecimals;

    /// @dev 10 ** (18 - feedDecimals) when feedDecimals < 18, else 1.
    uint256 private immutable _scaleUp;

    /// @dev 10 ** (feedDecimals - 18) when feedDecimals > 18, else 1.
    uint256 private immutable _scaleDown;

    /// @dev Lowest accepted raw answer: max(minAnswer, _scaleDown), so the WAD price is never 0.
    int256 private immutable _lowestAnswer;

    /// @dev Highest accepted raw answer: maxAnswer, or when it is 0 the largest answer whose
    ///      scaled value fits uint256.
    int256 private immutable _highestAnswer;

    /// @notice Configures the oracle; every argument is immutable afterwards.
    /// @dev Reads the feed's decimals() once. Reverts with ZeroAddress, InvalidMaxAge,
    ///      OracleCallFailed (decimals() failed or was malformed), UnsupportedFeedDecimals or
    ///      InvalidBounds.
    /// @param feed_ The Chainlink price feed (AggregatorV3Interface); must not be address(0).
    /// @param maxAge_ The longest accepted age (seconds) of the feed's latest answer; must be > 0.
    /// @param minAnswer_ The lowest accepted raw answer (inclusive), in the feed's units; must be >= 0.
    /// @param maxAnswer_ The highest accepted raw answer (inclusive), in the feed's units; 0 for no
    ///        upper bound, otherwise it must be greater than minAnswer_.
    /// @param sequencerFeed_ The Chainlink L2 sequencer uptime feed, or address(0) for no check (L1).
    /// @param gracePeriod_ Seconds after the sequencer comes back up during which prices are refused.
    constructor(
        address feed_,
        uint256 maxAge_,
        int256 minAnswer_,
        int256 maxAnswer_,
        address sequencerFeed_,
        uint256 gracePeriod_
    ) {
        if (feed_ == address(0)) revert ZeroAddress();
        if (maxAge_ == 0) revert InvalidMaxAge(maxAge_);
        if (minAnswer_ < 0 || (maxAnswer_ != 0 && minAnswer_ >= maxAnswer_)) {
            revert InvalidBounds(minAnswer_, maxAnswer_);
        }

        uint8 decimals = _readDecimals(feed_);
        if (decimals > _MAX_FEED_DECIMALS) revert UnsupportedFeedDecimals(decimals);
        uint256 scaleUp = decimals < 18 ? 10 ** (18 - decimals) : 1;
        uint256 scaleDown = decimals > 18 ? 10 ** (decimals - 18) : 1;

        // The largest raw answer whose scaled value fits uint256 (and int256, as answers are int256).
        uint256 ceiling = type(uint256).max / scaleUp;
        int256 highest = ceiling > uint256(type(int256).max) ? type(int256).max : int256(ceiling);
        if (maxAnswer_ != 0) {
            if (maxAnswer_ > highest) revert InvalidBounds(minAnswer_, maxAnswer_);
            highest = maxAnswer_;
        }
        // scaleDown <= 1e18, so the cast is exact.
        int256 lowest = minAnswer_ > int256(scaleDown) ? minAnswer_ : int256(scaleDown);
        if (lowest > highest) revert InvalidBounds(minAnswer_, maxAnswer_);

        feed = feed_;
        maxAge = maxAge_;
        minAnswer = minAnswer_;
        maxAnswer = maxAnswer_;
        sequencerFeed = sequencerFeed_;
        gracePeriod = gracePeriod_;
        feedDecimals = decimals;
        _scaleUp = scaleUp;
        _scaleDown = scaleDown;
        _lowestAnswer = lowest;
        _highestAnswer = highest;
    }

    /// @inheritdoc IPriceOracle
    /// @dev Reverts with SequencerDown, SequencerGracePeriod, OracleCallFailed, FeedDecimalsChanged,
    ///      IncompleteRound, NonPositivePrice, PriceFromFuture, StalePrice or PriceOutOfBounds
    ///      (checked in that order).
    function price() external view returns (uint256 priceWad) {
        (priceWad,) = _latest();
    }

    /// @inheritdoc IPriceOracle
    function latestPrice() external view returns (uint256 priceWad, uint256 updatedAt) {
        return _latest();
    }

    /// @dev The checked price and its round's `updatedAt` (see `price`).
    function _latest() private view returns (uint256 priceWad, uint256 updatedAt) {
        if (sequencerFeed != address(0)) _checkSequencer();

        uint256 roundId;
        int256 answer;
        uint256 answeredInRound;
        (roundId, answer,, updatedAt, answeredInRound) = _latestRoundData(feed);
        // The answer's units are the feed's decimals now, which _scaleUp/_scaleDown must match.
        uint8 decimals = _readDecimals(feed);
        if (decimals != feedDecimals) revert FeedDecimalsChanged(feedDecimals, decimals);
        // Both round ids were checked to fit uint80 in _latestRoundData: the casts are exact.
        if (answeredInRound < roundId || updatedAt == 0) {
            revert IncompleteRound(uint80(roundId), uint80(answeredInRound));
        }
        if (answer <= 0) revert NonPositivePrice(answer);
        if (updatedAt > block.timestamp) revert PriceFromFuture(updatedAt);
        unchecked {
            // updatedAt <= block.timestamp: no underflow.
            if (block.timestamp - updatedAt > maxAge) revert StalePrice(updatedAt, maxAge);
        }
        if (answer < _lowestAnswer || answer > _highestAnswer) {
            revert PriceOutOfBounds(answer, minAnswer, maxAnswer);
        }
        unchecked {
            // 0 < answer <= _highestAnswer <= type(uint256).max / _scaleUp: no overflow;
            // one of the two factors is 1, so the result is exact (or rounded down when dividing).
            priceWad = (uint256(answer) * _scaleUp) / _scaleDown;
        }
    }

    /// @dev Reverts unless the sequencer uptime feed reports the sequencer up (answer 0) since
    ///      more than gracePeriod seconds. A status round with startedAt == 0 is invalid and taken
    ///      as down; a startedAt in the future is taken as still within the grace period.
    function _checkSequencer() private view {
        (, int256 status, uint256 startedAt,,) = _latestRoundData(sequencerFeed);
        if (status != 0 || startedAt == 0) revert SequencerDown();
        if (startedAt > block.timestamp) revert SequencerGracePeriod(startedAt, gracePeriod);
        unchecked {
            // startedAt <= block.timestamp: no underflow.
            if (block.timestamp - startedAt <= gracePeriod) revert SequencerGracePeriod(startedAt, gracePeriod);
        }
    }

    /// @dev latestRoundData() of `target` through a low-level staticcall, which (unlike a
    ///      high-level call in try/catch, whose ABI decoding of the result is not caught) turns
    ///      every failure into OracleCallFailed(target): a revert, running out of gas, no code,
    ///      return data shorter than five words, or a round id that does not fit uint80. Only the
    ///      first five words of return data are copied, so a huge return cannot grief the caller.
    function _latestRoundData(address target)
        private
        view
        returns (uint256 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint256 answeredInRound)
    {
        bytes4 selector = _LATEST_ROUND_DATA;
        bool ok;
        assembly ("memory-safe") {
            // Calldata in scratch space; the five return words past the free memory pointer
            // (used as scratch, the pointer is not moved).
            let m := mload(0x40)
            mstore(0x00, selector)
            ok := staticcall(gas(), target, 0x00, 0x04, m, 0xa0)
            ok := and(ok, gt(returndatasize(), 0x9f))
            roundId := mload(m)
            answer := mload(add(m, 0x20))
            startedAt := mload(add(m, 0x40))
            updatedAt := mload(add(m, 0x60))
            answeredInRound := mload(add(m, 0x80))
            ok := and(ok, iszero(shr(80, or(roundId, answeredInRound))))
        }
        if (!ok) revert OracleCallFailed(target);
    }

    /// @dev decimals() of `target` through a low-level staticcall, or OracleCallFailed(target) if
    ///      the call fails (a revert, running out of gas, no code) or its result is not an
    ///      ABI-encoded uint8 (shorter than one word, or a word above 255). Only the first word of
    ///      return data is copied.
    function _readDecimals(address target) private view returns (uint8 decimals) {
        bytes4 selector = _DECIMALS;
        bool ok;
        uint256 raw;
        assembly ("memory-safe") {
            // Calldata and the one return word both in scratch space.
            mstore(0x00, selector)
            ok := staticcall(gas(), target, 0x00, 0x04, 0x00, 0x20)
            ok := and(ok, gt(returndatasize(), 0x1f))
            raw := mload(0x00)
            ok := and(ok, lt(raw, 0x100))
        }
        if (!ok) revert OracleCallFailed(target);
        decimals = uint8(raw);
    }
}
