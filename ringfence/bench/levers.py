"""What would close each missed gas goal: the design change, and what it was measured or estimated to
save. BENCH.md prints the entry under the goal's trace summary ("Missed goals: what dominates").

"Measured" figures come from this repository's prototypes and releases (docs/gas.md has the history);
"estimated" ones are counted from the traces (2,100 per cold slot, 2,900 per slot write, 2,600 per cold
account, 20,000 per fresh slot). Custody stays in each position's own vault whatever the change: the
vault's creation (32,000 + its 65 bytes of code) and its first token balance (20,000) are the product.
"""

from __future__ import annotations

_ORACLE = ("the pool reads the Chainlink feed itself, with the adapter's checks in an internal library and "
           "its configuration in the pool, instead of calling the `ChainlinkOracle` adapter (one cold "
           "account and one call less: measured about -6,000 on every priced story in a prototype)")
_CREDIT = ("keeper bonuses and penalties credited inside the pool (one slot with the pool's totals) and "
           "swept to the keeper and the fund later, instead of two token transfers per liquidation "
           "(measured -13,000 to -18,000 per liquidation in a prototype; keepers then claim)")
_SINGLE = ("the Liquidator's own cost beyond a direct `pool.liquidate` (about 5,000: the pool's cold account, "
           "the vault's `pool()` call and the one-vault array): a keeper calling the pool directly pays none "
           "of it; an access list naming the pool and the vault saves about 200 of the cold-account part")
_EVENTS = "trader events trimmed to what an indexer cannot derive (estimated -1,000)"

CLOSING_CHANGES: dict[str, str] = {
    "open_from_nothing": f"{_ORACLE}; {_EVENTS}. The rest is the product: the vault's creation (about 45,000 "
                         "with its 65 bytes of code), its first token balance (20,000) and the record's two "
                         "fresh slots (40,000).",
    "reopen": f"{_ORACLE}; {_EVENTS}. The vault's token balance, emptied by the close, is written from zero "
              "again (20,000): keeping one unit in the vault would save 17,100 but changes every payout.",
    "add_margin": "the record's status and margin in one slot (one cold read less, -2,100), which needs the "
                  "fee base out of the margin's slot.",
    "remove_margin": f"{_ORACLE}; the minimum margin stored with the initial margin (one cold slot less, "
                     "estimated -2,100).",
    "close_profit": f"{_ORACLE}; {_EVENTS}; the pool's totals (reserve and liquidity, the side, the fee "
                    "weight: three slots written) in fewer slots, which needs narrower totals (estimated "
                    "-2,900 a slot).",
    "close_loss": f"{_ORACLE}; {_EVENTS}; the pool's totals in fewer slots (as at a profit).",
    "open_close_from_nothing": "the open's and the close's changes together (above).",
    "liquidate_full": f"{_CREDIT}; {_SINGLE}; {_ORACLE}.",
    "liquidate_partial": f"{_CREDIT}; {_SINGLE}; {_ORACLE}.",
    "liquidate_bad_debt": f"{_CREDIT}; {_SINGLE}; {_ORACLE}.",
    "batch_50_per_vault": f"{_CREDIT} (a batch pays once already: the credit saves the vault's own hop "
                          "instead); a loop that reads the parameters once and writes the pool's totals "
                          "once per batch (estimated -2,000 to -4,000 per vault).",
    "market_creation": "the code deposit of the pool (200 gas a byte: 23,289 bytes, 4.7M) dominates. The LP "
                       "request flow (2,154 bytes) moved to a module of its own (-0.43M), the insurance fund "
                       "as a clone (-0.25M), and one vault implementation per factory with the pool as a "
                       "second clone argument (-0.85M, but +4,000 on every open from nothing) together "
                       "reach the goal.",
    "guard_set_policy_first": "nothing short of weakening a check: the policy fills its two fresh slots "
                              "(512 bits); one slot needs lossy units (docs/guard.md, Gas).",
    "guard_top_up_wallet": "a guard-only `addMarginFrom` on the pool (the pool pulls from the owner directly: "
                           "one token transfer less, estimated -20,000) and a narrow top-up view instead of "
                           "`position` + `params` (estimated -12,000).",
    "guard_top_up_reserve": "a guard-only `addMarginFrom` and a narrow top-up view on the pool (estimated "
                            "-32,000 together, see the wallet top-up).",
    "guard_batch_50_per_vault": "the pool's narrow top-up view and a per-batch market cache (measured "
                                "-12,900 per vault in a prototype).",
}
"""op -> the design change that would close its goal (BENCH.md, under the missed goal)."""


def closing_change(op: str) -> str | None:
    return CLOSING_CHANGES.get(op)
