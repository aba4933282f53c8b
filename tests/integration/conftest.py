"""Fixtures of the in-process CLI tests: the ``ringfence`` command line run in this process, on the
test session's chain (the chain's isolation between tests stays intact)."""

from __future__ import annotations

import json
from contextlib import nullcontext

import pytest

from ringfence.chain.deployments import FORMAT_VERSION


@pytest.fixture
def deployments(tmp_path, protocol, market, chain):
    """A deployments file naming the market's pool and the protocol's Lens."""
    path = tmp_path / "deployments.json"
    path.write_text(json.dumps({
        "format": FORMAT_VERSION, "chain_id": chain.provider.chain_id,
        "contracts": {"Lens": {"address": str(protocol.lens.address)}},
        "markets": {"ETH-USD": {"pool": market.address}},
    }))
    return path


@pytest.fixture
def in_process(monkeypatch, chain, networks):
    """Every command connects to the test session's provider instead of its ``--network``."""
    provider = chain.provider
    monkeypatch.setattr(type(networks), "parse_network_choice", lambda self, choice: nullcontext(provider))
    return provider
