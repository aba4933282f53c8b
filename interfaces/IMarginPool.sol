// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";

/// @notice A market's risk parameters. Ratios are WAD (1e18 = 100 %), amounts are settlement-token units.
/// @dev Bounded by the factory (`IPoolFactory`); changed only through the factory by its owner.
struct MarketParams {
    uint64 initialMarginWad; // IM: open and remove margin only while margin + min(PnL, 0) - fees >= IM * notional
    uint64 maintenanceMarginWad; // MM: liquidatable iff equity < MM * notional
    uint64 liquidationTargetWad; // T: a partial liquidation restores equity >= T * notional (MM < T <= IM)
    uint64 keeperBonusWad; // b: keeper bonus as a rate of the closed notional
    uint64 liquidationPenaltyWad; // rate of the closed notional paid to the insurance fund
    uint64 openFeeWad; // on the notional at open, to the LPs
    uint64 closeFeeWad; // on the notional at close, to the LPs
    uint64 borrowRateWad; // per second, on the entry notional, to the LPs
    uint64 maxProfitWad; // PnL cap as a multiple of the margin at open (reserved in the pool)
    uint128 minMargin; // dust bound on a position's margin (at most 2**88 - 1, a position's margin field)
    uint128 minNotional; // dust bound on a position's notional, the minimum position (at most 2**96 - 1)
    uint128 maxPositionNotional; // single-position cap
    uint128 maxOpenInterest; // per side, sum of entry notionals
    uint128 keeperBonusMin; // floor of the keeper bonus
    uint128 keeperBonusMax; // cap of the keeper bonus
}

/// @notice Lifecycle of a vault as the pool records it.
enum PositionStatus {
    None, // not a vault of this pool
    Open,
    Closed // closed or liquidated: the vault may be reopened by its owner
}

/// @notice One position as the pool's views return it (stored in two narrower slots, the owner read from the
/// vault's code: `MarginPool.StoredPosition`). A closed record keeps the side, entry price and fee base of its
/// last position; its size and cap read 0 and its margin is the credit a full liquidation left the owner.
struct Position {
    uint128 size; // index-asset units, WAD
    uint128 entryPriceWad; // oracle price at open, WAD
    // Open: the accounted margin held by the vault (donations excluded). Closed: what a full liquidation
    // left the owner, held by the pool and claimable with `claim` (0 once claimed, or after a close).
    uint128 margin;
    uint128 maxProfit; // PnL cap, reserved in the pool while the position is open
    // The fee index grows linearly from 1e18 by at most 1e18 a year (borrow rate <= 100 %/year):
    // 80 bits hold it for over a million years.
    uint80 feeBaseWad; // fee index from which fees are owed; the open fee is folded in
    bool isLong;
    PositionStatus status;
    address owner; // the vault's owner, part of its CREATE2 salt: the same for every position of the vault
}

/// @notice What one liquidation did, every amount in assets.
struct LiquidationResult {
    address vault;
    bool full; // the whole position was closed
    uint256 closedSize; // index units, WAD
    uint256 priceWad;
    int256 equityBefore; // margin + PnL - fees before the liquidation
    uint256 keeperBonus; // paid to the keeper (from equity, then the fund, then the pool)
    uint256 penalty; // paid to the insurance fund (from equity only)
    uint256 ownerCredit; // credited to the vault's owner, claimable from the pool (full liquidation)
    uint256 badDebt; // shortfall of a bankrupt position
}

/// @title IMarginPool
/// @notice One Ringfence market: the LPs' ERC-4626 pool of the settlement token, counterparty of every
/// position of the market, and the registry and settlement engine of its position vaults.
/// @dev Trust assumptions: the pool trusts its oracle adapter (a price or a named revert), its factory's
/// owner for parameters within the factory's hard bounds, and its guardian to pause opening only.
/// Nobody can move a vault's margin out except its owner (remove margin, close) and liquidation.
/// LP withdrawals can never dig into the reserve that guarantees the maximum payout of open positions.
/// Tokens must be plain ERC-20s: incoming transfers are checked by balance delta.
interface IMarginPool is IERC4626 {
    // ---------------------------------------------------------------- events
    /// @notice `owner` opened a position in `vault` at `entryPriceWad`, paying `margin` (of which `openFee`
    /// is owed to the LPs); the pool reserves `maxProfit` for it.
    /// @param size Index-asset units, WAD.
    /// @param feeBaseWad The fee index from which the position owes fees (the open fee folded in).
    event PositionOpened(
        address indexed vault,
        address indexed owner,
        bool isLong,
        uint256 size,
        uint256 entryPriceWad,
        uint256 margin,
        uint256 openFee,
        uint256 maxProfit,
        uint256 feeBaseWad
    );
    /// @notice `payer` added `amount` of margin to `vault`'s open position, which now holds `marginAfter`.
    event MarginAdded(address indexed vault, address indexed payer, uint256 amount, uint256 marginAfter);
    /// @notice The owner of `vault` moved `amount` of margin to `receiver`, leaving `marginAfter`.
    event MarginRemoved(address indexed vault, address indexed receiver, uint256 amount, uint256 marginAfter);
    /// @notice `owner` closed `vault`'s position at `priceWad`: PnL `pnl` (capped), `fees` paid to the LPs,
    /// `payout` to the receiver; `badDebt` is the shortfall of a bankrupt position (then `payout` is 0).
    event PositionClosed(
        address indexed vault,
        address indexed owner,
        uint256 priceWad,
        int256 pnl,
        uint256 fees,
        uint256 payout,
        uint256 badDebt
    );
    /// @notice `vault` left a `shortfall`: the insurance fund paid `coveredByFund`, the LPs bore `borneByLps`.
    event BadDebtCovered(address indexed vault, uint256 shortfall, uint256 coveredByFund, uint256 borneByLps);
    /// @notice A position was liquidated at `priceWad` for `keeper` (partly if `full` is false):
    /// `closedSize` was closed, the keeper earned `keeperBonus`, the insurance fund `penalty`, the owner
    /// `ownerCredit` (claimable); `badDebt` is the shortfall of a bankrupt position.
    /// @param equityBefore margin + PnL - fees before the liquidation, in assets.
    event Liquidated(
        address indexed vault,
        address indexed owner,
        address indexed keeper,
        bool full,
        uint256 closedSize,
        uint256 priceWad,
        int256 equityBefore,
        uint256 keeperBonus,
        uint256 penalty,
        uint256 ownerCredit,
        uint256 badDebt
    );
    /// @notice The keeper's bonus: `fromEquity` out of the vault, then `fromFund`, then `fromPool` (LPs).
    event KeeperPaid(address indexed keeper, uint256 fromEquity, uint256 fromFund, uint256 fromPool);
    /// @notice `amount` a full liquidation credited to `owner` of `vault` was paid to `receiver`.
    event Claimed(address indexed vault, address indexed owner, address indexed receiver, uint256 amount);
    /// @notice `amount` of `token` held by `vault` beyond its accounted margin was sent to `receiver`.
    event DonationRecovered(address indexed vault, address indexed token, address indexed receiver, uint256 amount);
    /// @notice The market's parameters changed (through the factory, after its delay).
    event ParamsUpdated(MarketParams params);
    /// @notice Opening positions was paused (`paused` true) or unpaused.
    event PausedSet(bool paused);
    /// @notice The factory's owner moved the market to a new price adapter (after the factory's delay).
    event OracleUpdated(address indexed oracle);
    /// @notice Settlement tokens held by the pool beyond what it accounts for (LP liquidity and unclaimed
    /// credits) were sent to the insurance fund.
    event Swept(address indexed insuranceFund, uint256 amount);
    /// @notice `owner` paid `assets` for shares of `controller`, worth `quoteShares` now (the most it will get).
    event DepositRequested(address indexed controller, address indexed owner, uint256 assets, uint256 quoteShares);
    /// @notice `owner` gave `shares` to be redeemed for `controller`, worth `quoteAssets` now (the most it will get).
    event RedeemRequested(address indexed controller, address indexed owner, uint256 shares, uint256 quoteAssets);
    /// @notice `controller`'s deposit request of `assets` was settled: `shares` were minted to it.
    event DepositSettled(address indexed controller, uint256 assets, uint256 shares);
    /// @notice `controller`'s redemption of `shares` was settled: `assets` were paid to it.
    event RedeemSettled(address indexed controller, uint256 shares, uint256 assets);

    // ---------------------------------------------------------------- errors
    // Each error's @notice is its one-line message to users: `{name}` stands for the error's argument
    // `name` (ringfence/errors.py fills them in). Amounts are in settlement-token units, prices WAD.

    /// @notice the amount must be positive
    /// @dev A zero amount of margin, assets or shares, a request that would buy or pay nothing, or nothing
    /// to sweep or to recover.
    error ZeroAmount();
    /// @notice the position size must be positive
    error ZeroSize();
    /// @notice margin {margin} is below the market minimum {minimum}
    error MarginBelowMinimum(uint256 margin, uint256 minimum);
    /// @notice position notional {notional} is below the market minimum {minimum}
    error NotionalBelowMinimum(uint256 notional, uint256 minimum);
    /// @notice position notional {notional} is above the market maximum {maximum}
    error PositionTooLarge(uint256 notional, uint256 maximum);
    /// @notice open interest would be {openInterest}, above the cap {cap}
    /// @param openInterest The side's sum of entry notionals with the new position.
    error OpenInterestCapExceeded(uint256 openInterest, uint256 cap);
    /// @notice leverage too high: margin after fees {available} < initial margin {required}
    /// @param available The margin minus the open fee.
    /// @param required IM * notional.
    error LeverageTooHigh(int256 available, uint256 required);
    /// @notice margin would fall below initial margin: {available} < {required}
    /// @param available margin + min(PnL, 0) - fees after the removal.
    /// @param required IM * notional.
    error InsufficientMargin(int256 available, uint256 required);
    /// @notice the pool's free liquidity {free} cannot reserve the payout {needed}
    /// @dev Opening (the position's maximum payout) or settling a redemption (its assets).
    error InsufficientLiquidity(uint256 free, uint256 needed);
    /// @notice the market is paused for opening (adding margin and closing still work)
    error MarketPaused();
    /// @notice {caller} does not own this vault (owner {owner})
    error NotVaultOwner(address caller, address owner);
    /// @notice {vault} is not a vault of this market
    error UnknownVault(address vault);
    /// @notice the vault's contract could not be created (out of gas)
    error VaultCreationFailed();
    /// @notice the position of {vault} is not open
    error PositionNotOpen(address vault);
    /// @notice vault {vault} already holds an open position
    error PositionAlreadyOpen(address vault);
    /// @notice oracle price {priceWad} is beyond the acceptable price {acceptablePriceWad}
    error PriceSlippage(uint256 priceWad, uint256 acceptablePriceWad);
    /// @notice {caller} is not the factory
    /// @dev Also MarginPoolDeployer's error (same selector, so the same message).
    error NotFactory(address caller);
    /// @notice the token moved {received} instead of {expected} (fee or rebase?)
    error TransferAmountMismatch(uint256 expected, uint256 received);
    /// @notice value {value} is too large to be stored
    /// @dev Declared for oversized values; no current code path raises it (SafeCast's errors instead).
    error ValueTooLarge(uint256 value);
    /// @notice the settlement token has {decimals} decimals; at most 18 are supported
    error UnsupportedAssetDecimals(uint8 decimals);
    /// @notice vault {vault} is healthy at price {priceWad} (liquidation price {liquidationPriceWad})
    error HealthyPosition(address vault, uint256 priceWad, uint256 liquidationPriceWad);
    /// @notice {caller} may only liquidate for itself (only the Liquidator names another keeper)
    error NotLiquidator(address caller);
    /// @notice vault {vault} has nothing to claim
    error NothingToClaim(address vault);
    /// @notice {controller} already has a pending request of this kind (one at a time): settle it first
    error RequestPending(address controller);
    /// @notice {controller} has no pending request to settle
    error NoRequest(address controller);
    /// @notice the request waits for an oracle round after {requestedAt} (latest round at {priceUpdatedAt})
    /// @param requestedAt When the request was made (seconds).
    /// @param priceUpdatedAt When the oracle's latest round was published (seconds).
    error RequestNotReady(uint256 requestedAt, uint256 priceUpdatedAt);

    // ---------------------------------------------------------------- trader
    /// @notice Opens a position in the caller's vault number `nonce`, creating the vault (a deterministic
    /// EIP-1167 clone at `vaultAddress(msg.sender, nonce)`) in the same transaction if it does not exist,
    /// or reusing it if its previous position is closed (an unclaimed liquidation credit of the vault is paid
    /// to the caller first). Pulls `margin` from the caller into the vault.
    /// @param isLong Long (profits when the price rises) or short.
    /// @param size Index-asset units, WAD.
    /// @param margin Settlement-token units moved from the caller to the vault; the open fee is owed from it.
    /// @param acceptablePriceWad Slippage bound: a long reverts above it, a short below it (0: no bound for a long).
    /// @return vault The position's vault.
    function openPosition(uint96 nonce, bool isLong, uint256 size, uint256 margin, uint256 acceptablePriceWad)
        external
        returns (address vault);

    /// @notice Adds `amount` of margin to an open position, pulled from the caller (anyone may top up any vault).
    /// @dev Never blocked by a pause, a stale price or the sequencer: it reads no price.
    function addMargin(address vault, uint256 amount) external;

    /// @notice Moves `amount` of margin out of the caller's vault to `receiver`, only while
    /// `margin + min(PnL, 0) - fees >= IM * notional` afterwards. Unrealized profit is never withdrawable.
    function removeMargin(address vault, uint256 amount, address receiver) external;

    /// @notice Closes the caller's position at the oracle price: PnL and fees are settled with the pool and
    /// the rest goes to `receiver`. A bankrupt position pays its whole margin; the shortfall is bad debt.
    /// @param acceptablePriceWad Slippage bound: a long reverts below it, a short above it (0: no bound for a short).
    /// @return payout What `receiver` got.
    function closePosition(address vault, address receiver, uint256 acceptablePriceWad) external returns (uint256 payout);

    /// @notice Sends tokens held by the caller's vault beyond its accounted margin (donations) to `receiver`.
    function recoverDonation(address vault, address token, address receiver) external returns (uint256 amount);

    /// @notice Withdraws what the full liquidation of the caller's `vault` credited to them (the remains of
    /// the liquidated position). Pull, not push: an owner who cannot receive tokens cannot block their
    /// liquidation. The credit stays in the vault's record (no fresh storage per liquidation); reopening
    /// the vault pays it to the owner first.
    function claim(address vault, address receiver) external returns (uint256 amount);

    /// @notice Sends the settlement tokens held by the pool beyond its accounted LP liquidity and unclaimed
    /// credits (tokens sent to it directly) to its insurance fund. Anyone may call it.
    /// @return amount What was sent; ZeroAmount if there is nothing to sweep.
    function sweep() external returns (uint256 amount);

    // ---------------------------------------------------------------- LP requests (ERC-7540 style)
    /// @notice Pays `assets` now for pool shares of `controller`, minted by `settleDeposit` once the oracle
    /// has published a round after this block. The shares are the fewer of what `assets` buy now
    /// (`quoteShares`) and what they buy at settlement: a known next price, a realization or a donation
    /// between the two can only lower them. One pending request per controller; not cancellable.
    /// Sync `deposit`/`mint` work only while the pool has no shares (`maxDeposit`).
    /// @return quoteShares The most shares the request can get.
    function requestDeposit(uint256 assets, address controller) external returns (uint256 quoteShares);

    /// @notice Hands `shares` of `owner` (the caller, or an allowance of the caller) to the pool, to be
    /// redeemed for `controller` by `settleRedeem` once the oracle has published a round after this block,
    /// for the fewer of what they are worth now (`quoteAssets`) and at settlement. Until then the shares
    /// bear losses but their gains stay with the other LPs. One pending request per controller.
    /// @return quoteAssets The most assets the request can get.
    function requestRedeem(uint256 shares, address controller, address owner) external returns (uint256 quoteAssets);

    /// @notice Mints `controller`'s requested shares (see `requestDeposit`). Anyone may call it.
    /// Reverts NoRequest, RequestNotReady (no oracle round after the request yet) or the oracle's error.
    function settleDeposit(address controller) external returns (uint256 shares);

    /// @notice Pays `controller` its requested redemption (see `requestRedeem`). Anyone may call it.
    /// Reverts NoRequest, RequestNotReady, InsufficientLiquidity (the free liquidity cannot pay it yet:
    /// settle later) or the oracle's error.
    function settleRedeem(address controller) external returns (uint256 assets);

    // ---------------------------------------------------------------- liquidation (permissionless)
    /// @notice Liquidates `vaults` at one oracle price and pays `keeper` once for all of them. Anyone may
    /// call it for themselves (`keeper == msg.sender`, one call less than through the Liquidator); only the
    /// Liquidator names another keeper (its own caller): anyone else gets NotLiquidator. Partial where it
    /// suffices (the smallest fraction that restores equity >= T * notional), full when that
    /// fraction rounds to the whole position, leaves less than the minimum position, or the vault is
    /// bankrupt. `strict`: revert on a vault that is healthy or not open (HealthyPosition,
    /// PositionNotOpen, UnknownVault) instead of skipping it. Oracle errors always revert.
    /// @return liquidated How many vaults were liquidated (one `Liquidated` event each, in order).
    function liquidate(address[] calldata vaults, address keeper, bool strict) external returns (uint256 liquidated);

    // ---------------------------------------------------------------- admin (factory only)
    /// @notice New parameters, already checked against the factory's hard bounds. Accrues fees first.
    function setParams(MarketParams calldata params) external;

    /// @notice Moves the market to a new price adapter (the factory checks it and applies its delay).
    function setOracle(address oracle) external;

    /// @notice Pauses or unpauses opening positions. Adding margin, removing margin, closing and
    /// liquidating are never paused.
    function setPaused(bool paused) external;

    // ---------------------------------------------------------------- views
    /// @notice The PoolFactory that created the market: the only caller of the admin functions.
    function factory() external view returns (address);
    /// @notice The price adapter (an IPriceOracle) the market reads.
    function oracle() external view returns (address);
    /// @notice The market's InsuranceFund: receives liquidation penalties, pays bad debt first.
    function insuranceFund() external view returns (address);
    /// @notice The protocol's Liquidator (fixed at creation): the only caller of `liquidate` that may name
    /// a keeper other than itself.
    function liquidator() external view returns (address);
    /// @notice The nonce of the factory's `MarginPoolDeployer` that created this pool: the pool's address is
    /// that deployer's CREATE address at it, which the Liquidator and the MarginGuard check (`PoolProof`).
    function creationNonce() external view returns (uint256);
    /// @notice What the full liquidation of `vault` credited to its owner and is not claimed yet.
    function claimable(address vault) external view returns (uint256);
    /// @notice Sum of all claimable credits (held by the pool, not the LPs').
    function totalClaimable() external view returns (uint256);
    /// @notice The PositionVault every vault of the market is an EIP-1167 clone of.
    function vaultImplementation() external view returns (address);
    /// @notice The market's current risk parameters.
    function params() external view returns (MarketParams memory);
    /// @notice Whether opening positions is paused (nothing else ever is).
    function paused() external view returns (bool);

    /// @notice Where `owner`'s vault number `nonce` lives (whether or not it exists yet).
    function vaultAddress(address owner, uint96 nonce) external view returns (address);
    /// @notice `vault`'s position record (status None for an address that is not a vault of this market).
    function position(address vault) external view returns (Position memory);
    /// @notice The fee index now (WAD): it grows by the borrow rate each second.
    function currentFeeIndex() external view returns (uint256);
    /// @notice 10**(36 - asset decimals): `size * priceWad / priceScale` is a notional in assets.
    function priceScale() external view returns (uint256);

    /// @notice What the LPs own, marked to the oracle price: `liquidity()` plus the fees the open positions
    /// owe minus their unrealized PnL (at most `reserved()`). Donations excluded. Reverts with the oracle's
    /// error when the price is refused.
    function totalAssets() external view returns (uint256);
    /// @notice The LPs' realized liquidity: deposits, realized trader losses and fees, minus realized
    /// trader profits, keeper pay and redemptions. Donations and pending deposits excluded.
    function liquidity() external view returns (uint256);
    /// @notice Assets paid in by deposit requests not settled yet (held by the pool, not the LPs').
    function pendingDeposits() external view returns (uint256);
    /// @notice `controller`'s pending deposit request: assets paid, the most shares it can get, request time.
    function depositRequest(address controller) external view returns (uint256 assets, uint256 quoteShares, uint256 time);
    /// @notice `controller`'s pending redemption: shares held by the pool, the most assets it can get, time.
    function redeemRequest(address controller) external view returns (uint256 shares, uint256 quoteAssets, uint256 time);
    /// @notice The shares `settleDeposit(controller)` would mint now (0 without a request).
    function previewSettleDeposit(address controller) external view returns (uint256 shares);
    /// @notice The assets `settleRedeem(controller)` would pay now (0 without a request).
    function previewSettleRedeem(address controller) external view returns (uint256 assets);
    /// @notice Sum of the maximum payouts of open positions; never available to LP withdrawals.
    function reserved() external view returns (uint256);
    /// @notice liquidity - reserved: what redemptions may take and what new positions may reserve.
    function freeLiquidity() external view returns (uint256);
    /// @notice Per side: sum of sizes and of entry notionals (rounded up) of open positions.
    function openInterest(bool isLong) external view returns (uint256 size, uint256 entryNotional);
}
