"""The contract types the Python side reads (:mod:`ringfence.chain.contracts`), against the compiled
contracts, with no chain: every encoder the simulator and the fuzzer use resolves to a function of the
ABI; the Python mirrors of the Solidity structs (``MarketParams``, ``Position``, the FuzzReader rows)
name the ABI's fields; the committed bundle (``ringfence/artifacts/contracts.json``) is the build's.

Solidity's camelCase field names map to the Python side's snake_case names by one rule,
:func:`ringfence.chain.contracts.snake_case` (``entryPriceWad`` <-> ``entry_price_wad``)."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest

from ringfence.chain import contracts
from ringfence.chain.contracts import camel_case, fn, snake_case, struct_fields
from ringfence.chain.rpc import Fn

# What reads a ``MarginPool.position(vault)`` struct, and which (field, tuple index) each one uses:
# a tuple read by position must find the field at that index.
POSITION_READS: dict[str, list[tuple[str, int]]] = {
    # sdk.Position.from_chain: every field, by name or in order
    "ringfence.sdk.Position": [("size", 0), ("entryPriceWad", 1), ("margin", 2), ("maxProfit", 3),
                               ("feeBaseWad", 4), ("isLong", 5), ("status", 6), ("owner", 7)],
    # model.Position.from_struct: the open position's numbers
    "ringfence.model.Position": [("size", 0), ("entryPriceWad", 1), ("margin", 2), ("maxProfit", 3),
                                 ("feeBaseWad", 4), ("isLong", 5)],
    # keeper.index.VaultIndex.refresh (through its _field(raw, name, index))
    "ringfence.keeper.index.VaultIndex.refresh": [("size", 0), ("entryPriceWad", 1), ("margin", 2),
                                                  ("maxProfit", 3), ("feeBaseWad", 4), ("isLong", 5),
                                                  ("status", 6)],
}


def _encoders() -> dict[str, Fn]:
    """Every encoder table of the simulator and the fuzzer, by a readable name."""
    from ringfence.fuzz import calls, reader
    from ringfence.sim.chain import FNS

    found = {f"sim.FNS[{key!r}]": f for key, f in FNS.items()}
    found.update({f"fuzz.calls.{name}": value for name, value in vars(calls).items() if isinstance(value, Fn)})
    found["fuzz.reader.READ"] = reader.READ
    return found


def field_mismatches(python_fields: list[str], abi_fields: list[str]) -> list[str]:
    """Where Python field names (snake_case, in order) and ABI components (camelCase) disagree."""
    out = [f"#{i}: {p!r} vs the ABI's {a!r}" for i, (p, a) in enumerate(zip(python_fields, abi_fields))
           if p != snake_case(a)]
    if len(python_fields) != len(abi_fields):
        out.append(f"{len(python_fields)} fields vs the ABI's {len(abi_fields)}")
    return out


def _dataclass_fields(cls: type, skip: tuple[str, ...] = ()) -> list[str]:
    return [f.name for f in dataclasses.fields(cls) if f.name not in skip]


# ------------------------------------------------------------------ encoders
def test_the_encoder_tables_are_not_empty():
    encoders = _encoders()
    assert len([k for k in encoders if k.startswith("sim.")]) >= 20
    assert len([k for k in encoders if k.startswith("fuzz.calls.")]) >= 20


@pytest.mark.parametrize("name", sorted(_encoders()))
def test_every_encoder_is_a_function_of_a_compiled_contract(name):
    """Its selector is a method identifier of a compiled contract (as ethpm_types computes them,
    independently of :func:`ringfence.chain.contracts.canonical_type`), for the same signature."""
    encoder = _encoders()[name]
    selector = "0x" + encoder.selector.hex()
    owners = [ct.name for ct in contracts.contract_types().values()
              if ct.method_identifiers.get(encoder.signature) == selector]
    assert owners, f"{name}: {encoder.signature} ({selector}) is in no compiled contract's ABI"


def test_fuzz_constants_are_the_abis():
    from ringfence.fuzz import calls

    assert calls.HEALTHY_POSITION in {contracts.error_selector("MarginPool", "HealthyPosition")}
    assert calls.PARAMS == contracts.canonical_type(contracts.method("PoolFactory", "queueParams").inputs[1])
    assert calls.PARAMS.startswith("(uint64,") and calls.PARAMS.count(",") == 14
    assert calls.KEEPER_PAID == contracts.event_topic("MarginPool", "KeeperPaid")


def test_overloads_are_chosen_by_their_number_of_inputs():
    # MarginPool has one liquidate (the batch entry of the Liquidator); the Liquidator one of its own
    assert fn("Liquidator", "liquidate").types == ["address"]
    assert fn("MarginPool", "liquidate", 3).types == ["address[]", "address", "bool"]
    with pytest.raises(KeyError):
        fn("MarginPool", "liquidate", 1)
    with pytest.raises(KeyError):
        fn("MarginPool", "noSuchFunction")


def test_nested_tuple_arrays_keep_every_dimension():
    """``VaultRow[][]`` is ``(...)[][]`` (ethpm_types' own canonical type drops one ``[]``)."""
    snapshot = contracts.method("FuzzReader", "read").outputs[0]
    assert contracts.canonical_type(snapshot).endswith(",bytes)[][])")


# ------------------------------------------------------------------ struct mirrors
def test_the_case_mapping_is_one_rule_both_ways():
    for name in ("entryPriceWad", "maxProfit", "isLong", "size", "keeperBonusMin", "batchLiquidated"):
        assert camel_case(snake_case(name)) == name
    assert snake_case("maintenanceMarginWad") == "maintenance_margin_wad"


def test_sdk_and_model_market_params_are_the_abis_struct():
    from ringfence import model, sdk
    from ringfence.model.structs import _PARAM_FIELDS

    abi_fields = struct_fields("MarginPool", "params")
    assert abi_fields == struct_fields("PoolFactory", "createPool", 2)  # one struct everywhere
    assert field_mismatches(_dataclass_fields(sdk.MarketParams), abi_fields) == []
    assert field_mismatches(_dataclass_fields(model.MarketParams, skip=("asset_decimals",)), abi_fields) == []
    # the model's table of names and widths
    components = contracts.method("MarginPool", "params").outputs[0].components
    assert list(_PARAM_FIELDS) == [(snake_case(c.name), c.name, int(c.type[4:])) for c in components]


def test_a_renamed_field_in_a_copied_abi_fails_the_check():
    """Canary: the field check sees a rename in the ABI it is given."""
    from ethpm_types import ContractType

    from ringfence import sdk

    data: dict[str, Any] = copy.deepcopy(contracts.contract_type("MarginPool").model_dump(mode="json", by_alias=True))
    params = next(e for e in data["abi"] if e.get("name") == "params" and e["type"] == "function")
    params["outputs"][0]["components"][1]["name"] = "maintenanceRatioWad"
    renamed = ContractType.model_validate(data)
    abi_fields = struct_fields("MarginPool", "params", types=renamed)
    assert field_mismatches(_dataclass_fields(sdk.MarketParams), abi_fields) == [
        "#1: 'maintenance_margin_wad' vs the ABI's 'maintenanceRatioWad'"]


@pytest.mark.parametrize("reader", sorted(POSITION_READS))
def test_position_has_the_fields_its_readers_use(reader):
    abi_fields = struct_fields("MarginPool", "position")
    missing = [(name, index) for name, index in POSITION_READS[reader]
               if index >= len(abi_fields) or abi_fields[index] != name]
    assert missing == [], f"{reader} reads {missing}; MarginPool.position returns {abi_fields}"


def test_sdk_position_is_the_abis_struct():
    from ringfence import sdk

    assert field_mismatches(_dataclass_fields(sdk.Position), struct_fields("MarginPool", "position")) == []


def test_fuzz_rows_are_the_readers_structs():
    from ringfence.fuzz.invariants import LpRow

    snapshot = contracts.method("FuzzReader", "read").outputs[0]
    pools = snapshot.components[2]
    lps = next(c for c in pools.components if c.name == "lps")
    assert field_mismatches(_dataclass_fields(LpRow), [str(c.name) for c in lps.components]) == []


# ------------------------------------------------------------------ the bundle
def test_the_bundle_is_the_build():
    """Fails when a contract changed and the bundle was not written again: run
    ``make bundle`` (``python -m ringfence.chain.contracts export``) and commit the file."""
    if not contracts._in_checkout():
        pytest.skip("no checkout: nothing to compare the bundle with")
    differences = contracts.bundle_differences()
    assert differences == [], ("ringfence/artifacts/contracts.json is stale "
                               "(make bundle):\n" + "\n".join(differences))


def test_the_bundle_holds_the_protocol_and_the_mocks():
    names = set(contracts.read_bundle())
    assert {"MarginPool", "PositionVault", "PoolFactory", "MarginPoolDeployer", "Liquidator", "Lens",
            "ChainlinkOracle", "InsuranceFund", *contracts.MOCKS} <= names
    assert not {"FuzzReader", "Attacker", "LpSkimmer"} & names  # test contracts stay out


def test_metadata_is_stripped_and_code_is_not():
    cbor = "a2646970667358221220" + "11" * 32 + "64736f6c6343000825" + "0033"
    other = cbor.replace("11" * 32, "22" * 32)
    code = "6080604052"
    embedded = code + cbor + "00"  # creation code carried inside another contract's
    assert contracts.strip_metadata("0x" + code + cbor) == contracts.strip_metadata("0x" + code + other)
    assert contracts.strip_metadata(embedded + cbor) == contracts.strip_metadata(
        embedded.replace(cbor, other) + other)
    assert contracts.strip_metadata("0x" + code + cbor) != contracts.strip_metadata("0x6080604053" + cbor)
    assert contracts.strip_metadata("0x" + code + cbor) == "0x" + code


def test_the_bundle_serves_the_same_types(monkeypatch):
    """What an installed package (no checkout) reads: the same encoders and containers."""
    build = fn("MarginPool", "openPosition")
    monkeypatch.setenv(contracts.SOURCE_ENV, "bundle")
    assert contracts.source() == "bundle"
    bundled = fn("MarginPool", "openPosition")
    assert (bundled.signature, bundled.selector, bundled.returns) == (build.signature, build.selector, build.returns)
    container = contracts.container("MarginPool")
    assert type(container).__name__ == "ContractContainer"
    assert container.contract_type.name == "MarginPool"
    with pytest.raises(KeyError):
        contracts.contract_type("FuzzReader")  # a test contract: the build only
