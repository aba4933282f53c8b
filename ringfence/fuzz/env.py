"""The world a fuzz run acts in: the protocol, two markets on one token, actors with funds (traders, an
LP, a keeper, and an attacker who provides liquidity and liquidates for keeper pay), and the factory's
MarginGuard (automated top-ups: the traders' policies and reserves, executed by the keeper or the
attacker)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ringfence.sdk import MIN_DELAY, Market, MarketParams, Protocol, deploy_oracle

USDC = 10**6
FEED_DECIMALS = 8
START_PRICE = 3000
LP_FUNDS = 2_000_000 * USDC
TRADER_FUNDS = 1_000_000 * USDC
ATTACKER_FUNDS = 1_000_000 * USDC
MAX_AGE = 3600


@dataclass
class FuzzEnv:
    """Contracts and actors. Two markets share the token, so isolation across pools is checked too."""

    protocol: Protocol
    token: Any
    feeds: list[Any]
    markets: list[Market]
    owner: Any
    guardian: Any
    lp: Any
    keeper: Any
    traders: list[Any]
    attacker: Any = None
    guard: Any = None  # the MarginGuard of the protocol's factory
    minted: int = 0
    actors: list[Any] = field(default_factory=list)

    @classmethod
    def deploy(cls, accounts: Any, project: Any) -> FuzzEnv:
        owner, guardian, lp, keeper, *traders, attacker = list(accounts[:9])
        token = owner.deploy(project.MockERC20, "USD Coin", "USDC", 6)
        # The shortest owner delay the factory allows: a parameter change moves the clock by it.
        protocol = Protocol.deploy(owner, guardian, delay=MIN_DELAY)
        feeds, markets = [], []
        for i in range(2):
            feed = owner.deploy(project.MockAggregator, FEED_DECIMALS, START_PRICE * 10**FEED_DECIMALS)
            oracle = deploy_oracle(owner, feed, max_age=MAX_AGE)
            market = protocol.create_market(owner, asset=token, oracle=oracle,
                                            params=MarketParams.default(6), name=f"m{i}", symbol=f"m{i}")
            feeds.append(feed)
            markets.append(market)
        env = cls(protocol, token, feeds, markets, owner, guardian, lp, keeper, traders[:4], attacker)
        env.actors = [owner, guardian, lp, keeper, *env.traders, attacker]
        token.mint(lp, 2 * LP_FUNDS, sender=owner)  # half deposited now, half for later deposits
        env.minted += 2 * LP_FUNDS
        for market in markets:
            market.deposit(lp, LP_FUNDS // 2)
        for trader in env.traders:
            token.mint(trader, TRADER_FUNDS, sender=owner)
            env.minted += TRADER_FUNDS
            for market in markets:
                token.approve(market.pool, 2**256 - 1, sender=trader)
        token.mint(attacker, ATTACKER_FUNDS, sender=owner)  # no shares yet: it enters by requests
        env.minted += ATTACKER_FUNDS
        for market in markets:
            token.approve(market.pool, 2**256 - 1, sender=lp)
            token.approve(market.pool, 2**256 - 1, sender=attacker)
        # deployed last: the markets' and vaults' addresses stay those of a world without it
        env.guard = owner.deploy(project.MarginGuard, protocol.factory.address)
        return env

    @property
    def lps(self) -> list[Any]:
        """The LP actors: the LP (shares from the first deposit) and the attacker."""
        return [self.lp, self.attacker]

    def holders(self) -> list[str]:
        """Every address that can hold the token outside vaults: actors, pools, insurance funds, the guard
        (its reserves)."""
        out = [str(a.address) for a in self.actors]
        for m in self.markets:
            out += [m.address, str(m.pool.insuranceFund())]
        if self.guard is not None:
            out.append(str(self.guard.address))
        return out
