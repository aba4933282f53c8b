"""C2, G3: the Liquidator and the MarginGuard know the factory's pools without asking the factory
(`contracts/libraries/PoolProof.sol`): a pool is the factory's deployer's CREATE address at the nonce it
answers. These tests hold that proof to the factory's own registry, `isPool`, address by address, with a
contract that answers a genuine pool's nonce (PoolImpostor) among them."""

from __future__ import annotations

import pytest
from eth_utils import keccak, to_checksum_address

from ringfence.abi import at
from ringfence.sdk import Guard, MarketParams
from tests.conftest import reverts


@pytest.fixture(scope="module")
def guard(owner, protocol) -> Guard:
    return Guard.deploy(owner, protocol.factory)


def _rlp_create_address(deployer: str, nonce: int) -> str:
    """CREATE's address, keccak(rlp([sender, nonce]))[12:], RLP-encoded here by hand (nonce < 2**64)."""
    raw = nonce.to_bytes((nonce.bit_length() + 7) // 8, "big")
    item = raw if len(raw) == 1 and raw[0] < 0x80 else bytes([0x80 + len(raw)]) + raw
    payload = bytes([0x94]) + bytes.fromhex(deployer[2:]) + item
    return to_checksum_address(keccak(bytes([0xC0 + len(payload)]) + payload)[12:])


@pytest.fixture
def candidates(protocol, market, owner, project, usdc, oracle, mallory):
    """Addresses the Liquidator may be handed as pools: the factory's two pools, and what is not a pool."""
    second = protocol.create_market(owner, asset=usdc, oracle=oracle, params=MarketParams.default(6),
                                    name="second", symbol="s2")
    deployer = at(project.MarginPoolDeployer, protocol.factory.deployer())
    genuine = int(market.pool.creationNonce())
    impostors = [owner.deploy(project.PoolImpostor, n) for n in (genuine, genuine + 1, 0, 1)]
    chunks = [deployer.chunk(i) for i in range(int(deployer.chunks()))]
    return {
        "pools": [market.pool.address, second.pool.address],
        "others": [i.address for i in impostors] + list(chunks)
        + [mallory.address, protocol.factory.address, deployer.address, market.pool.insuranceFund(),
           market.pool.vaultImplementation(), protocol.liquidator.address],
        "impostors": impostors,
    }


def test_every_pool_answers_its_deployers_create_nonce(protocol, candidates, project):
    deployer = protocol.factory.deployer()
    for pool in candidates["pools"]:
        nonce = int(at(project.MarginPool, pool).creationNonce())
        assert _rlp_create_address(str(deployer), nonce) == pool and protocol.factory.isPool(pool)


def test_the_liquidator_takes_exactly_the_factorys_pools(protocol, keeper, candidates):
    """Accepted (an empty batch runs) iff `isPool`; an impostor answering a genuine pool's nonce is
    refused by name before it is called."""
    for pool in candidates["pools"]:
        assert protocol.factory.isPool(pool)
        protocol.liquidator.liquidateBatch([(pool, [])], sender=keeper)
    for other in candidates["others"]:
        assert not protocol.factory.isPool(other)
        with reverts("UnknownPool", pool=other):
            protocol.liquidator.liquidateBatch([(other, [])], sender=keeper)
    assert [int(i.liquidateCalls()) for i in candidates["impostors"]] == [0] * len(candidates["impostors"])


def test_a_vault_naming_an_impostor_pool_is_refused_by_the_liquidator_and_the_guard(
    protocol, owner, project, keeper, candidates, guard
):
    impostor = candidates["impostors"][0]  # answers the market pool's own nonce
    stray = owner.deploy(project.PositionVault, impostor)
    with reverts("UnknownPool", pool=impostor.address):
        protocol.liquidator.liquidate(stray, sender=keeper)
    with reverts("UnknownPool", pool=impostor.address):
        guard.top_up(keeper, stray.address)
    assert int(impostor.liquidateCalls()) == 0
