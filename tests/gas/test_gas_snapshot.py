"""Gas regressions: Ringfence's user stories (the bench's own measuring code, ringfence.bench) must not
cost more than tests/gas/snapshot.json says. `make gas-snapshot` rewrites the snapshot on purpose.

The snapshot is taken on the bench's Anvil (prague). The embedded py-evm chain gives the same gasUsed
for the same transactions, to the gas unit (docs/toolchain.md), so the comparison runs on whichever
network pytest runs: `make test` checks it on both, `make gas-check` on Anvil only. Every measured
transaction is mined 12 s after the previous block, which makes the figures independent of wall-clock
timing. Deployment addresses differ from the bench's when other tests ran first in the session; that
moves calldata costs by a few gas (snapshot.TOLERANCE_GAS).
"""

from __future__ import annotations

import os

import pytest

from ringfence.bench import snapshot
from ringfence.bench.measure import Recorder
from ringfence.bench.ringfence_side import run_ringfence
from ringfence.bench.shared import deploy_shared

# Providers whose gasUsed matches the snapshot's (Anvil's): py-evm ("test") does too, see above.
NETWORKS_LIKE_SNAPSHOT = {"foundry", "test"}
BATCH_SIZES = tuple(int(n) for n in os.environ.get("RINGFENCE_GAS_BATCHES", "10,50").split(",") if n)


@pytest.fixture(scope="module")
def measured(accounts, chain, project) -> dict[str, int]:
    if chain.provider.name not in NETWORKS_LIKE_SNAPSHOT:
        pytest.skip(f"gas snapshot is taken on Anvil; {chain.provider.name} is not known to match it")
    env = deploy_shared(project, accounts[0])
    recorder = Recorder("ringfence")
    run_ringfence(project, accounts, chain, env, recorder, batch_sizes=BATCH_SIZES)
    return recorder.gas()


def test_snapshot_exists():
    ops = snapshot.load()
    assert ops, "tests/gas/snapshot.json is empty: run `make gas-snapshot`"
    assert "open_from_nothing" in ops


def test_no_operation_costs_more_than_its_snapshot(measured):
    regressions, notes = snapshot.compare(measured, snapshot.load())
    for note in notes:
        print(note)
    assert not regressions, "gas regressions (run `make gas-snapshot` if intended):\n" + "\n".join(
        str(r) for r in regressions
    )


def test_every_snapshot_operation_is_measured(measured):
    """The stories still run end to end: every operation of the snapshot (up to the batch sizes run
    here) is measured."""
    expected = {op for op in snapshot.load()
                if not op.startswith("batch_") or int(op.split("_")[1]) in BATCH_SIZES}
    missing = expected - set(measured)
    assert not missing, f"not measured: {sorted(missing)}"
