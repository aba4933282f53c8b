"""The Liquidator acts only on the factory's pools, on both of its entry points: a vault that names a pool
the factory did not create is refused before anything is called on that pool."""

from __future__ import annotations

from tests.conftest import reverts


def test_liquidate_refuses_a_vault_of_an_unknown_pool(protocol, owner, keeper, mallory, project):
    # A genuine PositionVault whose pool is not one of the factory's (here an account).
    stray = owner.deploy(project.PositionVault, mallory)
    assert stray.pool() == mallory.address
    with reverts("UnknownPool", pool=mallory):
        protocol.liquidator.liquidate(stray, sender=keeper)


def test_batch_refuses_an_unknown_pool_after_a_known_one(protocol, market, keeper, mallory):
    # The check runs for every batch entry, not only the first.
    with reverts("UnknownPool", pool=mallory):
        protocol.liquidator.liquidateBatch([(market.pool, []), (mallory, [])], sender=keeper)
