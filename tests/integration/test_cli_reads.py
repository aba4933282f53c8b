"""How many contract reads (``eth_call``) a CLI command makes: ``quote`` and ``open`` read the market,
the free vault number and the new vault's state through the Lens in a few calls, not one call per
figure. The commands run in this process (the chain of the test session) and every ``eth_call`` the
provider sends is counted."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tests.conftest import USDC

MAX_READS = 8


@pytest.fixture
def reads(monkeypatch, in_process):
    """The ``eth_call``s the provider sends, counted (the commands run on the test session's
    connection: see ``in_process``)."""
    provider = in_process
    calls: list[str] = []
    send_call = type(provider).send_call

    def counting(self, txn, **kwargs):
        calls.append(str(getattr(txn, "receiver", "")))
        return send_call(self, txn, **kwargs)

    monkeypatch.setattr(type(provider), "send_call", counting)
    return calls


def _run(deployments, *args: str) -> dict:
    from ringfence.cli import main

    result = CliRunner().invoke(main, [*args, "--deployments", str(deployments),
                                       "--account", "TEST::2", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_quote_and_open_read_the_chain_a_handful_of_times(deployments, reads, market, accounts):
    quoted = _run(deployments, "quote", "--long", "--size", "1", "--margin", "400")
    quote_reads = len(reads)
    reads.clear()
    opened = _run(deployments, "open", "--long", "--size", "1", "--margin", "400")
    open_reads = len(reads)
    print(f"quote: {quote_reads} eth_call, open: {open_reads} eth_call")
    assert quoted["notional"] == opened["notional"] == 3000 * USDC
    assert opened["vault"] == market.vault_address(accounts[2], opened["nonce"])
    assert 0 < quote_reads <= MAX_READS and 0 < open_reads <= MAX_READS, (quote_reads, open_reads)


# ==================================================================================== the SDK's reads


def test_lens_reads_agree_with_the_pool_read_one_figure_at_a_time(protocol, market, open_vault, alice, bob):
    """``Market.snapshot``, ``vault_state`` and ``quote`` through ``Lens.market`` are the figures the
    pool and the vault give one call at a time (the bankruptcy price computed by the model)."""
    from ringfence.sdk import Market

    vaults = [open_vault(alice, is_long=True, size=10**18, margin=400 * USDC),
              open_vault(bob, is_long=False, size=2 * 10**18, margin=900 * USDC)]
    lensed, plain = Market(market.pool, protocol.lens), Market(market.pool)
    assert lensed.lens is not None and plain.lens is None
    assert lensed.snapshot() == plain.snapshot()
    assert lensed.snapshot().open_interest_long == 3000 * USDC and lensed.snapshot().size_short == 2 * 10**18
    for vault in vaults:
        assert lensed.vault_state(vault) == plain.vault_state(vault) == market.state(vault)
    what_if = {"is_long": False, "size": 3 * 10**18, "margin": 2000 * USDC}
    assert lensed.quote(**what_if) == plain.quote(**what_if)


def test_lens_reads_name_the_oracle_s_error_when_it_refuses_the_price(protocol, market, open_vault, alice,
                                                                       chain):
    """A stale price: the snapshot still reads (no price, no marked assets), the vault's state and a
    quote at the oracle's price raise the oracle's error, a what-if price still quotes."""
    from ringfence.errors import RingfenceError
    from ringfence.sdk import Market
    from tests.conftest import advance_to

    vault = open_vault(alice)
    advance_to(chain, chain.blocks.head.timestamp + 2 * 3600)
    lensed, plain = Market(market.pool, protocol.lens), Market(market.pool)
    snap = lensed.snapshot()
    assert snap == plain.snapshot()
    assert snap.price_wad is None and snap.total_assets is None and snap.liquidity > 0
    for call in (lambda m: m.vault_state(vault), lambda m: m.quote(is_long=True, size=10**18, margin=400 * USDC)):
        with pytest.raises(RingfenceError) as info:
            call(lensed)
        assert info.value.name == "StalePrice"
    at_price = lensed.quote(is_long=True, size=10**18, margin=400 * USDC, price_wad=2000 * 10**18)
    assert at_price.notional == 2000 * USDC


def test_next_free_nonce_skips_open_vaults_across_lens_batches(protocol, market, open_vault, alice, bob):
    from ringfence.sdk import Market

    lensed, plain = Market(market.pool, protocol.lens), Market(market.pool)
    assert lensed.next_free_nonce(alice) == plain.next_free_nonce(alice) == 0
    for nonce in range(17):
        open_vault(alice, size=10**17, margin=40 * USDC, nonce=nonce)
    market.close(alice, market.vault_address(alice, 3))
    assert lensed.next_free_nonce(alice) == plain.next_free_nonce(alice) == 3
    open_vault(alice, size=10**17, margin=40 * USDC, nonce=3)
    assert lensed.next_free_nonce(alice) == plain.next_free_nonce(alice) == 17  # the second batch
    assert lensed.next_free_nonce(alice, limit=17) is None and plain.next_free_nonce(alice, limit=17) is None
    quote, nonce = lensed.quote_open(alice, is_long=True, size=10**18, margin=400 * USDC)
    assert nonce == 17 and quote == lensed.quote(is_long=True, size=10**18, margin=400 * USDC)
    assert lensed.quote_open(bob, is_long=True, size=10**18, margin=400 * USDC)[1] == 0
    assert [lensed.vault_address(alice, n) for n in (0, 17)] == [str(market.pool.vaultAddress(alice, n))
                                                                  for n in (0, 17)]
