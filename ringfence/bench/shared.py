"""What both protocols share in a bench run: the ERC-20 tokens and the Chainlink-style feed.

* ``usdc``: the settlement / loan token, ``MockERC20`` (OpenZeppelin ERC20, 6 decimals) from contracts/test.
* ``weth``: Morpho's collateral token, the same ``MockERC20`` with 18 decimals.
* ``aggregator`` + ``proxy``: Chainlink's ``MockV3Aggregator`` behind its aggregator proxy, so every
  price read is two contract calls (proxy → aggregator) as on mainnet. Both protocols read the proxy:
  Ringfence through its ``ChainlinkOracle``, Morpho through ``MorphoChainlinkOracle``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ringfence.bench.artifacts import Artifact, feed_artifacts

USDC_DECIMALS = 6
WETH_DECIMALS = 18
FEED_DECIMALS = 8
START_PRICE = 3000
USDC = 10**USDC_DECIMALS
ETH = 10**18


def feed_answer(price_usd: float) -> int:
    """A USD price in the feed's 8-decimal units."""
    return round(price_usd * 10**FEED_DECIMALS)


@dataclass
class SharedEnv:
    owner: Any
    usdc: Any
    weth: Any
    aggregator: Any
    proxy: Any
    artifacts: dict[str, Artifact]

    def set_answer(self, answer: int) -> None:
        """A new round on the aggregator (read through the proxy), timestamped now."""
        self.aggregator.updateAnswer(int(answer), sender=self.owner)

    def set_price(self, price_usd: float) -> None:
        self.set_answer(feed_answer(price_usd))

    def answer(self) -> int:
        return int(self.proxy.latestRoundData()[1])


def deploy_shared(project: Any, owner: Any, with_weth: bool = True) -> SharedEnv:
    """Deploys the tokens and the feed with Ape (works on py-evm and on Anvil)."""
    arts = feed_artifacts()
    usdc = owner.deploy(project.MockERC20, "USD Coin", "USDC", USDC_DECIMALS)
    weth = owner.deploy(project.MockERC20, "Wrapped Ether", "WETH", WETH_DECIMALS) if with_weth else None
    aggregator = owner.deploy(arts["MockV3Aggregator"].ape_container(), FEED_DECIMALS, feed_answer(START_PRICE))
    proxy = owner.deploy(arts["AggregatorProxy"].ape_container(), aggregator.address)
    return SharedEnv(owner, usdc, weth, aggregator, proxy, arts)
