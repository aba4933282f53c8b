"""The keeper's index of MarginGuard policies (``ringfence.keeper.policies``), chain-free: which vaults are
top-up candidates at a price (the owner's live policy, the model's top-up price reached), in what order,
and what the guard's events change."""

from __future__ import annotations

from ringfence import model
from ringfence.keeper.index import VaultIndex
from ringfence.keeper.policies import PolicyIndex

WAD = 10**18
USDC = 10**6
SCALE = 10**30  # size WAD × price WAD / SCALE -> 6-decimal units
POOL = "0x" + "aa" * 20
ALICE = "0x" + "a1" * 20
BOB = "0x" + "b0" * 20
T0 = 1_000_000
MM = WAD // 20


def _vault(n: int) -> str:
    return f"0x{n:040x}"


def _policy(**kw) -> dict:
    values = dict(triggerHealthWad=13 * WAD // 10, targetHealthWad=15 * WAD // 10, expiry=0, fee=2 * USDC,
                  maxPerTopUp=500 * USDC, budget=2_000 * USDC, reserveId=0)
    values.update(kw)
    return values


def _world(margins: dict[int, tuple[bool, int]]) -> VaultIndex:
    """A market at entry 3,000 with 1-unit positions: vault n -> (is_long, margin in USDC)."""
    index = VaultIndex(horizon_ts=T0 + 3_600)
    index.add_market(POOL, scale=SCALE, mm_wad=MM, borrow_rate_wad=10**9, fee_index=WAD, fee_index_ts=T0)
    for n, (is_long, margin) in margins.items():
        index.apply(POOL, "PositionOpened", {
            "vault": _vault(n), "owner": ALICE, "isLong": is_long, "size": WAD, "entryPriceWad": 3_000 * WAD,
            "margin": margin * USDC, "maxProfit": 5 * margin * USDC, "feeBaseWad": WAD})
    index.commit()
    return index


def _key(index: VaultIndex, n: int, trigger: int = 13 * WAD // 10) -> int:
    market = index.markets[POOL]
    record = market.vaults[_vault(n)]
    return model.top_up_price(record.position(), market.fees_at(record, market.horizon_fee_index), SCALE, MM,
                              trigger)


def test_candidates_are_the_vaults_past_their_trigger_price_deepest_first():
    index = _world({1: (True, 400), 2: (True, 300), 3: (True, 1_500), 4: (False, 400), 5: (False, 300),
                    6: (True, 350)})
    policies = PolicyIndex()
    for n in range(1, 7):
        policies.apply("PolicySet", {"owner": ALICE, "vault": _vault(n), "policy": list(_policy().values())})
    keys = {n: _key(index, n) for n in range(1, 7)}
    price = (keys[1] + keys[6]) // 2  # between the trigger prices of vaults 6 and 1
    assert keys[2] > keys[6] > price > keys[1] > keys[3]  # more margin: a lower top-up price
    found = policies.candidates(index.markets[POOL], price, T0, index.owners)
    assert [c.vault for c in found] == [_vault(2), _vault(6)]
    assert [c.trigger_price_wad for c in found] == [keys[2], keys[6]]
    # at exactly a long's top-up price it is a candidate (the model may be a unit off the chain's health)
    assert _vault(1) in [c.vault for c in policies.candidates(index.markets[POOL], keys[1], T0, index.owners)]
    # shorts: candidates above their top-up price, the deepest (least margin) first; no long is then
    high = max(keys[4], keys[5]) + 1
    assert keys[5] < keys[4]
    assert [c.vault for c in policies.candidates(index.markets[POOL], high, T0, index.owners)] == [
        _vault(5), _vault(4)]


def test_only_the_owners_live_policy_acts():
    index = _world({1: (True, 300), 2: (True, 300), 3: (True, 300), 4: (True, 300), 5: (True, 300)})
    policies = PolicyIndex()
    policies.apply("PolicySet", {"owner": BOB, "vault": _vault(1), "policy": list(_policy().values())})  # not owner
    policies.apply("PolicySet", {"owner": ALICE, "vault": _vault(2), "policy": list(_policy(expiry=T0).values())})
    policies.apply("PolicySet", {"owner": ALICE, "vault": _vault(3), "policy": list(_policy().values())})
    policies.apply("PolicyCancelled", {"owner": ALICE, "vault": _vault(3)})
    policies.apply("PolicySet", {"owner": ALICE, "vault": _vault(4), "policy": list(_policy(budget=4 * USDC).values())})
    policies.apply("PolicySet", {"owner": ALICE, "vault": _vault(5), "policy": list(_policy(expiry=T0 + 1).values())})
    price = 2_000 * WAD  # every one of them far below its trigger
    market = index.markets[POOL]
    assert [c.vault for c in policies.candidates(market, price, T0, index.owners)] == [_vault(4), _vault(5)]
    # the budget left comes from ToppedUp: 4 USDC -> 2 USDC, no more than the fee: spent
    policies.apply("ToppedUp", {"owner": ALICE, "vault": _vault(4), "budgetAfter": 2 * USDC})
    assert [c.vault for c in policies.candidates(market, price, T0, index.owners)] == [_vault(5)]
    assert policies.candidates(market, price, T0 + 1, index.owners) == []  # vault 5 expired from its second
    # a closed vault drops out with its position
    index.apply(POOL, "PositionClosed", {"vault": _vault(5)})
    assert policies.candidates(market, price, T0, index.owners) == []
