"""The two-slot position record and the owner in the vault's code (Gas v2, steps 1 and 2; known-issues 18):
the vault's address and code against OpenZeppelin's own ``Clones`` (a test-only probe compiled here from
``node_modules``), owner spoofing (a look-alike clone made elsewhere, a vault acted on before it exists),
the stale second slot of a closed record (read by nothing: donations, claim, re-open), the view of a
closed record, and the narrow fields at their limits (a margin of ``2**88 - 1`` liquidated)."""

from __future__ import annotations

import json
import posixpath
import re
import subprocess
from functools import cache
from pathlib import Path

import pytest
from eth_utils import keccak, to_canonical_address, to_checksum_address

from ringfence import model
from ringfence.market_reads import predict_vault_address
from tests.conftest import ETH, USDC, apply_params, reverts

WAD = 10**18
ROOT = Path(__file__).resolve().parents[2]
MAX_UINT88 = 2**88 - 1

# TEST ONLY: OpenZeppelin's Clones with immutable arguments, as the pool's vaults would be made by it.
PROBE_SOURCE = """// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;
import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";
contract CloneProbe {
    function predict(address implementation, address owner, bytes32 salt, address deployer)
        external pure returns (address)
    {
        return Clones.predictDeterministicAddressWithImmutableArgs(implementation, abi.encodePacked(owner), salt,
            deployer);
    }
    function args(address instance) external view returns (bytes memory) {
        return Clones.fetchCloneArgs(instance);
    }
    function cloneFor(address implementation, address owner, bytes32 salt) external returns (address) {
        return Clones.cloneDeterministicWithImmutableArgs(implementation, abi.encodePacked(owner), salt);
    }
}
"""


def _with_imports(sources: dict[str, dict[str, str]], unit: str) -> None:
    """Adds the OpenZeppelin source unit ``unit`` and everything it imports (relative imports resolved)."""
    if unit in sources:
        return
    text = (ROOT / "node_modules" / unit).read_text()
    sources[unit] = {"content": text}
    for path in re.findall(r'^import \{[^}]*\} from "([^"]+)";', text, re.MULTILINE):
        target = path if path.startswith("@") else posixpath.normpath(posixpath.join(posixpath.dirname(unit), path))
        _with_imports(sources, target)


@cache
def _probe_artifact() -> dict:
    sources: dict[str, dict[str, str]] = {"CloneProbe.sol": {"content": PROBE_SOURCE}}
    _with_imports(sources, "@openzeppelin/contracts/proxy/Clones.sol")
    request = {
        "language": "Solidity",
        "sources": sources,
        "settings": {
            "optimizer": {"enabled": True, "runs": 200},
            "evmVersion": "prague",
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
        },
    }
    out = subprocess.run([str(ROOT / ".solcx" / "solc-v0.8.37"), "--standard-json"], input=json.dumps(request),
                         capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    errors = [e for e in result.get("errors", []) if e.get("severity") == "error"]
    assert not errors, errors
    contract = result["contracts"]["CloneProbe.sol"]["CloneProbe"]
    return {"abi": contract["abi"], "bytecode": "0x" + contract["evm"]["bytecode"]["object"],
            "runtime": "0x" + contract["evm"]["deployedBytecode"]["object"]}


@pytest.fixture
def probe(owner):
    from ape.contracts import ContractContainer
    from ethpm_types import ContractType

    data = _probe_artifact()
    container = ContractContainer(ContractType.model_validate({
        "contractName": "CloneProbe", "abi": data["abi"],
        "deploymentBytecode": {"bytecode": data["bytecode"]},
        "runtimeBytecode": {"bytecode": data["runtime"]},
    }))
    return owner.deploy(container)


def _salt(owner: str, nonce: int) -> bytes:
    return ((int(owner, 16) << 96) | nonce).to_bytes(32, "big")


def _clone_runtime(implementation: str, owner: str) -> bytes:
    """EIP-1167 with one immutable argument, the owner: OpenZeppelin's ``_cloneCodeWithImmutableArgs`` past
    its 10-byte constructor."""
    return (bytes.fromhex("363d3d373d3d3d363d73") + to_canonical_address(implementation)
            + bytes.fromhex("5af43d82803e903d91602b57fd5bf3") + to_canonical_address(owner))


def _word(chain, address: str, slot: int) -> int:
    return int.from_bytes(bytes(chain.provider.get_storage(address, slot)), "big")


def _record_slot(chain, pool, vault: str) -> int:
    """Slot 0 of ``vault``'s record in ``_positions``, found by its packed content (size | entry << 120 |
    isLong << 240 | status << 248) among the mapping's candidate base slots."""
    p = pool.position(vault)
    expected = int(p.size) | int(p.entryPriceWad) << 120 | int(p.isLong) << 240 | int(p.status) << 248
    for base in range(64):
        slot = int.from_bytes(keccak(bytes(12) + to_canonical_address(vault) + base.to_bytes(32, "big")), "big")
        if _word(chain, pool.address, slot) == expected:
            return slot
    raise AssertionError("the record of the vault is not in any of the first 64 mappings")


def _slot1(p) -> int:
    return int(p.margin) | int(p.maxProfit) << 88 | int(p.feeBaseWad) << 184


def _liquidated_with_credit(protocol, market, pool, open_vault, keeper, set_price, owner, params, chain):
    """Alice's vault 0 (0.1 ETH long, 40 USDC), fully liquidated with a credit (a minimum position of 250
    USDC: what a partial liquidation would leave is below it), and its record's slots before and after."""
    apply_params(protocol, pool, params.with_(min_notional=250 * USDC), owner)
    vault = open_vault(size=ETH // 10, margin=40 * USDC)
    slot = _record_slot(chain, pool, vault)
    before = (_word(chain, pool.address, slot), _word(chain, pool.address, slot + 1))
    assert before[1] == _slot1(pool.position(vault)) != 0
    set_price(market.state(vault).liquidation_price_wad / WAD - 1)
    event = protocol.liquidator.liquidate(vault, sender=keeper).decode_logs(pool.Liquidated)[0]
    assert event.full and event.ownerCredit > 0
    return vault, slot, before, event


# ---------------------------------------------------------------- the vault's address and code


@pytest.mark.parametrize("nonce", [0, 1, 2**96 - 1])
def test_vault_address_is_openzeppelins_clone_with_the_owner_as_argument(pool, probe, alice, nonce):
    """``_vaultAddress`` (assembly) = OpenZeppelin's ``predictDeterministicAddressWithImmutableArgs`` =
    ``predict_vault_address``, for owners with every high or low bit set and nonces at both ends."""
    implementation = str(pool.vaultImplementation())
    for who in (alice.address, "0x" + "00" * 19 + "01", "0x" + "ff" * 20, "0x8" + "0" * 39, "0x" + "0" * 39 + "8"):
        owner = to_checksum_address(who)
        on_chain = pool.vaultAddress(owner, nonce)
        assert on_chain == probe.predict(implementation, owner, _salt(owner, nonce), pool.address)
        assert on_chain == predict_vault_address(pool.address, implementation, owner, nonce)


def test_vault_code_is_the_openzeppelin_clone_and_its_argument_is_the_owner(pool, probe, open_vault, alice, chain):
    """The created vault: at the predicted address, its code byte for byte OpenZeppelin's clone with the owner
    as its argument (``fetchCloneArgs`` reads alice), which ``position().owner`` returns."""
    vault = open_vault(alice, nonce=2**96 - 1)
    assert vault == pool.vaultAddress(alice, 2**96 - 1)
    assert bytes(chain.provider.get_code(vault)) == _clone_runtime(str(pool.vaultImplementation()), alice.address)
    assert bytes(probe.args(vault)) == to_canonical_address(alice.address)
    assert pool.position(vault).owner == alice.address


# ---------------------------------------------------------------- owner spoofing


def test_a_lookalike_clone_made_elsewhere_is_no_vault_of_the_pool(pool, probe, usdc, mallory, owner, chain, keeper):
    """A clone of the pool's own vault implementation with mallory as its argument, made by another deployer:
    its code is a vault's (``_ownerOf`` would read mallory), but it has no record, so every owner-checked
    call refuses it by name and the pool views it as status None with no owner."""
    implementation = str(pool.vaultImplementation())
    salt = _salt(mallory.address, 0)
    fake = probe.predict(implementation, mallory, salt, probe.address)
    probe.cloneFor(implementation, mallory, salt, sender=mallory)
    assert bytes(chain.provider.get_code(fake)) == _clone_runtime(implementation, mallory.address)
    assert fake != pool.vaultAddress(mallory, 0)  # the deployer is in the address
    usdc.mint(fake, 100 * USDC, sender=owner)
    with reverts("UnknownVault", vault=fake):
        pool.recoverDonation(fake, usdc, mallory, sender=mallory)
    with reverts("NothingToClaim", vault=fake):
        pool.claim(fake, mallory, sender=mallory)
    with reverts("UnknownVault", vault=fake):
        pool.closePosition(fake, mallory, 0, sender=mallory)
    with reverts("UnknownVault", vault=fake):
        pool.removeMargin(fake, 1, mallory, sender=mallory)
    with reverts("UnknownVault", vault=fake):
        pool.addMargin(fake, 1, sender=mallory)
    with reverts("UnknownVault", vault=fake):
        pool.liquidate([fake], keeper, True, sender=keeper)
    view = pool.position(fake)
    assert view.status == 0 and int(view.owner, 16) == 0
    assert int(usdc.balanceOf(fake)) == 100 * USDC


def test_a_vault_acted_on_before_it_exists_is_refused_and_its_donations_are_its_owners(
    pool, open_vault, alice, bob, mallory, usdc, owner, chain
):
    """Tokens and ETH sent to alice's next vault before it exists: every call on it is refused by name (no
    record), nobody can block its creation (only the pool can CREATE2 there), and once opened only alice
    recovers the tokens, exactly the donation (the margin stays)."""
    vault = pool.vaultAddress(alice, 5)
    usdc.mint(vault, 7 * USDC, sender=owner)
    mallory.transfer(vault, 1)
    assert len(bytes(chain.provider.get_code(vault))) == 0
    with reverts("UnknownVault", vault=vault):
        pool.addMargin(vault, 1, sender=mallory)
    with reverts("UnknownVault", vault=vault):
        pool.recoverDonation(vault, usdc, mallory, sender=mallory)
    with reverts("NothingToClaim", vault=vault):
        pool.claim(vault, mallory, sender=mallory)
    assert open_vault(alice, nonce=5, margin=400 * USDC) == vault
    with reverts("NotVaultOwner", caller=bob, owner=alice):
        pool.recoverDonation(vault, usdc, bob, sender=bob)
    before = int(usdc.balanceOf(alice))
    pool.recoverDonation(vault, usdc, alice, sender=alice)
    assert int(usdc.balanceOf(alice)) == before + 7 * USDC
    assert int(usdc.balanceOf(vault)) == 400 * USDC == pool.position(vault).margin


# ---------------------------------------------------------------- the closed record


def test_full_liquidation_writes_slot_0_only_and_the_closed_view_maps_the_credit(
    protocol, market, pool, open_vault, alice, keeper, set_price, owner, params, chain
):
    """Known-issues 18 / gas.md: a full liquidation writes the record's first slot only (status and credit in
    the size field, the entry price and side kept); the second slot stays as it was. ``position()`` shows
    size 0, margin = credit = ``claimable``, cap 0, and the owner."""
    vault, slot, (slot0, slot1), event = _liquidated_with_credit(protocol, market, pool, open_vault, keeper,
                                                                 set_price, owner, params, chain)
    entry_side = slot0 & (((1 << 136) - 1) << 120) & ~(0xFF << 248)
    assert _word(chain, pool.address, slot) == event.ownerCredit | entry_side | 2 << 248
    assert _word(chain, pool.address, slot + 1) == slot1  # stale: margin, cap and fee base of the old position
    view = pool.position(vault)
    assert (view.status, view.size, view.margin, view.maxProfit, view.owner) == (2, 0, event.ownerCredit, 0,
                                                                                 alice.address)
    assert pool.claimable(vault) == event.ownerCredit


def test_stale_second_slot_is_read_neither_by_recover_donation_nor_by_claim(
    protocol, market, pool, open_vault, alice, bob, keeper, set_price, owner, params, usdc, chain
):
    """After the liquidation the stale margin (40 USDC) is larger than a 7 USDC donation: recoverDonation
    returns the vault's whole balance (reading the stale margin would underflow), claim pays the credit
    only to the owner, once."""
    vault, _, _, event = _liquidated_with_credit(protocol, market, pool, open_vault, keeper, set_price, owner,
                                                 params, chain)
    assert int(usdc.balanceOf(vault)) == 0
    usdc.mint(vault, 7 * USDC, sender=owner)
    before = int(usdc.balanceOf(alice))
    pool.recoverDonation(vault, usdc, alice, sender=alice)
    assert int(usdc.balanceOf(alice)) == before + 7 * USDC and int(usdc.balanceOf(vault)) == 0
    with reverts("NotVaultOwner", caller=bob, owner=alice):
        pool.claim(vault, bob, sender=bob)
    total = int(pool.totalClaimable())
    pool.claim(vault, alice, sender=alice)
    assert int(usdc.balanceOf(alice)) == before + 7 * USDC + event.ownerCredit
    assert pool.totalClaimable() == total - event.ownerCredit and pool.claimable(vault) == 0
    view = pool.position(vault)
    assert (view.status, view.size, view.margin, view.maxProfit) == (2, 0, 0, 0)
    with reverts("NothingToClaim", vault=vault):
        pool.claim(vault, alice, sender=alice)


@pytest.mark.parametrize("claim_first", [False, True])
def test_reopen_after_a_credit_rewrites_both_slots_and_prices_the_new_position_only(
    protocol, market, pool, open_vault, alice, keeper, set_price, owner, params, usdc, chain, claim_first
):
    """Re-opening the liquidated vault (the other side, a larger margin), with its credit unclaimed (paid
    first, once) or claimed before: the record's two slots are the new position's, and its close settles
    with the new fields only (PnL of the model on them)."""
    vault, slot, _, event = _liquidated_with_credit(protocol, market, pool, open_vault, keeper, set_price, owner,
                                                    params, chain)
    if claim_first:
        pool.claim(vault, alice, sender=alice)
    total, before = int(pool.totalClaimable()), int(usdc.balanceOf(alice))
    receipt = pool.openPosition(0, False, ETH // 10, 90 * USDC, 0, sender=alice)
    claimed = receipt.decode_logs(pool.Claimed)
    assert [c.amount for c in claimed] == ([] if claim_first else [event.ownerCredit])
    assert int(usdc.balanceOf(alice)) == before - 90 * USDC + (0 if claim_first else event.ownerCredit)
    assert pool.totalClaimable() == total - (0 if claim_first else event.ownerCredit) == 0
    [opened] = receipt.decode_logs(pool.PositionOpened)
    p = pool.position(vault)
    assert (p.status, p.isLong, p.size, p.entryPriceWad, p.margin, p.maxProfit, p.feeBaseWad) == (
        1, False, ETH // 10, opened.entryPriceWad, 90 * USDC, opened.maxProfit, opened.feeBaseWad)
    scale = int(pool.priceScale())
    assert opened.maxProfit == model.profit_cap_down(90 * USDC, ETH // 10, opened.entryPriceWad, scale,
                                                     int(pool.params().maxProfitWad))
    assert _word(chain, pool.address, slot + 1) == _slot1(p)
    assert _word(chain, pool.address, slot) == ETH // 10 | opened.entryPriceWad << 120 | 1 << 248
    set_price(2000)
    [closed] = pool.closePosition(vault, alice, 0, sender=alice).decode_logs(pool.PositionClosed)
    assert closed.pnl == model.pnl_down(False, ETH // 10, opened.entryPriceWad, closed.priceWad, scale,
                                        opened.maxProfit)
    assert closed.payout == 90 * USDC + closed.pnl - closed.fees


# ---------------------------------------------------------------- the narrow fields at their limits


def test_a_margin_of_2_88_minus_1_is_liquidated_fully_and_its_credit_claimed(
    protocol, market, pool, alice, keeper, owner, params, usdc, feed, chain
):
    """The largest margin the record holds, on a short pumped to its liquidation price (3e20 USD per ETH):
    the liquidation cannot revert on a cast (no position stuck), the credit fits the size field, is what the
    model says, and is claimed whole."""
    usdc.mint(alice, MAX_UINT88, sender=owner)
    vault = market.open(alice, is_long=False, size=ETH, margin=MAX_UINT88, nonce=9)
    # A minimum margin of 2**88 - 1 makes any partial liquidation leave too little: the full path runs.
    apply_params(protocol, pool, params.with_(min_margin=MAX_UINT88), owner)
    liquidation = market.state(vault).liquidation_price_wad
    feed.setAnswer(liquidation // 10**10 + 1, sender=owner)
    price = int(market.price())
    fund = int(usdc.balanceOf(pool.insuranceFund()))
    before = model.Position.from_chain(pool.position(vault))
    receipt = protocol.liquidator.liquidate(vault, sender=keeper)
    [event] = receipt.decode_logs(pool.Liquidated)
    fee_index = int(pool.currentFeeIndex(block_identifier=receipt.block_number))
    expected = model.liquidate_one(params.with_(min_margin=MAX_UINT88, asset_decimals=6), before, price, fee_index, fund)
    assert expected is not None and expected.full and event.full
    assert event.ownerCredit == expected.owner_credit > 2**80
    assert pool.claimable(vault) == event.ownerCredit and pool.position(vault).margin == event.ownerCredit
    wallet = int(usdc.balanceOf(alice))
    pool.claim(vault, alice, sender=alice)
    assert int(usdc.balanceOf(alice)) == wallet + event.ownerCredit


def test_the_reference_model_refuses_a_margin_past_88_bits_as_the_pool_does(params):
    """The model says it raises SafeCastOverflowedUintDowncast "as the pool does"; the pool's bound is 88 bits
    (tests/integration/test_positions.py::test_position_fields_a_margin_past_88_bits_*)."""
    position = model.Position(size=ETH, entry_price_wad=3000 * WAD, margin=MAX_UINT88, max_profit=0,
                              fee_base_wad=WAD, is_long=True)
    with pytest.raises(model.SafeCastOverflowedUintDowncast):
        model.add_margin(position, 1)
    with pytest.raises(model.SafeCastOverflowedUintDowncast):
        model.open_position(params.with_(max_position_notional=2**127, max_open_interest=2**127, asset_decimals=6),
                            is_long=True,
                            size=ETH, price_wad=3000 * WAD, margin=MAX_UINT88 + 1, fee_index_wad=WAD,
                            open_interest=0, free_liquidity=2**127)
