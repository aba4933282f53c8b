"""Benchmark (not a test: the file name keeps it out of the suite; ``make bench-keeper`` runs it on
Anvil): one full keeper pass over ``RINGFENCE_BENCH_VAULTS`` real vaults (5,000 by default) right
after a mass partial liquidation, i.e. the pass that re-reads every partially liquidated vault.

The vaults are real positions of the session market, opened 75 per transaction by the test-only
BatchOpener; all long, 8.5x to 9.5x, entries at 3,000. The price then drops just under their
liquidation prices, a first keeper pass liquidates them (almost all partially), and the figure is
the next pass: index the ``Liquidated`` events, re-read the partially liquidated positions
(``Lens.vaults``, one call per market and chunk), read the price, decide, confirm. Prints the
figures; asserts only that the pass did what it is timed for. ``RINGFENCE_ANVIL_STEPS_TRACING=0`` keeps
Anvil's step traces off (tools/anvil-wrapper.sh): with them, 5,000 vaults take Anvil past 23 GB.

    RINGFENCE_ANVIL_STEPS_TRACING=0 ape test tests/keeper/bench_keeper_step.py -p no:cacheprovider -s \
        --network ethereum:local:foundry
"""

from __future__ import annotations

import cProfile
import os
import pstats
import random
import time

from ringfence.keeper import Keeper, KeeperConfig
from tests.conftest import ETH, USDC, feed_answer, lp_enter
from tests.keeper.helpers.build import contract_container

WAD = 10**18
VAULTS = int(os.environ.get("RINGFENCE_BENCH_VAULTS", "5000"))
PER_TX = 75
PRICE = int(os.environ.get("RINGFENCE_BENCH_PRICE", "2790"))


def _open(opener, market, owner, rng: random.Random, count: int) -> None:
    params = market.params()
    opens = []
    for _ in range(count):
        size = rng.randint(20, 100) * ETH // 100
        notional = size * 3_000 // ETH * USDC
        leverage_tenths = rng.randint(85, 95)
        margin = notional * 10 // leverage_tenths + notional * params.open_fee_wad // WAD + 1
        opens.append((True, size, margin))
    for i in range(0, count, PER_TX):
        opener.open(market.pool, opens[i:i + PER_TX], sender=owner)


def test_bench_keeper_step_after_mass_partial_liquidation(chain, protocol, market, feed, owner, usdc, lp, keeper):
    usdc.mint(lp, 200_000_000 * USDC, sender=owner)
    lp_enter(market, lp, 200_000_000 * USDC)
    opener = owner.deploy(contract_container())
    usdc.mint(opener, 100_000_000 * USDC, sender=owner)
    t0 = time.perf_counter()
    _open(opener, market, owner, random.Random(7), VAULTS)
    opened = time.perf_counter() - t0
    bot = Keeper(protocol.factory, account=keeper, lens=protocol.lens, config=KeeperConfig(max_gas=25_000_000))
    t0 = time.perf_counter()
    bot.sync()
    catch_up = time.perf_counter() - t0
    assert len(bot.index) == VAULTS
    feed.setAnswer(feed_answer(PRICE), sender=owner)
    t0 = time.perf_counter()
    first = bot.step()
    liquidating = time.perf_counter() - t0
    profile = cProfile.Profile() if os.environ.get("RINGFENCE_BENCH_PROFILE") else None
    if profile is not None:
        profile.enable()
    second = bot.step()
    if profile is not None:
        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
    print(f"\nkeeper bench: {VAULTS:,} vaults opened in {opened:.1f} s, index built in {catch_up:.2f} s; "
          f"first pass {liquidating:.1f} s: {first.liquidated:,} liquidated ({first.full:,} full, "
          f"{first.partial:,} partial) in {len(first.sent)} transaction(s)")
    print(f"keeper bench: next pass over {second.indexed:,} vaults: {second.reread:,} re-read, "
          f"{sum(map(len, second.candidates.values())):,} candidate(s): {second.seconds:.3f} s "
          f"(sync and re-read {second.sync_seconds:.3f} s, decision {second.decision_seconds:.3f} s)")
    print("keeper bench: " + second.summary())
    assert first.partial > VAULTS // 2 and second.reread == first.partial
