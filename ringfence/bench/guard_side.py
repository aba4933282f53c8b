"""The MarginGuard's stories in the bench (Ringfence only: Morpho Blue has no automated top-up).

Measured on the bench's market (``MarketParams.default(6)``, MM 5 %) right after Ringfence's other
stories, each transaction sent straight to the guard, set-up through the SDK. State before each
measured transaction, the common case:

* the vault is open (1 ETH long, 400 USDC at 3,000, the traders' shape) and its owner set its policy
  (trigger 1.3, target 1.5, at most 500 USDC per top-up, budget 2,000 USDC, fee 2 USDC) long ago;
* a wallet policy's owner approved the guard long ago and holds USDC; a reserve policy's reserve is
  open, earmarked to the vault and funded (1,000 USDC), so the guard holds tokens;
* the price (2,780) put the vault under its trigger (health ≈ 1.29); the executor, the bench's keeper,
  already holds USDC (its fee lands on a balance that is not fresh).

``guard_set_policy_first`` writes a policy for a vault that never had one (two fresh slots),
``guard_set_policy_change`` changes its fee. ``guard_batch_50_per_vault`` is one ``topUpBatch`` of 50
vaults of 50 owners, each with a wallet policy, divided by 50. Each story checks from the events that
it did what its name says (:class:`~ringfence.bench.measure.StoryError` otherwise).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ringfence.bench.measure import Recorder, StoryError, ape_tx
from ringfence.bench.shared import ETH, USDC

BATCH = 50
TOP_UP_PRICE = 2780  # the traders' shape at 3,000 falls to health ≈ 1.29 here, under the trigger 1.3
SHAPE = {"size": 1 * ETH, "margin": 400 * USDC}
WAD = 10**18


def bench_policy(**change: int) -> Any:
    """The stories' policy (a wallet policy unless ``reserve_id`` is given)."""
    from ringfence.guard import GuardPolicy

    values = {"trigger_health_wad": 13 * WAD // 10, "target_health_wad": 15 * WAD // 10,
              "max_per_top_up": 500 * USDC, "budget": 2_000 * USDC, "fee": 2 * USDC}
    values.update(change)
    return GuardPolicy(**values)


def guard_available(project: Any) -> bool:
    """Whether the project has the MarginGuard contract."""
    try:
        return project.MarginGuard is not None
    except AttributeError:
        return False


class GuardStories:
    """The guard's stories, on a deployed guard of the bench's factory."""

    def __init__(self, guard: Any, market: Any, env: Any, recorder: Recorder, keeper: Any,
                 new_trader: Callable[[], Any], tick: Callable[[], None]):
        self.guard = guard  # ringfence.guard.Guard
        self.market = market
        self.pool = market.pool
        self.env = env
        self.rec = recorder
        self.keeper = keeper
        self.new_trader = new_trader  # a fresh account holding USDC, the pool approved
        self.tick = tick  # the next block BLOCK_TIME after the head

    def _open(self, who: Any) -> str:
        self.pool.openPosition(0, True, SHAPE["size"], SHAPE["margin"], 0, sender=who)
        return str(self.pool.vaultAddress(who, 0))

    def _armed_wallet(self) -> str:
        """A fresh owner's open vault with a wallet policy and an allowance to the guard."""
        who = self.new_trader()
        vault = self._open(who)
        self.guard.set_policy(who, vault, bench_policy())
        self.guard.approve_wallet(who, self.env.usdc, 10_000 * USDC)
        return vault

    def _top_up(self, op: str, vault: str, source: str) -> None:
        self.tick()
        margin = int(self.pool.position(vault).margin)
        receipt = self.guard.contract.topUp(vault, sender=self.keeper)
        done = self.guard.top_ups(receipt)
        if len(done) != 1 or done[0].amount == 0 or done[0].fee != 2 * USDC:
            raise StoryError(f"{op}: top-ups {done}")
        if int(self.pool.position(vault).margin) != margin + done[0].amount:
            raise StoryError(f"{op}: the vault's margin did not grow by the amount")
        self.rec.add(op, [ape_tx("MarginGuard.topUp", receipt)], amount=done[0].amount,
                     health_after_wad=done[0].health_after_wad,
                     note=f"{source}: health 1.29 → 1.5, fee 2 USDC to the executor")

    def policy_stories(self) -> str:
        """setPolicy for a vault without a policy, then a change of its fee; returns the vault."""
        who = self.new_trader()
        vault = self._open(who)
        if self.guard.policy(who, vault).exists:
            raise StoryError("the vault has a policy before its first setPolicy")
        self.tick()
        receipt = self.guard.contract.setPolicy(vault, bench_policy().as_tuple(), sender=who)
        if len(receipt.decode_logs(self.guard.contract.PolicySet)) != 1:
            raise StoryError("setPolicy emitted no PolicySet")
        self.rec.add("guard_set_policy_first", [ape_tx("MarginGuard.setPolicy", receipt)],
                     note="a vault's first policy: two fresh slots")
        self.tick()
        receipt = self.guard.contract.setPolicy(vault, bench_policy(fee=3 * USDC).as_tuple(), sender=who)
        if self.guard.policy(who, vault).fee != 3 * USDC:
            raise StoryError("the policy change did not take")
        self.rec.add("guard_set_policy_change", [ape_tx("MarginGuard.setPolicy", receipt)],
                     note="the same vault's policy, its fee changed")
        return vault

    def top_up_stories(self) -> None:
        """One top-up from a wallet, one from a reserve."""
        env = self.env
        env.set_price(3000)
        wallet_vault = self._armed_wallet()
        who = self.new_trader()
        reserve_vault = self._open(who)
        rid = self.guard.open_reserve(who, env.usdc, [reserve_vault])
        self.guard.deposit_reserve(who, rid, 1_000 * USDC)
        self.guard.set_policy(who, reserve_vault, bench_policy(reserve_id=rid))
        env.set_price(TOP_UP_PRICE)
        self._top_up("guard_top_up_wallet", wallet_vault, "from the owner's wallet (allowance)")
        self._top_up("guard_top_up_reserve", reserve_vault, "from a reserve earmarked to the vault")
        env.set_price(3000)

    def batch_story(self, n: int = BATCH) -> None:
        """One topUpBatch of n vaults of n owners, each with a wallet policy."""
        self.env.set_price(3000)
        vaults = [self._armed_wallet() for _ in range(n)]
        self.env.set_price(TOP_UP_PRICE)
        self.tick()
        receipt = self.guard.contract.topUpBatch(vaults, sender=self.keeper)
        batch = receipt.decode_logs(self.guard.contract.BatchToppedUp)
        done = self.guard.top_ups(receipt)
        if len(batch) != 1 or int(batch[0].done) != n or sorted(t.vault for t in done) != sorted(vaults):
            raise StoryError(f"guard batch of {n}: {len(done)} topped up")
        self.rec.add(f"guard_batch_{n}_per_vault", [ape_tx("MarginGuard.topUpBatch", receipt)], per=n,
                     note=f"topUpBatch of {n} vaults of {n} owners (wallet policies), / {n}")
        self.env.set_price(3000)

    def run(self) -> None:
        self.policy_stories()
        self.top_up_stories()
        self.batch_story()


__all__ = ["BATCH", "GuardStories", "bench_policy", "guard_available"]
