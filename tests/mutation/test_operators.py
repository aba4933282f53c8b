"""The mutation runner's own tests: each operator on a small Solidity snippet, stable ids, equivalents."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.mutate.operators import Mutant, mutants_of_source
from tools.mutate.runner import EQUIVALENT, Runner, dependents, load_equivalents, sample

SNIPPET = """\
contract Pool {
    uint256 public reserved;
    uint256 internal _liquidity;
    mapping(address => uint256) internal _margin;
    address[] internal _pools;

    struct Side {
        uint128 size;
    }

    Side internal _longs;

    modifier onlyFactory() {
        if (msg.sender != factory) revert NotFactory(msg.sender);
        _;
    }

    function open(uint256 size, uint256 price, uint256 fee) external onlyFactory returns (uint256 n) {
        _requireOwner(msg.sender);
        if (size < minSize) {
            revert TooSmall(size);
        }
        n = MarginMath.notionalUp(size, price, SCALE);
        uint256 m = MarginMath.mulDivDown(n, fee, WAD);
        uint256 r = Math.mulDiv(n, fee, WAD, Math.Rounding.Ceil);
        uint256 q = Math.mulDiv(n, fee, WAD);
        uint256 c = Math.ceilDiv(n, size);
        uint256 d = n / size;
        uint256 total = size + fee;
        uint256 net = size - penalty;
        reserved += n;
        _liquidity = _liquidity + fee;
        Side storage side = _longs;
        side.size -= uint128(size);
        _pools.push(msg.sender);
        return n >= m ? n : m;
    }

    function _payKeeperAndFund(uint256 due) internal {
        fromFund = fund.coverKeeperBonus(keeper, due);
        fromPool = due - fromFund;
    }

    function checkParams(Params calldata p) public pure {
        _within("fee", p.fee, 0, MAX_FEE);
        _within("im", p.im, MIN_IM, WAD);
    }
}
"""


def mutants(operator: str) -> list[Mutant]:
    return mutants_of_source("Pool", "contracts/Pool.sol", SNIPPET, [operator])


def changes(operator: str) -> list[tuple[str, str]]:
    return [(m.original.strip(), m.replacement.strip()) for m in mutants(operator)]


def test_rounding_swaps_directions():
    got = changes("rounding")
    assert ("n = MarginMath.notionalUp(size, price, SCALE);", "n = MarginMath.notionalDown(size, price, SCALE);") in got
    assert ("uint256 m = MarginMath.mulDivDown(n, fee, WAD);", "uint256 m = MarginMath.mulDivUp(n, fee, WAD);") in got
    assert ("uint256 r = Math.mulDiv(n, fee, WAD, Math.Rounding.Ceil);", "uint256 r = Math.mulDiv(n, fee, WAD);") in got
    assert ("uint256 q = Math.mulDiv(n, fee, WAD);", "uint256 q = Math.mulDiv(n, fee, WAD, Math.Rounding.Ceil);") in got
    assert ("uint256 c = Math.ceilDiv(n, size);", "uint256 c = (n / size);") in got
    assert ("uint256 d = n / size;", "uint256 d = Math.ceilDiv(n, size);") in got


def test_boundary_flips_comparisons_but_not_arrows():
    got = changes("boundary")
    assert ("if (size < minSize) {", "if (size <= minSize) {") in got
    assert ("return n >= m ? n : m;", "return n > m ? n : m;") in got
    assert not any("=>" in old for old, _ in got)  # the mapping's arrow is not a comparison


def test_guard_removes_reverts_checks_and_modifiers():
    got = changes("guard")
    assert ("if (msg.sender != factory) revert NotFactory(msg.sender);", "") in got
    assert ("revert TooSmall(size);", "") in got
    assert ("_requireOwner(msg.sender);", "") in got
    header = [new for old, new in got if old.startswith("function open")]
    assert header == ["function open(uint256 size, uint256 price, uint256 fee) external returns (uint256 n) {"]


def test_drop_term_drops_fees_and_penalties_only():
    got = changes("drop-term")
    assert ("uint256 total = size + fee;", "uint256 total = size;") in got
    assert ("uint256 net = size - penalty;", "uint256 net = size;") in got
    assert ("_liquidity = _liquidity + fee;", "_liquidity = _liquidity;") in got
    assert all("minSize" not in old for old, _ in got)


def test_skip_store_removes_storage_writes_only():
    got = [old for old, new in changes("skip-store") if new == ""]
    assert got == ["reserved += n;", "_liquidity = _liquidity + fee;", "side.size -= uint128(size);",
                   "_pools.push(msg.sender);"]


def test_swap_swaps_dependent_waterfall_statements():
    (m,) = mutants("swap")
    assert m.replacement.split("\n")[0].strip() == "fromPool = due - fromFund;"
    assert m.end == m.start + 1


def test_factory_bound_loosens_min_and_max():
    got = changes("bound")
    assert ('_within("fee", p.fee, 0, MAX_FEE);', '_within("fee", p.fee, 0, type(uint256).max);') in got
    assert ('_within("im", p.im, MIN_IM, WAD);', '_within("im", p.im, 0, WAD);') in got
    assert ('_within("im", p.im, MIN_IM, WAD);', '_within("im", p.im, MIN_IM, type(uint256).max);') in got


def test_ids_are_stable_and_unique():
    first = mutants_of_source("Pool", "contracts/Pool.sol", SNIPPET)
    again = mutants_of_source("Pool", "contracts/Pool.sol", SNIPPET)
    assert [m.id for m in first] == [m.id for m in again]
    assert len({m.id for m in first}) == len(first)
    m = next(m for m in first if m.operator == "boundary")
    assert m.id == f"Pool:{m.start}:boundary:0"
    shifted = mutants_of_source("Pool", "contracts/Pool.sol", "// a new first line\n" + SNIPPET)
    assert {m.key for m in first} == {m.key for m in shifted}  # keys survive edits elsewhere in the file


def test_apply_replaces_exactly_the_site():
    m = next(m for m in mutants("boundary") if "minSize" in m.original)
    out = m.apply(SNIPPET)
    assert out.count("size <= minSize") == 1 and "size < minSize" not in out
    assert len(out.splitlines()) == len(SNIPPET.splitlines())
    with pytest.raises(ValueError):
        m.apply(SNIPPET.replace("size < minSize", "size < otherSize"))


def test_equivalents_are_excluded(tmp_path: Path):
    m = mutants("boundary")[0]
    listed = tmp_path / "equivalent.txt"
    listed.write_text(f"# key | id | reason\n{m.key} | {m.id} | cannot change behaviour\n")
    eq = load_equivalents(listed)
    assert eq == {m.key: "cannot change behaviour"}
    assert m not in sample(mutants("boundary"), eq, "seed")
    runner = Runner.__new__(Runner)
    runner.equivalents = eq
    assert runner.run_one(m).status == EQUIVALENT


def test_sample_is_seeded():
    all_m = mutants_of_source("Pool", "contracts/Pool.sol", SNIPPET)
    assert [m.id for m in sample(all_m, {}, "a")] == [m.id for m in sample(all_m, {}, "a")]
    assert [m.id for m in sample(all_m, {}, "a")] != [m.id for m in sample(all_m, {}, "b")]


def test_judging_an_equivalent_keeps_the_others_order():
    """A new line in equivalent.txt removes that mutant from a seed's order and moves no other."""
    all_m = mutants_of_source("Pool", "contracts/Pool.sol", SNIPPET)
    before = [m.id for m in sample(all_m, {}, "a")]
    judged = sample(all_m, {}, "a")[1]
    after = [m.id for m in sample(all_m, {judged.key: "same behaviour"}, "a")]
    assert after == [i for i in before if i != judged.id] and judged.id not in after


def test_dependents_follow_imports():
    root = Path(__file__).resolve().parents[2]
    deps = dependents(root, "contracts/libraries/MarginMath.sol")
    assert "contracts/MarginPool.sol" in deps and "contracts/MarginPoolDeployer.sol" in deps
    assert dependents(root, "contracts/Liquidator.sol") == ["contracts/Liquidator.sol"]
