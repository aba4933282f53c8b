// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice A vault owner's standing order to keep one vault's health at or above a trigger, two slots.
/// Health is `equity / (MM * notional)`, WAD (`MarginMath.healthDown`, as `IPositionVault.health`);
/// amounts are in the vault's settlement-token units.
struct Policy {
    // slot 0
    uint64 triggerHealthWad; // a top-up is allowed while health < trigger
    uint64 targetHealthWad; // a top-up brings health to at least this (> trigger), within the caps
    uint40 expiry; // unix time from which the policy no longer acts; 0: none
    uint88 fee; // paid to the executor of each top-up from the same source, counted in the budget
    // slot 1
    uint96 maxPerTopUp; // most margin one top-up adds (the fee not included)
    uint96 budget; // what is left to spend, margin and fees together; decreases with each top-up
    uint64 reserveId; // the source: 0 the owner's wallet (allowance to the guard), else that reserve
}

/// @notice Tokens an owner deposited into the guard for top-ups of the vaults earmarked to it.
struct Reserve {
    address owner; // who deposited it; pays only this owner's vaults
    uint96 balance; // held by the guard for this reserve
    address token; // the settlement token it holds
}

/// @title IMarginGuard
/// @notice Automated margin top-ups that a vault's owner authorises and anyone (a keeper) executes. One
/// guard per factory; it acts only on open vaults of the factory's pools, with the policy their owner
/// set, from the source the owner designated (their wallet through an allowance, or a reserve earmarked
/// to a named set of their vaults), and always into the vault through `pool.addMargin`: a top-up never
/// moves another vault's margin, so isolation holds.
/// @dev Policies are stored under the account that set them and read under the vault's owner as the
/// pool records it (fixed: part of the vault's CREATE2 salt), so a policy set by anyone else never acts.
interface IMarginGuard {
    // ---------------------------------------------------------------- events
    /// @notice `owner` set (or changed) the policy of `vault`.
    event PolicySet(address indexed owner, address indexed vault, Policy policy);
    /// @notice `owner` cancelled the policy of `vault`.
    event PolicyCancelled(address indexed owner, address indexed vault);
    /// @notice `owner` opened reserve `reserveId` in `token`.
    event ReserveOpened(uint256 indexed reserveId, address indexed owner, address token);
    /// @notice The owner of reserve `reserveId` earmarked `vault` to it (`earmarked`) or took it off.
    event ReserveEarmarked(uint256 indexed reserveId, address indexed vault, bool earmarked);
    /// @notice `amount` was deposited into reserve `reserveId`, which now holds `balanceAfter`.
    event ReserveDeposited(uint256 indexed reserveId, uint256 amount, uint256 balanceAfter);
    /// @notice `amount` of reserve `reserveId` was sent to `receiver`, leaving `balanceAfter`.
    event ReserveWithdrawn(uint256 indexed reserveId, address indexed receiver, uint256 amount, uint256 balanceAfter);
    /// @notice `executor` topped up `vault` (of `owner`) by `amount` from source `reserveId` (0: the wallet),
    /// was paid `fee`; the vault's health is now `healthAfterWad` and the policy has `budgetAfter` left.
    event ToppedUp(
        address indexed vault,
        address indexed owner,
        address indexed executor,
        uint256 amount,
        uint256 fee,
        uint256 reserveId,
        uint256 healthAfterWad,
        uint256 budgetAfter
    );
    /// @notice A batch of `attempted` vaults by `executor` topped up `done` of them.
    event BatchToppedUp(address indexed executor, uint256 attempted, uint256 done);

    // ---------------------------------------------------------------- errors
    // Each error's @notice is its one-line message to users: `{name}` stands for the error's argument
    // `name` (ringfence/errors.py fills them in). Amounts are in settlement-token units, health WAD.

    /// @notice {pool} is not a pool of this factory
    /// @dev The same error as IPoolFactory.UnknownPool (one selector, one message).
    error UnknownPool(address pool);
    /// @notice {vault} is not a position vault
    error NotAVault(address vault);
    /// @notice the position of {vault} is not open
    /// @dev The same error as IMarginPool.PositionNotOpen.
    error PositionNotOpen(address vault);
    /// @notice {owner} has no policy for {vault}
    error NoPolicy(address owner, address vault);
    /// @notice the policy of {vault} expired at {expiry}
    error PolicyExpired(address vault, uint256 expiry);
    /// @notice {vault} is healthy: health {health} is not below the trigger {trigger}
    error VaultHealthy(address vault, uint256 health, uint256 trigger);
    /// @notice the policy's budget {budget} cannot pay more than the fee {fee}
    error BudgetExhausted(uint256 budget, uint256 fee);
    /// @notice the target health {target} must be above the trigger {trigger}
    error TargetNotAboveTrigger(uint256 trigger, uint256 target);
    /// @notice the most per top-up must be positive
    error ZeroMaxPerTopUp();
    /// @notice the fee {fee} is above {max}, a tenth of the most per top-up
    error FeeTooHigh(uint256 fee, uint256 max);
    /// @notice the expiry {expiry} is not in the future
    error ExpiryInPast(uint256 expiry);
    /// @notice reserve {reserveId} does not exist
    error UnknownReserve(uint256 reserveId);
    /// @notice {caller} does not own reserve {reserveId}
    error NotReserveOwner(uint256 reserveId, address caller);
    /// @notice reserve {reserveId} is not earmarked to {vault}
    error ReserveNotEarmarked(uint256 reserveId, address vault);
    /// @notice reserve {reserveId} holds {token}, not {asset}
    error ReserveTokenMismatch(uint256 reserveId, address token, address asset);
    /// @notice reserve {reserveId} holds {balance}, short of {needed}
    error ReserveTooLow(uint256 reserveId, uint256 balance, uint256 needed);
    /// @notice {owner} allows the guard {allowance}, short of {needed}
    error AllowanceTooLow(address owner, uint256 allowance, uint256 needed);
    /// @notice {owner} holds {balance}, short of {needed}
    error WalletBalanceTooLow(address owner, uint256 balance, uint256 needed);
    /// @notice the amount must be positive
    /// @dev The same error as IMarginPool.ZeroAmount.
    error ZeroAmount();
    /// @notice the amount {amount} does not fit in 96 bits
    error AmountTooLarge(uint256 amount);
    /// @notice the token moved {received} instead of {expected} (fee or rebase?)
    /// @dev The same error as IMarginPool.TransferAmountMismatch: fee-on-transfer tokens are refused.
    error TransferAmountMismatch(uint256 expected, uint256 received);
    /// @notice the list names no vault
    error NoVaults();
    /// @notice only the guard itself may call this
    error OnlySelf();

    // ---------------------------------------------------------------- owner: policies
    /// @notice Sets (or replaces) the caller's policy for `vault`, at once. Only the policy of the vault's
    /// owner ever acts. Refused: target not above trigger, zero max per top-up, fee above a tenth of it,
    /// an expiry in the past.
    function setPolicy(address vault, Policy calldata policy) external;
    /// @notice Cancels the caller's policy for `vault`, at once (no-op if there is none).
    function cancelPolicy(address vault) external;

    // ---------------------------------------------------------------- owner: reserves
    /// @notice Opens a reserve of `token` owned by the caller, earmarked to `vaults`; returns its id (from 1).
    function openReserve(address token, address[] calldata vaults) external returns (uint256 reserveId);
    /// @notice Earmarks `vaults` to the caller's reserve `reserveId` (`earmarked`) or takes them off it.
    function earmark(uint256 reserveId, address[] calldata vaults, bool earmarked) external;
    /// @notice Deposits `amount` of the reserve's token from the caller (its owner) into reserve `reserveId`.
    function depositReserve(uint256 reserveId, uint256 amount) external;
    /// @notice Sends `amount` of the caller's reserve `reserveId` to `receiver`, at any time.
    function withdrawReserve(uint256 reserveId, uint256 amount, address receiver) external;

    // ---------------------------------------------------------------- anyone: top-ups
    /// @notice Tops up `vault` under its owner's policy and pays the caller the policy's fee. Refused
    /// (by name) when the vault is healthy (health >= trigger), the policy is missing or expired, the
    /// budget is spent, or the source cannot pay. Returns the margin added and the fee paid.
    function topUp(address vault) external returns (uint256 amount, uint256 fee);
    /// @notice Tops up each of `vaults` that can be (as `topUp`), skipping the others; returns how many.
    function topUpBatch(address[] calldata vaults) external returns (uint256 done);
    /// @notice One top-up for `executor`; only the guard calls it (from `topUpBatch`, to skip a failure).
    function topUpFor(address vault, address executor) external returns (uint256 amount, uint256 fee);

    // ---------------------------------------------------------------- views
    /// @notice The largest fee a policy may set, as a fraction of its max per top-up, in basis points.
    function MAX_FEE_BPS() external view returns (uint256);
    /// @notice The factory whose pools this guard serves (fixed at creation).
    function factory() external view returns (address);
    /// @notice `owner`'s policy for `vault` (all zero when none).
    function policy(address owner, address vault) external view returns (Policy memory);
    /// @notice Reserve `reserveId` (owner zero when none).
    function reserve(uint256 reserveId) external view returns (Reserve memory);
    /// @notice Whether `vault` is earmarked to reserve `reserveId`.
    function isEarmarked(uint256 reserveId, address vault) external view returns (bool);
    /// @notice How many reserves were opened (the last id).
    function reserveCount() external view returns (uint256);
    /// @notice What `topUp(vault)` would add and pay now, with the vault's health before it; reverts as `topUp`
    /// would for a missing, expired, exhausted policy or a healthy vault (not for the source).
    function quote(address vault) external view returns (uint256 amount, uint256 fee, uint256 healthWad);
}
