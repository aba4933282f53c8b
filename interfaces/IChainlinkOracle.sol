// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IPriceOracle} from "./IPriceOracle.sol";

/// @title IChainlinkOracle
/// @notice An IPriceOracle backed by one Chainlink price feed (AggregatorV3Interface), optionally
///         guarded by a Chainlink L2 sequencer uptime feed.
/// @dev Every way the price can be untrustworthy has its own named error, so a market (and its
///      keepers) can tell the cases apart. All configuration is immutable.
interface IChainlinkOracle is IPriceOracle {
    // ----------------------------------------------------------------------------------------
    // Errors raised by price()
    // Each error's @notice is its one-line message to users: `{name}` stands for the error's argument
    // `name` (ringfence/errors.py fills them in). The @dev says exactly when it is raised.
    // ----------------------------------------------------------------------------------------

    /// @notice oracle price is stale: updated at {updatedAt}, older than the {maxAge}s bound
    /// @dev The feed's latest answer is older than maxAge: `block.timestamp - updatedAt > maxAge`.
    /// @param updatedAt When the feed's latest answer was written (seconds since the epoch).
    /// @param maxAge The longest age (seconds) this oracle accepts.
    error StalePrice(uint256 updatedAt, uint256 maxAge);

    /// @notice oracle price is timestamped in the future ({updatedAt})
    /// @dev The feed's latest answer claims to be written after the current block (`updatedAt > block.timestamp`).
    /// @param updatedAt The timestamp the feed reported.
    error PriceFromFuture(uint256 updatedAt);

    /// @notice oracle answered a non-positive price ({answer})
    /// @dev The feed's latest answer is zero or negative.
    /// @param answer The feed's raw answer.
    error NonPositivePrice(int256 answer);

    /// @notice oracle round {roundId} is incomplete (answered in {answeredInRound})
    /// @dev The feed's latest round is not complete: `updatedAt == 0` or `answeredInRound < roundId`.
    /// @param roundId The round the feed reported.
    /// @param answeredInRound The round in which the reported answer was computed.
    error IncompleteRound(uint80 roundId, uint80 answeredInRound);

    /// @notice oracle answer {answer} is outside the market's band [{minAnswer}, {maxAnswer}]
    /// @dev The feed's answer lies outside the accepted range, in the feed's raw units. Also raised
    ///      for an answer that cannot be represented as a non-zero WAD: one that would scale down to 0
    ///      (feeds with more than 18 decimals) or overflow uint256 when scaled up. `maxAnswer == 0`
    ///      means the oracle was configured without an upper bound.
    /// @param answer The feed's raw answer.
    /// @param minAnswer The configured lowest accepted raw answer (inclusive).
    /// @param maxAnswer The configured highest accepted raw answer (inclusive), 0 for none.
    error PriceOutOfBounds(int256 answer, int256 minAnswer, int256 maxAnswer);

    /// @notice the price feed {feed} could not be read
    /// @dev A call to a feed failed: it reverted, ran out of gas, or returned malformed data (too short,
    ///      a round id that does not fit uint80, or decimals that do not fit uint8). Raised for the price
    ///      feed and for the sequencer uptime feed; `feed` tells which.
    /// @param feed The address of the feed whose call failed.
    error OracleCallFailed(address feed);

    /// @notice the price feed's decimals changed from {expected} to {actual}: the owner must move the
    /// market to a new oracle adapter (adding margin still works)
    /// @dev The price feed's decimals() no longer equals the decimals this adapter was built
    ///         for (feedDecimals()): typically the feed's proxy now points to an aggregator with
    ///         other decimals. This adapter cannot scale such answers, so every priced action of
    ///         the market (open, remove margin, close, liquidate) reverts; adding margin still
    ///         works. No user action helps: the factory's owner must move the market to a new
    ///         adapter built for the new decimals (after the factory's delay). Should the feed
    ///         return to the old decimals, prices are read again.
    /// @param expected The decimals read in the constructor (feedDecimals()).
    /// @param actual The decimals the feed reports now.
    error FeedDecimalsChanged(uint8 expected, uint8 actual);

    /// @notice the L2 sequencer is down: no new risk can be taken
    /// @dev The L2 sequencer uptime feed reports the sequencer as down (answer != 0), or its
    ///      status round is invalid (startedAt == 0).
    error SequencerDown();

    /// @notice the L2 sequencer is back since {upSince}; waiting {gracePeriod}s grace
    /// @dev The L2 sequencer is up, but came back up no more than gracePeriod seconds ago
    ///         (`block.timestamp - upSince <= gracePeriod`, or upSince lies in the future).
    /// @param upSince When the sequencer's status last changed (the uptime feed's startedAt).
    /// @param gracePeriod The time (seconds) the oracle waits after the sequencer comes back up.
    error SequencerGracePeriod(uint256 upSince, uint256 gracePeriod);

    // ----------------------------------------------------------------------------------------
    // Errors raised by the constructor (messages as above)
    // ----------------------------------------------------------------------------------------

    /// @notice an address argument is zero
    /// @dev The price feed address is the zero address (the same error as IPoolFactory.ZeroAddress: one
    ///      selector, one message).
    error ZeroAddress();

    /// @notice the oracle's answer bounds [{minAnswer}, {maxAnswer}] accept no price (an upper bound of 0
    /// means none)
    /// @dev The configured bounds accept no answer or are malformed: minAnswer < 0, or
    ///         maxAnswer != 0 and minAnswer >= maxAnswer, or no answer in range scales to a
    ///         non-zero WAD that fits uint256.
    /// @param minAnswer The requested lowest accepted raw answer.
    /// @param maxAnswer The requested highest accepted raw answer (0 for none).
    error InvalidBounds(int256 minAnswer, int256 maxAnswer);

    /// @notice the price feed has {decimals} decimals; at most 36 are supported
    /// @dev The price feed reports more than 36 decimals.
    /// @param decimals The feed's decimals().
    error UnsupportedFeedDecimals(uint8 decimals);

    /// @notice the oracle's maximum price age must be positive (got {maxAge})
    /// @dev The maximum age is zero.
    /// @param maxAge The requested maximum age.
    error InvalidMaxAge(uint256 maxAge);

    // ----------------------------------------------------------------------------------------
    // Views
    // ----------------------------------------------------------------------------------------

    /// @notice The Chainlink price feed (AggregatorV3Interface) this oracle reads.
    /// @return The feed's address.
    function feed() external view returns (address);

    /// @notice The Chainlink L2 sequencer uptime feed, or address(0) when there is no sequencer check (L1).
    /// @return The sequencer uptime feed's address, or address(0).
    function sequencerFeed() external view returns (address);

    /// @notice How long (seconds) after the sequencer comes back up prices are still refused.
    /// @return The grace period in seconds (unused when sequencerFeed() is address(0)).
    function gracePeriod() external view returns (uint256);

    /// @notice The lowest accepted raw answer, inclusive, in the feed's units.
    /// @return The configured lower bound (>= 0).
    function minAnswer() external view returns (int256);

    /// @notice The highest accepted raw answer, inclusive, in the feed's units; 0 means no upper bound.
    /// @return The configured upper bound, or 0.
    function maxAnswer() external view returns (int256);

    /// @notice The price feed's decimals(), read at construction; price() checks on every read
    ///         that the feed still reports them (FeedDecimalsChanged otherwise).
    /// @return The number of decimals of the feed's answers (<= 36).
    function feedDecimals() external view returns (uint8);
}
