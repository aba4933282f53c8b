"""The coverage tool's mapping: a tiny contract, compiled with the project's settings (via-IR,
optimizer), deployed on an Anvil of its own, one transaction and one eth_call traced by the recorder
that `make coverage` uses; the executed lines and branch sides must be exactly the known ones.

Runs once, in the embedded-chain pass (it starts its own Anvil and does not use the test provider)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBE = """// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;
contract Probe {
    uint256 public total;
    error TooBig(uint256 x);
    function add(uint256 x) external returns (uint256) {
        if (x > 100) revert TooBig(x);
        if (x % 2 == 0) {
            total += x;
        } else {
            total += 2 * x + 1;
        }
        return total;
    }
    function unused(uint256 y) external pure returns (uint256) {
        return y * 3 + 1;
    }
}
"""
PATH = "probe/Probe.sol"


@pytest.fixture
def anvil_url(chain):
    if chain.provider.name == "foundry":
        pytest.skip("runs once, in the embedded-chain pass")
    from ringfence.chain.anvil import Anvil

    with Anvil("--silent", "--hardfork", "prague") as node:
        yield node.uri


def test_known_call_maps_to_known_lines(anvil_url):
    from tools.coverage.build import build
    from tools.coverage.proxy import Recorder
    from tools.coverage.report import compute

    b = build(sources=[], extra_inline={PATH: PROBE})
    rec = Recorder(anvil_url)
    sender = rec.rpc("eth_accounts", [])[0]
    init = "0x" + b.creation["Probe"].code.hex()
    tx = rec.rpc("eth_sendTransaction", [{"from": sender, "data": init}])
    rec.trace_tx(tx)
    probe = rec.rpc("eth_getTransactionReceipt", [tx])["contractAddress"]
    add = "0x1003e2d2"  # add(uint256)
    assert rec.rpc("eth_call", [{"to": probe, "data": add + f"{4:064x}"}, "latest"])  # sanity
    tx = rec.rpc("eth_sendTransaction", [{"from": sender, "to": probe, "data": add + f"{4:064x}"}])
    rec.trace_tx(tx)  # even: line 9
    hits = rec.dump()
    assert hits["stats"]["trace_errors"] == 0 and hits["stats"]["frame_mismatch"] == 0
    assert b.identify(bytes.fromhex(next(iter(hits["codes"].values()))[2:])) == "Probe"

    f = compute(b, hits, ROOT, paths=[PATH])["files"][PATH]
    assert f["lines"]["uncovered"] == [11, 16], f["lines"]
    assert f["functions"]["uncovered"] == ["Probe.unused (line 15)"]
    by_line = {br["line"]: br for br in f["branches"]["uncovered"]}
    assert by_line[7]["missing"] == ["true"]  # the revert never ran; its false side (no else) did
    assert by_line[8]["missing"] == ["false"]
    assert not f["branches"]["unresolved"], f["branches"]["unresolved"]

    # An odd, then a too large value through eth_call (how the proxy sees reverting calls too).
    rec.trace_call("eth_call", [{"from": sender, "to": probe, "data": add + f"{5:064x}"}, "latest"])
    rec.trace_call("eth_estimateGas", [{"from": sender, "to": probe, "data": add + f"{500:064x}"}])
    f = compute(b, rec.dump(), ROOT, paths=[PATH])["files"][PATH]
    assert f["lines"]["uncovered"] == [16], f["lines"]
    assert [br["line"] for br in f["branches"]["uncovered"]] == []
    assert f["branches"]["covered"] == f["branches"]["total"] == 4
