"""``Lens.vaults``' calldata and answer, written and read word by word (ringfence/keeper/reread.py),
against eth_abi: the same bytes and the same values, booleans as ``bool`` and a negative equity
included; an answer eth_abi refuses is refused."""

from __future__ import annotations

import random

import pytest
from eth_abi import decode, encode
from eth_abi.exceptions import DecodingError
from eth_utils import to_checksum_address

from ringfence.keeper.reread import _SELECTOR, _VIEW_TYPE, VIEW_FIELDS, decode_views, encode_call


def _views(rng: random.Random, count: int) -> list[tuple]:
    views = []
    for i in range(count):
        equity = -rng.getrandbits(100) if i % 3 == 0 else rng.getrandbits(254)
        views.append((rng.getrandbits(160), rng.getrandbits(160), rng.randrange(4), i % 2 == 0, rng.getrandbits(90),
                      rng.getrandbits(75), rng.getrandbits(60), rng.getrandbits(60), rng.getrandbits(40), equity,
                      rng.getrandbits(64), 2**256 - 1 if i == 1 else rng.getrandbits(80), i % 5 == 0))
    return views


@pytest.mark.parametrize("count", [0, 1, 7, 250])
def test_decode_views_matches_eth_abi(count):
    views = _views(random.Random(count), count)
    raw = encode([_VIEW_TYPE], [views])
    (expected,) = decode([_VIEW_TYPE], raw)
    decoded = decode_views(raw)
    assert decoded == list(expected) == views
    assert all(len(v) == len(VIEW_FIELDS) and type(v[3]) is bool and type(v[12]) is bool for v in decoded)
    assert count < 3 or min(v[9] for v in decoded) < 0


def test_decode_views_refuses_what_eth_abi_refuses():
    raw = bytearray(encode([_VIEW_TYPE], [_views(random.Random(1), 2)]))
    raw[64 + 32 * 3 + 31] = 2  # the first view's isLong: 2 is no bool
    with pytest.raises(DecodingError):
        decode_views(bytes(raw))
    with pytest.raises(DecodingError):
        decode_views(bytes(raw[:-32]))  # one word short


@pytest.mark.parametrize("count", [0, 1, 250])
def test_encode_call_matches_eth_abi(count):
    rng = random.Random(count)
    pool = to_checksum_address(rng.getrandbits(160).to_bytes(20, "big"))
    vaults = [to_checksum_address(rng.getrandbits(160).to_bytes(20, "big")) for _ in range(count)]
    vaults[:1] = [v.lower() for v in vaults[:1]]  # the index may hold lower-case hex too
    assert encode_call(pool, vaults) == _SELECTOR + encode(["address", "address[]"], [pool, vaults])
    with pytest.raises(ValueError, match="not an address"):
        encode_call(pool, ["0x1234"])
