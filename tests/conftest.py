"""Shared fixtures: session roles, a settable Chainlink-style feed, a 6-decimal stablecoin, the protocol
and one funded ETH/USD market. Ape snapshots the chain around every test, so each test starts from
the state these session fixtures built."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from contextlib import contextmanager

from ringfence.errors import RingfenceError, translate
from ringfence.abi import at
from ringfence.sdk import DEFAULT_DELAY, Market, MarketParams, Protocol, deploy_oracle

settings.register_profile(
    "ci", max_examples=25, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.register_profile(
    "deep", max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.load_profile("ci")

USDC = 10**6
ETH = 10**18
FEED_DECIMALS = 8
START_PRICE = 3000  # USD per ETH
LP_LIQUIDITY = 1_000_000 * USDC
TRADER_FUNDS = 1_000_000 * USDC


def feed_answer(price_usd: int | float) -> int:
    """A USD price in the 8-decimal feed's units."""
    return int(round(price_usd * 10**FEED_DECIMALS))


def _same(a, b) -> bool:
    if hasattr(b, "address"):
        b = b.address
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    return a == b


@contextmanager
def reverts(error_name: str, **expected_inputs):
    """Strict on both chains (unlike ``ape.reverts`` on Anvil, which passes on any revert): the call
    inside must revert with custom error ``error_name`` and these argument values."""
    from ape.exceptions import ContractLogicError

    try:
        yield
    except (ContractLogicError, RingfenceError) as exc:
        error = exc if isinstance(exc, RingfenceError) else translate(exc)
        assert error.name == error_name, f"expected {error_name}, got {error.name}: {error}"
        for key, value in expected_inputs.items():
            assert key in error.inputs, f"{error_name} has no argument {key}"
            assert _same(error.inputs[key], value), f"{key}: {error.inputs[key]} != {value}"
    else:
        raise AssertionError(f"did not revert (expected {error_name})")


def sync_clock(chain) -> None:
    """Keeps the next block after the head. py-evm keeps its time-travel offset across snapshot
    reverts, so after a test that mined into the future the next block could otherwise be dated
    before its parent."""
    head = chain.blocks.head.timestamp
    if chain.pending_timestamp <= head:
        chain.pending_timestamp = head + 1


def deploy_factory(owner, guardian=None, delay=DEFAULT_DELAY):
    """A bare PoolFactory (no liquidator yet) owned by ``owner``, with its pool deployer bound to it:
    the deployer is created first, bound to the owner's next CREATE address."""
    from ape import project

    deployer = owner.deploy(project.MarginPoolDeployer, owner.get_deployment_address(owner.nonce + 1))
    return owner.deploy(project.PoolFactory, owner, guardian or owner, deployer, delay)


def refresh_feeds(protocol, sender) -> None:
    """A new round with the same answer, dated now, on every MockAggregator behind the protocol's
    markets: after a jump in time their rounds would be older than the adapters' maxAge."""
    from ape import project

    seen: set[str] = set()
    for pool in protocol.factory.pools():
        try:
            feed = str(at(project.ChainlinkOracle, at(project.MarginPool, pool).oracle()).feed())
        except Exception:  # noqa: BLE001 - an adapter of another kind: nothing to refresh
            continue
        if feed in seen:
            continue
        seen.add(feed)
        mock = at(project.MockAggregator, feed)
        try:
            mock.setAnswer(int(mock.latestAnswer()), sender=sender)
        except Exception:  # noqa: BLE001 - not a MockAggregator
            continue


def advance_to(chain, timestamp: int) -> None:
    """Mines a block at ``timestamp`` (if the head is earlier) and keeps the clock after it."""
    if chain.blocks.head.timestamp < timestamp:
        chain.mine(timestamp=timestamp)
    sync_clock(chain)


def apply_params(protocol, pool, params: MarketParams, owner):
    """The owner's delayed parameter change in one call: queue, move the chain past the delay,
    refresh the mock feeds' rounds (else the prices would be stale), execute. Returns the receipt."""
    from ape import chain

    eta = protocol.queue_params(owner, pool, params)
    advance_to(chain, eta)
    refresh_feeds(protocol, owner)
    return protocol.execute_params(owner, pool)


def next_round(market: Market, sender) -> None:
    """A new oracle round on ``market``'s mock feed, same answer, in a later second than the head
    (LP requests settle only on a round published after them)."""
    from ape import chain, project

    advance_to(chain, chain.blocks.head.timestamp + 1)
    feed = at(project.MockAggregator, str(at(project.ChainlinkOracle, market.pool.oracle()).feed()))
    feed.setAnswer(int(feed.latestAnswer()), sender=sender)


def lp_enter(market: Market, lp, assets: int, keeper=None) -> int:
    """An LP's entry into a pool that has shares: request, next oracle round, settle (by ``keeper`` or
    the LP). Returns the shares minted."""
    market.request_deposit(lp, assets)
    next_round(market, keeper or lp)
    return market.settle_deposit(keeper or lp, lp)


def lp_exit(market: Market, lp, shares: int, keeper=None) -> int:
    """An LP's exit: request the redemption of ``shares``, next oracle round, settle. Returns the assets."""
    market.request_redeem(lp, shares)
    next_round(market, keeper or lp)
    return market.settle_redeem(keeper or lp, lp)


@pytest.fixture(autouse=True)
def _clock(chain):
    sync_clock(chain)


@pytest.fixture(scope="session")
def owner(accounts):
    return accounts[0]


@pytest.fixture(scope="session")
def guardian(accounts):
    return accounts[1]


@pytest.fixture(scope="session")
def alice(accounts):
    return accounts[2]


@pytest.fixture(scope="session")
def bob(accounts):
    return accounts[3]


@pytest.fixture(scope="session")
def lp(accounts):
    return accounts[4]


@pytest.fixture(scope="session")
def keeper(accounts):
    return accounts[5]


@pytest.fixture(scope="session")
def mallory(accounts):
    return accounts[6]


@pytest.fixture(scope="session")
def usdc(owner, project):
    return owner.deploy(project.MockERC20, "USD Coin", "USDC", 6)


@pytest.fixture(scope="session")
def feed(owner, project):
    return owner.deploy(project.MockAggregator, FEED_DECIMALS, feed_answer(START_PRICE))


@pytest.fixture(scope="session")
def oracle(owner, feed):
    return deploy_oracle(owner, feed, max_age=3600)


@pytest.fixture(scope="session")
def params() -> MarketParams:
    return MarketParams.default(decimals=6)


@pytest.fixture(scope="session")
def protocol(owner, guardian) -> Protocol:
    return Protocol.deploy(owner, guardian)


@pytest.fixture(scope="session")
def market(protocol, owner, usdc, oracle, params, lp, alice, bob, mallory) -> Market:
    m = protocol.create_market(owner, asset=usdc, oracle=oracle, params=params,
                               name="Ringfence ETH/USD LP", symbol="rfETH")
    usdc.mint(lp, LP_LIQUIDITY, sender=owner)
    m.deposit(lp, LP_LIQUIDITY)
    for trader in (alice, bob, mallory):
        usdc.mint(trader, TRADER_FUNDS, sender=owner)
        usdc.approve(m.pool, 2**256 - 1, sender=trader)
    return m


@pytest.fixture(scope="session")
def pool(market):
    return market.pool


@pytest.fixture
def set_price(feed, owner):
    """Sets the feed's answer (USD per ETH) in a new round."""

    def _set(price_usd: int | float) -> None:
        feed.setAnswer(feed_answer(price_usd), sender=owner)

    return _set


@pytest.fixture
def open_vault(market, alice):
    """Opens a position with the SDK and returns its vault address."""

    def _open(trader=None, *, is_long=True, size=ETH, margin=400 * USDC, nonce=0, **kw) -> str:
        return market.open(trader or alice, is_long=is_long, size=size, margin=margin, nonce=nonce, **kw)

    return _open
