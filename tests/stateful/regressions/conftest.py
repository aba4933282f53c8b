"""Saved regressions replay on Anvil only: on the embedded chain the module is skipped before the fuzz
world is deployed (this `fuzz_env` overrides tests/stateful/conftest.py's for the regressions)."""

from __future__ import annotations

import pytest

from ringfence.fuzz.env import FuzzEnv


@pytest.fixture(scope="module")
def fuzz_env(accounts, project, chain):
    if chain.provider.name != "foundry":
        pytest.skip("regressions replay on Anvil only: --network ethereum:local:foundry")
    return FuzzEnv.deploy(accounts, project)
