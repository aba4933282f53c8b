"""Keeper fixtures: a fleet of hundreds of vaults in two markets (mixed sides, leverage and entry
prices), opened in batches through the test-only BatchOpener (tests/keeper/helpers), and helpers to
read what happened on chain. The root tests/conftest.py fixtures (protocol, market, feed, accounts…)
apply here too."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from typing import Any

import pytest
from ape.types import LogFilter
from eth_utils import encode_hex, keccak

from ringfence.keeper import Keeper, KeeperConfig
from ringfence.sdk import SECONDS_PER_YEAR, Market, MarketParams, deploy_oracle
from tests.conftest import ETH, FEED_DECIMALS, USDC, feed_answer, lp_enter
from tests.keeper.helpers.build import contract_container

WAD = 10**18
FLEET_SEED = 20_26
OPENS_PER_TX = 75


@dataclass
class FleetMarket:
    market: Market
    feed: Any
    vaults: list[str] = field(default_factory=list)
    longs: list[str] = field(default_factory=list)
    shorts: list[str] = field(default_factory=list)

    @property
    def pool(self) -> Any:
        return self.market.pool


@dataclass
class Fleet:
    a: FleetMarket  # the session market (ETH/USD at 3,000), 200 vaults, borrow 10 %/year
    b: FleetMarket  # a second market (its own feed at 2,000), 100 vaults, borrow 100 %/year
    opener: Any
    block: int  # head after the fleet was opened

    @property
    def markets(self) -> list[FleetMarket]:
        return [self.a, self.b]

    @property
    def vaults(self) -> list[str]:
        return self.a.vaults + self.b.vaults


def events(chain, contract: Any, name: str, start_block: int) -> list[Any]:
    """Decoded ``name`` events of ``contract`` from ``start_block`` to the head, in order."""
    abi = contract.contract_type.events[name] if hasattr(contract, "contract_type") else contract
    log_filter = LogFilter(addresses=[contract.address], events=[abi],
                           topic_filter=[[encode_hex(keccak(text=abi.selector))]],
                           start_block=start_block, stop_block=chain.blocks.head.number)
    return list(chain.provider.get_contract_logs(log_filter))


def lens_flags(lens: Any, pool: Any, vaults: list[str], chunk: int = 150) -> dict[str, bool]:
    """Lens.liquidatable over every vault, by vault."""
    flags: dict[str, bool] = {}
    for i in range(0, len(vaults), chunk):
        part = vaults[i:i + chunk]
        flags.update(zip(part, (bool(f) for f in lens.liquidatable(pool, part)), strict=True))
    return flags


def underwater(lens: Any, fleet: Fleet) -> dict[str, set[str]]:
    """Per pool address: the vaults the Lens says are liquidatable now."""
    return {fm.pool.address: {v for v, f in lens_flags(lens, fm.pool, fm.vaults).items() if f}
            for fm in fleet.markets}


def positions(lens: Any, fleet: Fleet, chunk: int = 150) -> dict[str, tuple]:
    """Every vault's stored position as the Lens reads it: (status, side, size, entry, margin)."""
    out: dict[str, tuple] = {}
    for fm in fleet.markets:
        for i in range(0, len(fm.vaults), chunk):
            for view in lens.vaults(fm.pool, fm.vaults[i:i + chunk]):
                out[str(view.vault)] = (int(view.status), bool(view.isLong), int(view.size),
                                        int(view.entryPriceWad), int(view.margin))
    return out


def _open_fleet(opener: Any, fm: FleetMarket, owner: Any, set_feed, rng: random.Random,
                count: int, entries: list[int]) -> None:
    params = fm.market.params()
    opens: list[tuple[bool, int, int]] = []
    per_round = count // len(entries)
    for n, entry in enumerate(entries):
        set_feed(fm.feed, entry)
        round_count = per_round if n < len(entries) - 1 else count - per_round * (len(entries) - 1)
        opens = []
        for i in range(round_count):
            is_long = i % 2 == 0
            size = rng.randint(20, 300) * ETH // 100  # 0.2 to 3 units
            notional = size * entry // ETH * USDC
            leverage_tenths = rng.randint(15, 95)  # 1.5x to 9.5x
            fee = notional * params.open_fee_wad // WAD + 1
            margin = notional * 10 // leverage_tenths + fee
            opens.append((is_long, size, margin))
        for i in range(0, len(opens), OPENS_PER_TX):
            part = opens[i:i + OPENS_PER_TX]
            nonce = int(opener.nextNonce())
            opener.open(fm.pool, part, sender=owner)
            for j, (is_long, _, _) in enumerate(part):
                vault = str(fm.pool.vaultAddress(opener.address, nonce + j))
                fm.vaults.append(vault)
                (fm.longs if is_long else fm.shorts).append(vault)


@pytest.fixture(scope="module")
def second_feed(owner, project):
    return owner.deploy(project.MockAggregator, FEED_DECIMALS, feed_answer(2_000))


@pytest.fixture(scope="module")
def second_market(protocol, owner, usdc, second_feed, lp) -> Market:
    params = MarketParams.default(decimals=6).with_(borrow_rate_wad=WAD // SECONDS_PER_YEAR)  # 100 %/year
    oracle = deploy_oracle(owner, second_feed, max_age=3600)
    market = protocol.create_market(owner, asset=usdc, oracle=oracle, params=params,
                                    name="Ringfence XYZ/USD LP", symbol="rfXYZ")
    usdc.mint(lp, 20_000_000 * USDC, sender=owner)
    market.deposit(lp, 20_000_000 * USDC)
    return market


@pytest.fixture(scope="module")
def fleet(chain, owner, usdc, market, feed, second_market, second_feed, lp, keeper, mallory, alice, bob,
          guardian) -> Fleet:
    """300 vaults: 200 in the session market (entries 2,900 / 3,000 / 3,100), 100 in the second
    (entries 1,950 / 2,050); half long, half short; leverage 1.5x-9.5x; sizes 0.2-3. (It takes every
    session account fixture the tests use, so none is created after it: Ape would rebuild it.)"""
    usdc.mint(lp, 20_000_000 * USDC, sender=owner)
    lp_enter(market, lp, 20_000_000 * USDC)  # the pool has shares: request, next round, settle
    opener = owner.deploy(contract_container())
    usdc.mint(opener, 20_000_000 * USDC, sender=owner)

    def set_feed(which, price):
        which.setAnswer(feed_answer(price), sender=owner)

    rng = random.Random(FLEET_SEED)
    a = FleetMarket(market, feed)
    b = FleetMarket(second_market, second_feed)
    _open_fleet(opener, a, owner, set_feed, rng, 200, [2_900, 3_000, 3_100])
    _open_fleet(opener, b, owner, set_feed, rng, 100, [1_950, 2_050])
    set_feed(feed, 3_000)
    set_feed(second_feed, 2_000)
    return Fleet(a=a, b=b, opener=opener, block=int(chain.blocks.head.number))


@pytest.fixture
def make_keeper(protocol):
    """Builds a Keeper over the session protocol (catching up from block 0)."""

    def _make(account: Any = None, **config: Any) -> Keeper:
        name = config.pop("name", "keeper")
        return Keeper(protocol.factory, account=account, lens=protocol.lens, start_block=0,
                      config=KeeperConfig(**config), name=name)

    return _make


@pytest.fixture
def keeper_logs(caplog):
    caplog.set_level(logging.INFO, logger="ringfence.keeper")
    return caplog


@pytest.fixture
def set_feed(owner):
    def _set(which, price_usd):
        which.setAnswer(feed_answer(price_usd), sender=owner)

    return _set
