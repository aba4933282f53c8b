"""The calls the stateful fuzz sends, as raw ABI encoders (:class:`ringfence.chain.rpc.Fn`), the event
topics it reads back from receipts, and the named errors an action may meet in normal life. Encoders,
selectors and topics come from the contracts' ABIs (:mod:`ringfence.chain.contracts`)."""

from __future__ import annotations

from ringfence.chain.contracts import error_selector, event_topic, fn

# Errors an action may meet in normal life; anything else fails the run.
EXPECTED = {
    "LeverageTooHigh", "PositionAlreadyOpen", "MarketPaused", "InsufficientLiquidity",
    "OpenInterestCapExceeded", "PositionTooLarge", "NotionalBelowMinimum", "MarginBelowMinimum",
    "InsufficientMargin", "PositionNotOpen", "NothingToClaim", "ZeroAmount", "PausedUnchanged",
    # LP requests: one pending per controller; settled after a later oracle round, from free liquidity
    "RequestPending", "NoRequest", "RequestNotReady", "ERC20InsufficientBalance",
}

# a market pool's trader entry points
OPEN = fn("MarginPool", "openPosition")
ADD_MARGIN = fn("MarginPool", "addMargin")
REMOVE_MARGIN = fn("MarginPool", "removeMargin")
CLOSE = fn("MarginPool", "closePosition")
CLAIM = fn("MarginPool", "claim")
RECOVER = fn("MarginPool", "recoverDonation")
# a vault's view
LIQUIDATION_PRICE = fn("PositionVault", "liquidationPrice")
# a pool's ERC-4626 entries and its asynchronous LP requests
DEPOSIT = fn("MarginPool", "deposit")
MINT = fn("MarginPool", "mint")
WITHDRAW = fn("MarginPool", "withdraw")
REDEEM = fn("MarginPool", "redeem")
REQUEST_DEPOSIT = fn("MarginPool", "requestDeposit")
REQUEST_REDEEM = fn("MarginPool", "requestRedeem")
SETTLE_DEPOSIT = fn("MarginPool", "settleDeposit")
SETTLE_REDEEM = fn("MarginPool", "settleRedeem")
# the token, the liquidator, the test feeds, the factory
TRANSFER = fn("MockERC20", "transfer")
LIQUIDATE = fn("Liquidator", "liquidate")
LIQUIDATE_BATCH = fn("Liquidator", "liquidateBatch")
SET_ANSWER = fn("MockAggregator", "setAnswer")
LATEST_ANSWER = fn("MockAggregator", "latestAnswer")
SET_PAUSED = fn("PoolFactory", "setPaused")
QUEUE_PARAMS = fn("PoolFactory", "queueParams")
EXECUTE_PARAMS = fn("PoolFactory", "executeParams")
PARAMS = QUEUE_PARAMS.types[1]  # the MarketParams tuple type

HEALTHY_POSITION = error_selector("MarginPool", "HealthyPosition")
KEEPER_PAID = event_topic("MarginPool", "KeeperPaid")  # keeper indexed
BAD_DEBT_COVERED = event_topic("MarginPool", "BadDebtCovered")  # vault indexed

# the MarginGuard: the owners' policies and reserves, anyone's top-ups, its views and events
SET_POLICY = fn("MarginGuard", "setPolicy")
CANCEL_POLICY = fn("MarginGuard", "cancelPolicy")
OPEN_RESERVE = fn("MarginGuard", "openReserve")
EARMARK = fn("MarginGuard", "earmark")
DEPOSIT_RESERVE = fn("MarginGuard", "depositReserve")
WITHDRAW_RESERVE = fn("MarginGuard", "withdrawReserve")
TOP_UP = fn("MarginGuard", "topUp")
TOP_UP_BATCH = fn("MarginGuard", "topUpBatch")
GUARD_POLICY = fn("MarginGuard", "policy")
GUARD_RESERVE = fn("MarginGuard", "reserve")
APPROVE = fn("MockERC20", "approve")
TOPPED_UP = event_topic("MarginGuard", "ToppedUp")  # vault, owner, executor indexed
BATCH_TOPPED_UP = event_topic("MarginGuard", "BatchToppedUp")
RESERVE_OPENED = event_topic("MarginGuard", "ReserveOpened")  # reserveId, owner indexed

# The sync ERC-4626 paths once the pool has shares: refused by name (LPs use requests)
SYNC_REFUSALS = (("deposit", DEPOSIT, "ERC4626ExceededMaxDeposit"), ("mint", MINT, "ERC4626ExceededMaxMint"))
EXIT_REFUSALS = (("withdraw", WITHDRAW, "ERC4626ExceededMaxWithdraw"),
                 ("redeem", REDEEM, "ERC4626ExceededMaxRedeem"))
