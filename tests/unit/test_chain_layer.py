"""The contract types the Python side reads (:mod:`ringfence.chain.contracts`), against the compiled
contracts, with no chain: every encoder the simulator and the fuzzer use resolves to a function of the
ABI; the Python types of the Solidity structs (one ``MarketParams`` and one ``Position`` for the SDK,
the model, the keeper and the simulator; the FuzzReader rows) name the ABI's fields and check its widths;
every error the reference model raises is a custom error of the ABI, with its arguments, and is that
error's class; the committed bundle (``ringfence/artifacts/contracts.json``) is the build's.

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


def test_the_sdk_and_the_model_share_one_type_of_each_struct():
    from ringfence import model, sdk

    assert sdk.MarketParams is model.MarketParams
    assert sdk.Position is model.Position


def test_market_params_are_the_abis_struct():
    from ringfence import model

    abi_fields = struct_fields("MarginPool", "params")
    assert abi_fields == struct_fields("PoolFactory", "createPool", 2)  # one struct everywhere
    assert field_mismatches(list(model.MARKET_PARAMS_FIELDS), abi_fields) == []
    assert field_mismatches(_dataclass_fields(model.MarketParams, skip=("asset_decimals",)), abi_fields) == []
    assert len(model.MarketParams.default(6).as_tuple()) == len(abi_fields)


def test_the_markets_file_names_every_field_of_the_abis_struct_once():
    """The markets-file keys (``HUMAN_PARAMS``: yaml key, field, unit) cover the ABI's
    ``MarketParams`` field for field, in its order, and a uint64 field is a WAD ratio or rate."""
    from ringfence.deploy.markets_file import HUMAN_PARAMS
    from ringfence.solidity import abi_struct

    abi_fields = abi_struct("MarketParams")
    assert field_mismatches([field for _, field, _ in HUMAN_PARAMS], [name for name, _ in abi_fields]) == []
    for (_, field, kind), (_, abi_type) in zip(HUMAN_PARAMS, abi_fields, strict=True):
        assert (kind in ("ratio", "per_year", "multiple")) == (abi_type == "uint64"), field


def test_position_is_the_abis_struct():
    from ringfence import model

    abi_fields = struct_fields("MarginPool", "position")
    assert field_mismatches(_dataclass_fields(model.Position), abi_fields) == []
    assert list(model.POSITION_FIELDS) == _dataclass_fields(model.Position)


@pytest.mark.parametrize(("struct", "function"), [("MarketParams", "params"), ("Position", "position")])
def test_the_widths_the_structs_check_are_the_compiled_abis(struct, function):
    """The constructors check the widths of the bundled ABI (no Ape there): the build's."""
    from ringfence.solidity import abi_struct

    components = contracts.method("MarginPool", function).outputs[0].components
    assert abi_struct(struct) == tuple((str(c.name), str(c.type)) for c in components)


def test_the_structs_refuse_what_the_abi_types_cannot_hold():
    from ringfence import model

    params = model.MarketParams.default(6)
    params.with_(open_fee_wad=2**64 - 1)
    with pytest.raises(ValueError, match="uint64"):
        params.with_(open_fee_wad=2**64)
    with pytest.raises(ValueError, match="uint128"):
        params.with_(min_margin=2**128)
    fields = {"size": 1, "entry_price_wad": 1, "margin": 1, "max_profit": 1, "is_long": True}
    model.Position(**fields, fee_base_wad=2**80 - 1)
    with pytest.raises(ValueError, match="uint80"):
        model.Position(**fields, fee_base_wad=2**80)


def test_a_position_reads_every_shape_a_contract_returns():
    from ringfence import model

    values = (3, 2000 * 10**18, 40, 400, 10**18 - 1, True, 2, "0x" + "ab" * 20)
    by_tuple = model.Position.from_chain(values)
    by_name = model.Position.from_chain(dict(zip(struct_fields("MarginPool", "position"), values)))
    assert by_tuple == by_name
    assert (by_name.entry_price_wad, by_name.fee_base_wad, by_name.status, by_name.owner) == values[1:2] + values[4:5] + values[6:]
    assert not by_name.is_open
    assert model.Position.from_chain(values[:6]).is_open  # the model's positions: open, owner unknown


def test_the_keepers_record_names_the_positions_fields():
    from ringfence import model
    from ringfence.keeper.index import VaultRecord

    own = {"vault", "entry_notional", "key"}
    assert set(_dataclass_fields(VaultRecord)) - own <= set(model.POSITION_FIELDS)
    position = model.Position(size=5, entry_price_wad=7, margin=11, max_profit=13, fee_base_wad=17, is_long=False)
    assert VaultRecord.of("0x01", position).position() == position


def test_a_renamed_field_in_a_copied_abi_fails_the_check():
    """Canary: the field check sees a rename in the ABI it is given."""
    from ethpm_types import ContractType

    from ringfence import model

    data: dict[str, Any] = copy.deepcopy(contracts.contract_type("MarginPool").model_dump(mode="json", by_alias=True))
    params = next(e for e in data["abi"] if e.get("name") == "params" and e["type"] == "function")
    params["outputs"][0]["components"][1]["name"] = "maintenanceRatioWad"
    renamed = ContractType.model_validate(data)
    abi_fields = struct_fields("MarginPool", "params", types=renamed)
    assert field_mismatches(list(model.MARKET_PARAMS_FIELDS), abi_fields) == [
        "#1: 'maintenance_margin_wad' vs the ABI's 'maintenanceRatioWad'"]


def test_fuzz_rows_are_the_readers_structs():
    from ringfence.fuzz.invariants import LpRow

    snapshot = contracts.method("FuzzReader", "read").outputs[0]
    pools = snapshot.components[2]
    lps = next(c for c in pools.components if c.name == "lps")
    assert field_mismatches(_dataclass_fields(LpRow), [str(c.name) for c in lps.components]) == []


def test_fuzz_vault_rows_name_the_readers_and_the_positions_fields():
    from ringfence import model
    from ringfence.fuzz.invariants import VaultRow

    vaults = next(c for c in contracts.method("FuzzReader", "read").outputs[0].components if c.name == "vaults")
    read = {snake_case(str(c.name)) for c in vaults.components}
    own = {"vault", "market", "entry_notional"}  # the address, the pool's index, a cached notional
    assert set(_dataclass_fields(VaultRow)) - own <= read
    assert {"size", "entry_price_wad", "margin", "max_profit", "fee_base_wad", "is_long", "status"} <= (
        set(_dataclass_fields(VaultRow)) & set(model.POSITION_FIELDS))


# ------------------------------------------------------------------ errors
def _abi_errors() -> dict[str, list[list[str]]]:
    """Every custom error of the compiled contracts, with the argument names of each declaration."""
    found: dict[str, list[list[str]]] = {}
    for contract_type in contracts.contract_types().values():
        for entry in contract_type.abi:
            if entry.type == "error":
                names = [str(i.name) for i in entry.inputs]
                if names not in found.setdefault(str(entry.name), []):
                    found[str(entry.name)].append(names)
    return found


def error_mismatches(classes: list[type], abi_errors: dict[str, list[list[str]]]) -> list[str]:
    """Where model errors disagree with the ABI: a name it does not declare, other argument names, or
    a class that is not the contract error's (``error_class(name)``)."""
    from ringfence.errors import error_class

    out = []
    for cls in classes:
        declared = abi_errors.get(cls.name)
        if declared is None:
            out.append(f"{cls.__name__}: no error {cls.name} in the ABI")
        elif list(cls.argument_names) not in declared:
            out.append(f"{cls.__name__}: arguments {list(cls.argument_names)} vs the ABI's {declared}")
        if not issubclass(cls, error_class(cls.name)):
            out.append(f"{cls.__name__}: not a subclass of error_class({cls.name!r})")
    return out


def _model_error_classes() -> list[type]:
    from ringfence.model import errors

    return [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.ModelError)
            and c not in (errors.ModelError, errors.EvmPanic)]


def test_every_model_error_is_a_contract_error_of_the_abi():
    from ringfence.model.errors import CONTRACT_ERRORS

    classes = _model_error_classes()
    assert len(classes) >= 12 and set(classes) == set(CONTRACT_ERRORS)
    assert error_mismatches(classes, _abi_errors()) == []


def test_a_model_error_unlike_the_abi_fails_the_check():
    """Canary: an invented error, renamed arguments, and a class outside the contract error's."""
    from ringfence.errors import error_class
    from ringfence.model.errors import ModelError

    class Invented(ModelError, error_class("NoSuchError")):  # type: ignore[misc]
        argument_names = ("x",)

    class Renamed(ModelError, error_class("LeverageTooHigh")):  # type: ignore[misc]
        argument_names = ("available", "needed")

    class Detached(ModelError):
        name = "ZeroSize"

    assert error_mismatches([Invented, Renamed, Detached], _abi_errors()) == [
        "Invented: no error NoSuchError in the ABI",
        "Renamed: arguments ['available', 'needed'] vs the ABI's [['available', 'required']]",
        "Detached: not a subclass of error_class('ZeroSize')",
    ]


def test_a_model_error_is_the_contract_error():
    """What the model raises is caught as the contract's error, with its ABI arguments (also under
    snake_case names) and the message of its notice, as a decoded revert of the same error."""
    from eth_abi import encode

    from ringfence import model
    from ringfence.errors import RingfenceError, error_class, project_decoder

    params = model.MarketParams(asset_decimals=6, initial_margin_wad=10**17, maintenance_margin_wad=5 * 10**16,
                                max_open_interest=10**6)
    with pytest.raises(error_class("OpenInterestCapExceeded")) as raised:
        model.open_position(params, is_long=True, size=10**18, price_wad=3000 * 10**18, margin=10**9,
                            fee_index_wad=10**18, open_interest=0, free_liquidity=10**12)
    error = raised.value
    assert isinstance(error, RingfenceError) and isinstance(error, model.ModelError)
    assert (error.name, list(error.inputs)) == ("OpenInterestCapExceeded", ["openInterest", "cap"])
    assert error.open_interest == error.openInterest > 10**6 == error.cap
    data = contracts.error_selector("MarginPool", "OpenInterestCapExceeded") + encode(
        ["uint256", "uint256"], [error.open_interest, error.cap])
    decoded = project_decoder().decode(data)
    assert type(decoded) is error_class("OpenInterestCapExceeded")
    assert decoded.inputs == error.inputs and decoded.message == error.message == str(error)
    assert "{" not in error.message and str(error.cap) in error.message


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
            "ChainlinkOracle", "InsuranceFund", "MarginGuard", *contracts.MOCKS} <= names
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
