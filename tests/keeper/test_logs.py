"""The keeper's raw log decoding (ringfence/keeper/logs.py) against Ape's, on the same logs: every
event the keeper indexes (the factory's ``PoolCreated``, the pools' position, liquidation, parameter
and LP request events), field by field, with the value types the index reads (checksummed address
strings, ints, bools, a struct as the list of its fields); and the word decoders against eth_abi at
the edges of their types (a negative ``int256``, the largest ``uint256``, a sign-extended ``int64``)."""

from __future__ import annotations

from typing import Any

import pytest
from ape.types import LogFilter
from eth_abi import decode, encode
from eth_utils import encode_hex, keccak, to_checksum_address
from hexbytes import HexBytes

from ringfence.chain.contracts import contract_type
from ringfence.keeper import Keeper, KeeperConfig
from ringfence.keeper.index import VaultIndex
from ringfence.keeper.logs import _word_decoder
from tests.conftest import ETH, USDC, apply_params, lp_enter, lp_exit

KEEPER_EVENTS = {"PoolCreated", *VaultIndex.POOL_EVENTS}


def _ape_logs(chain, addresses: list[str], events: list[Any], start: int, stop: int) -> list[Any]:
    """What ``Keeper._logs`` returned before: Ape's decoding, in chain order."""
    log_filter = LogFilter(addresses=addresses, events=events, start_block=start, stop_block=stop,
                           topic_filter=[[encode_hex(keccak(text=e.selector)) for e in events]])
    logs = list(chain.provider.get_contract_logs(log_filter))
    logs.sort(key=lambda lg: (int(lg.block_number), int(lg.log_index)))
    return logs


def _same_value(ours: Any, ape: Any, abi_type: str) -> bool:
    """Equal value, of the type the keeper's consumers read it as."""
    if abi_type == "address":
        return isinstance(ours, str) and ours == str(ape) and ours == to_checksum_address(ours)
    if abi_type == "bool":
        return type(ours) is bool and ours == bool(ape)
    if abi_type.startswith(("uint", "int")):
        return type(ours) is int and ours == int(ape)
    if abi_type.startswith("("):  # a struct: the list of its fields
        return isinstance(ours, list) and ours == list(ape) and all(type(v) is int for v in ours)
    return ours == ape


def test_raw_decoding_matches_apes_on_every_event_the_keeper_indexes(chain, protocol, market, params, owner, lp,
                                                                      alice, bob, keeper, usdc, set_price):
    start = int(chain.blocks.head.number) + 1
    usdc.mint(lp, 50_000 * USDC, sender=owner)
    lp_enter(market, lp, 50_000 * USDC)  # DepositRequested, DepositSettled
    lp_exit(market, lp, 10_000 * USDC)  # RedeemRequested, RedeemSettled
    vault = market.open(alice, is_long=False, size=ETH, margin=400 * USDC, nonce=1)
    market.add_margin(alice, vault, 25 * USDC)
    market.remove_margin(alice, vault, 10 * USDC)
    set_price(3_100)
    market.close(alice, vault)  # a short closed at a loss
    # test_liquidation_accounting's batch: at 2,650 the first long is liquidated partially, the
    # second fully with bad debt (a negative equityBefore).
    set_price(3_000)
    partial = market.open(alice, is_long=True, size=10 * ETH, margin=4_460 * USDC, nonce=0)
    bankrupt = market.open(bob, is_long=True, size=10 * ETH, margin=3_040 * USDC, nonce=0)
    set_price(2_650)
    protocol.liquidate_batch(keeper, [(market.pool.address, [partial, bankrupt])])
    apply_params(protocol, market.pool, params.with_(borrow_rate_wad=params.borrow_rate_wad * 2), owner)

    bot = Keeper(protocol.factory, account=keeper, lens=protocol.lens, config=KeeperConfig())
    addresses = [protocol.factory.address, market.pool.address]
    stop = int(chain.blocks.head.number)
    events = [contract_type("PoolFactory").events["PoolCreated"],
              *(contract_type("MarginPool").events[n] for n in VaultIndex.POOL_EVENTS)]
    ours = bot._logs(addresses, bot._all_decoder, 0, stop)
    ape = _ape_logs(chain, addresses, events, 0, stop)

    assert len(ours) == len(ape) > 0
    types = {e.name: {p.name: p.canonical_type for p in e.inputs} for e in events}
    for mine, theirs in zip(ours, ape, strict=True):
        assert (mine.event_name, mine.contract_address, mine.block_number, mine.log_index) == (
            theirs.event_name, str(theirs.contract_address), int(theirs.block_number), int(theirs.log_index))
        assert mine.transaction_hash == "0x" + bytes(HexBytes(theirs.transaction_hash)).hex()
        assert list(mine.event_arguments) == list(theirs.event_arguments), mine.event_name
        for name, value in mine.event_arguments.items():
            abi_type = types[mine.event_name][name]
            assert _same_value(value, theirs.event_arguments[name], abi_type), (mine.event_name, name, value)
    assert {lg.event_name for lg in ours if lg.block_number >= start} | {"PoolCreated"} == KEEPER_EVENTS
    assert any(lg.event_name == "PoolCreated" and lg.event_arguments["pool"] == market.pool.address for lg in ours)
    liquidated = [lg.event_arguments for lg in ours if lg.event_name == "Liquidated" and lg.block_number >= start]
    assert [(a["vault"], a["full"]) for a in liquidated] == [(partial, False), (bankrupt, True)]
    assert liquidated[1]["equityBefore"] < 0 < liquidated[1]["badDebt"] == -liquidated[1]["equityBefore"]
    assert liquidated[0]["priceWad"] == 2_650 * ETH and liquidated[0]["keeper"] == keeper.address


@pytest.mark.parametrize(("abi_type", "value"), [
    ("uint256", 2**256 - 1), ("uint256", 0), ("uint64", 2**64 - 1), ("int256", -(2**255)), ("int256", 2**255 - 1),
    ("int256", -1), ("int64", -(2**63)), ("int64", 12_345), ("bool", True), ("bool", False),
    ("address", "0x00000000000000000000000000000000000000fF"), ("bytes32", b"\x01" * 32),
    ("bytes4", b"\xde\xad\xbe\xef"),
])
def test_word_decoder_matches_eth_abi(abi_type, value):
    word = encode([abi_type], [value]).hex()
    (expected,) = decode([abi_type], bytes.fromhex(word))
    decoded = _word_decoder(abi_type)(word)  # type: ignore[misc]
    if abi_type == "address":
        expected = to_checksum_address(expected)
    assert decoded == expected and type(decoded) is type(expected)


def test_word_decoder_refuses_a_bool_out_of_range_and_has_none_for_dynamic_types():
    with pytest.raises(ValueError, match="bool"):
        _word_decoder("bool")("0" * 63 + "2")  # type: ignore[misc]
    assert _word_decoder("bytes") is None and _word_decoder("uint256[]") is None and _word_decoder("string") is None
