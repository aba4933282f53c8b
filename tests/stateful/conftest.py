"""Fixtures of the stateful fuzzing tests and of the saved regressions (tests/stateful/regressions/):
the fuzz world deployed once per module, and the state machine class bound to it."""

from __future__ import annotations

import pytest

from ringfence.fuzz.env import FuzzEnv
from ringfence.fuzz.machine import build_machine


@pytest.fixture(scope="module")
def fuzz_env(accounts, project):
    return FuzzEnv.deploy(accounts, project)


@pytest.fixture(scope="module")
def machine(fuzz_env, chain, project):
    cls = build_machine(fuzz_env, chain, project)
    yield cls
    cls.world.close()


@pytest.fixture
def anvil_only(chain):
    """Fuzzing and replays run on Anvil only (fixed block interval, 8x faster than the embedded chain)."""
    if chain.provider.name != "foundry":
        pytest.skip("fuzzed on Anvil only: --network ethereum:local:foundry")
