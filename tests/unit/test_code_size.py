"""Runtime code size of every deployed contract, from the bundled artifacts (what the package ships).

EIP-170 refuses to deploy runtime code over 24,576 bytes. Each contract has a budget below that
(`BUDGET`), recorded where it stands now: a change that grows a contract past its budget fails here,
so the growth is seen and either paid for elsewhere or the budget is raised on purpose, in the same
commit, with the reason in its message. `docs/gas.md` says how a new feature adds code without
pushing the core contracts towards the limit, and the target (21,500 bytes, 3 KB under the limit).
"""

from __future__ import annotations

import pytest

from ringfence.chain.contracts import read_bundle

EIP_170 = 24_576
TARGET = 21_500  # every contract at or under this leaves room for the next features (docs/gas.md)

# Bytes of runtime code each contract may have; over TARGET only where docs/gas.md says how it comes down.
BUDGET = {
    "MarginPool": 23_300,
    "PoolFactory": 17_700,
    "Lens": 6_900,
    "MarginGuard": 9_200,
    "PositionVault": 4_200,
    "MarginPoolDeployer": 1_900,
    "ChainlinkOracle": 1_700,
    "Liquidator": 1_600,
    "InsuranceFund": 1_200,
}


def runtime_size(name: str) -> int:
    code = read_bundle()[name]["runtimeBytecode"]["bytecode"]
    return (len(code) - 2) // 2


@pytest.mark.parametrize("name", sorted(BUDGET))
def test_runtime_code_within_its_budget(name):
    size = runtime_size(name)
    assert 0 < size <= BUDGET[name] <= EIP_170, f"{name}: {size:,} bytes, budget {BUDGET[name]:,}"


def test_every_deployed_contract_has_a_budget():
    """A new protocol contract gets a budget here (test doubles and the libraries are not deployed alone)."""
    shipped = {n for n in read_bundle() if not n.startswith("Mock") and n not in ("MarginMath", "PoolProof")}
    assert shipped == set(BUDGET)


def test_over_target_only_where_documented():
    """Contracts over TARGET are the ones docs/gas.md names as over it, with its plan."""
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "gas.md").read_text()
    over = sorted(n for n in BUDGET if runtime_size(n) > TARGET)
    for name in over:
        assert f"`{name}`" in doc and "over the target" in doc, name


def test_budget_canary_a_grown_contract_fails(monkeypatch):
    """Canary: a contract one byte over its budget is caught."""
    monkeypatch.setitem(BUDGET, "Liquidator", runtime_size("Liquidator") - 1)
    with pytest.raises(AssertionError):
        test_runtime_code_within_its_budget("Liquidator")
