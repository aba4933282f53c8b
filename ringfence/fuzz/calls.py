"""The calls the stateful fuzz sends, as raw ABI encoders (:class:`ringfence.chain.rpc.Fn`), the event
topics it reads back from receipts, and the named errors an action may meet in normal life."""

from __future__ import annotations

from eth_utils import keccak

from ringfence.chain.rpc import Fn

# Errors an action may meet in normal life; anything else fails the run.
EXPECTED = {
    "LeverageTooHigh", "PositionAlreadyOpen", "MarketPaused", "InsufficientLiquidity",
    "OpenInterestCapExceeded", "PositionTooLarge", "NotionalBelowMinimum", "MarginBelowMinimum",
    "InsufficientMargin", "PositionNotOpen", "NothingToClaim", "ZeroAmount", "PausedUnchanged",
    # LP requests: one pending per controller; settled after a later oracle round, from free liquidity
    "RequestPending", "NoRequest", "RequestNotReady", "ERC20InsufficientBalance",
}

PARAMS = ("(uint64,uint64,uint64,uint64,uint64,uint64,uint64,uint64,uint64,"
          "uint128,uint128,uint128,uint128,uint128,uint128)")
# a market pool's trader entry points
OPEN = Fn("openPosition", ["uint96", "bool", "uint256", "uint256", "uint256"])
ADD_MARGIN = Fn("addMargin", ["address", "uint256"])
REMOVE_MARGIN = Fn("removeMargin", ["address", "uint256", "address"])
CLOSE = Fn("closePosition", ["address", "address", "uint256"])
CLAIM = Fn("claim", ["address", "address"])
RECOVER = Fn("recoverDonation", ["address", "address", "address"])
# a vault's view
LIQUIDATION_PRICE = Fn("liquidationPrice", [], ["uint256"])
# a pool's ERC-4626 entries and its asynchronous LP requests
DEPOSIT = Fn("deposit", ["uint256", "address"])
MINT = Fn("mint", ["uint256", "address"])
WITHDRAW = Fn("withdraw", ["uint256", "address", "address"])
REDEEM = Fn("redeem", ["uint256", "address", "address"])
REQUEST_DEPOSIT = Fn("requestDeposit", ["uint256", "address"])
REQUEST_REDEEM = Fn("requestRedeem", ["uint256", "address", "address"])
SETTLE_DEPOSIT = Fn("settleDeposit", ["address"])
SETTLE_REDEEM = Fn("settleRedeem", ["address"])
# the token, the liquidator, the test feeds, the factory
TRANSFER = Fn("transfer", ["address", "uint256"])
LIQUIDATE = Fn("liquidate", ["address"])
LIQUIDATE_BATCH = Fn("liquidateBatch", ["(address,address[])[]"])
SET_ANSWER = Fn("setAnswer", ["int256"])
LATEST_ANSWER = Fn("latestAnswer", [])
SET_PAUSED = Fn("setPaused", ["address", "bool"])
QUEUE_PARAMS = Fn("queueParams", ["address", PARAMS])
EXECUTE_PARAMS = Fn("executeParams", ["address"])

HEALTHY_POSITION = Fn("HealthyPosition", ["address", "uint256", "uint256"]).selector  # the error's selector
KEEPER_PAID = keccak(text="KeeperPaid(address,uint256,uint256,uint256)")  # keeper indexed
BAD_DEBT_COVERED = keccak(text="BadDebtCovered(address,uint256,uint256,uint256)")  # vault indexed

# The sync ERC-4626 paths once the pool has shares: refused by name (LPs use requests)
SYNC_REFUSALS = (("deposit", DEPOSIT, "ERC4626ExceededMaxDeposit"), ("mint", MINT, "ERC4626ExceededMaxMint"))
EXIT_REFUSALS = (("withdraw", WITHDRAW, "ERC4626ExceededMaxWithdraw"),
                 ("redeem", REDEEM, "ERC4626ExceededMaxRedeem"))
