"""Deploys Ringfence and the markets of a markets file, idempotently.

What is deployed, in order:

1. ``MarginPoolDeployer(factory)`` (bound to the factory's address, computed in advance),
   ``PoolFactory(owner, guardian, deployer, delay)``, ``Liquidator(factory)``
   followed by ``factory.setLiquidator(liquidator)``, and ``Lens()``;
2. per market: the mocks a local markets file asks for (``deploy-mock``), one
   ``ChainlinkOracle(feed, maxAge, minAnswer, maxAnswer, sequencerFeed, gracePeriod)`` adapter,
   and the pool (``factory.createPool(asset, oracle, params, maxKeeperBonusMin, name, symbol)``);
   then ``MarginGuard(factory)``, which serves every pool of the factory;
3. the guardian and the owner of the markets file (``factory.setGuardian``,
   ``factory.transferOwnership``: the factory is created owned by the deploying account, which
   must send ``setLiquidator`` and ``createPool``, and is handed over at the end; the new owner
   completes the two-step transfer with ``acceptOwnership()``).

Idempotence: a later run keeps what the deployments file records and the chain still holds, and
deploys only what is missing or changed — a new market added to the file, say
(:mod:`ringfence.deploy.create2`). Records whose code is gone (a restarted local chain) are dropped.

Addresses: the protocol's own contracts, the oracle adapters and the mocks go through the CREATE2
proxy where it exists (:mod:`ringfence.deploy.create2`). One exception: the ``MarginPoolDeployer``
is bound to the factory's address in its constructor while the factory names the deployer in its
own, so the deployer is created by plain CREATE from the deploying account, bound to the CREATE2
address the factory will have (a later run finds it among the account's recent CREATE addresses).
Without the proxy (the embedded py-evm chain), plain CREATE from the deploying account (addresses
follow its nonce; the deployer is bound to the account's next address after its own). Pools are
created by the factory (CREATE from the MarginPoolDeployer); a pool missing from the file is
adopted from ``factory.pools()`` when one has the same asset and oracle.

The factory's owner delay is fixed when the factory is created: parameter changes and moves to a
new price adapter wait that long (``factory.queueParams``/``executeParams``,
``queueOracle``/``executeOracle``); a market's ``max_keeper_bonus_min`` is fixed at ``createPool``.
The owner's and the guardian's powers: ``docs/trust.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from eth_utils import to_checksum_address

from ringfence.abi import at
from ringfence.chain.deployments import DeployError, default_deployments_path
from ringfence.deploy.create2 import ContractDeployer, DeployReport, same
from ringfence.deploy.markets_file import (
    DEPLOY_MOCK,
    PARAM_FIELDS,
    MarketsFile,
    MarketSpec,
    MockFeed,
    MockToken,
    exact_units,
    load_markets,
)
from ringfence.deploy.preflight import DeployChecksFailed, aggregator_abi, chain_problems
from ringfence.sdk import MarketParams, erc20

__all__ = ["deploy"]

ZERO_ADDRESS = "0x" + "00" * 20

class ProtocolDeployer(ContractDeployer):
    """One deployment run (see :func:`deploy`): the protocol's contracts, then each market."""

    def run(self) -> DeployReport:
        """Deploys what is missing, in order (see the module docstring); returns the report."""
        self.load()
        if self.live and self.spec.uses_mocks:
            raise DeployError("deploy-mock is for local chains and forks, not a live network")
        problems = chain_problems(self.spec, lambda address: self._code_hash(address) is not None,
                                  int(self.chain.blocks.head.timestamp))
        if problems:
            raise DeployChecksFailed(self.spec.path, problems)
        contracts = self.report.data["contracts"]
        me = str(self.account.address)
        owner = self.spec.owner or me
        guardian = self.spec.guardian or me

        factory_entry = self._deployer_and_factory(me, guardian)
        factory = at(self.project.PoolFactory, factory_entry["address"])
        if int(factory.delay()) != self.spec.delay:
            self._warn(f"the factory's owner delay is {int(factory.delay())}s, the file says "
                       f"{self.spec.delay}s: left as is (it is fixed at the factory's creation)")
        is_owner = same(factory.owner(), me)

        liquidator = self._record("contracts", "Liquidator", self.deploy_contract(
            "Liquidator", (factory_entry["address"],), "Liquidator", contracts.get("Liquidator")))
        current = str(factory.liquidator())
        if same(current, ZERO_ADDRESS):
            self._need_owner(is_owner, factory, "set the liquidator")
            self._transact("setLiquidator", f"factory.setLiquidator({liquidator['address']})",
                           factory.setLiquidator, liquidator["address"])
        elif not same(current, liquidator["address"]):
            raise DeployError(
                f"the factory's liquidator is {current} (set once), not the Liquidator at "
                f"{liquidator['address']}"
            )
        self._record("contracts", "Lens", self.deploy_contract(
            "Lens", (), "Lens", contracts.get("Lens")))

        # Every market's parameters were checked against the factory's bounds before any transaction.
        missing = [m.id for m in self.spec.markets if not self._market_exists(m.id, factory)]
        if missing:
            self._need_owner(is_owner, factory, f"create market(s) {', '.join(missing)}")
        for market in self.spec.markets:
            self._market(market, factory)
        # The MarginGuard (owner-authorised margin top-ups) serves every pool of the factory. Last,
        # so that without the CREATE2 proxy (addresses from the account's nonce) nothing before moves.
        self._record("contracts", "MarginGuard", self.deploy_contract(
            "MarginGuard", (factory_entry["address"],), "MarginGuard", contracts.get("MarginGuard")))

        self._hand_over(factory, owner, guardian, is_owner)
        self.report.data["owner"] = str(factory.owner())
        self.report.data["pending_owner"] = str(factory.pendingOwner())
        self.report.data["guardian"] = str(factory.guardian())
        self.report.data["liquidator"] = str(factory.liquidator())
        self.save()
        return self.report

    def _hand_over(self, factory: Any, owner: str, guardian: str, is_owner: bool) -> None:
        """The guardian and the owner of the markets file: set (the owner by a two-step transfer
        it completes itself) when this account owns the factory, else a warning."""
        if not same(factory.guardian(), guardian):
            if is_owner:
                self._transact("setGuardian", f"factory.setGuardian({guardian})",
                               factory.setGuardian, guardian)
            else:
                self._warn(f"the factory's guardian is {factory.guardian()}, not {guardian}; "
                           f"the owner must call setGuardian")
        if not same(factory.owner(), owner):
            if same(factory.pendingOwner(), owner):
                self.log(f"ownership transfer to {owner} pending: it must call acceptOwnership()")
            elif is_owner:
                self._transact("transferOwnership", f"factory.transferOwnership({owner})",
                               factory.transferOwnership, owner)
                self.log(f"{owner} must call factory.acceptOwnership() to take ownership")
            else:
                self._warn(f"the factory is owned by {factory.owner()}, not {owner}")

    def _factory_args(self, me: str, guardian: str, deployer: str) -> tuple[Any, ...]:
        return (me, guardian, deployer, self.spec.delay)

    def _bound_to(self, deployer: str) -> str | None:
        """The factory a MarginPoolDeployer at ``deployer`` serves (None: no such deployer)."""
        if self._code_hash(deployer) is None:
            return None
        try:
            return to_checksum_address(str(at(self.project.MarginPoolDeployer, deployer).factory()))
        except Exception:  # noqa: BLE001 - not a MarginPoolDeployer
            return None

    def _deployer_and_factory(self, me: str, guardian: str) -> dict[str, Any]:
        """The MarginPoolDeployer and the PoolFactory, recorded; returns the factory's record.

        The deployer is bound to its factory in its constructor and the factory names the
        deployer in its own, so the factory's address is computed before the deployer is created.
        Plain CREATE: the account's nonce after the deployer's. CREATE2: the factory goes through
        the proxy (salt and initcode known) and the deployer, which it names, is created by plain
        CREATE from the account (were both CREATE2, each address would depend on the other's); a
        run that lost its deployments file finds the deployer among the account's recent CREATE
        addresses."""
        contracts = self.report.data["contracts"]
        old_deployer, old_factory = contracts.get("MarginPoolDeployer"), contracts.get("PoolFactory")
        if (old_deployer and old_factory and old_factory.get("contract") == "PoolFactory"
                and self._code_ok(old_deployer) and self._code_ok(old_factory)
                and same(old_factory["args"][2], old_deployer["address"])):
            # Owner and guardian are converged later: only the pool deployer must match.
            return old_factory

        def factory_target(deployer: str) -> str:
            return self.create2_target("PoolFactory", self._factory_args(me, guardian, deployer),
                                       "PoolFactory")

        deployer: dict[str, Any] | None = None
        if old_deployer and self._code_ok(old_deployer):
            bound = self._bound_to(old_deployer["address"])
            # Reusable when its factory can still be created at the address it names.
            expected = (factory_target(old_deployer["address"]) if self.create2
                        else to_checksum_address(str(self.account.get_deployment_address())))
            if bound is not None and same(bound, expected):
                deployer = dict(old_deployer)
        if deployer is None and self.create2:
            deployer = self._find_deployer(factory_target)
        if deployer is None:
            nonce = int(self.account.nonce)
            if self.create2:
                at_nonce = to_checksum_address(str(self.account.get_deployment_address(nonce)))
                target = factory_target(at_nonce)
            else:
                target = to_checksum_address(str(self.account.get_deployment_address(nonce + 1)))
            deployer = self.deploy_contract("MarginPoolDeployer", (target,), "MarginPoolDeployer",
                                            None, plain_create=True)
            if not same(self._bound_to(deployer["address"]), target):
                raise DeployError(f"the MarginPoolDeployer at {deployer['address']} is not bound to "
                                  f"{target}: another transaction was sent from this account meanwhile")
        self._record("contracts", "MarginPoolDeployer", deployer)
        expected_factory = self._bound_to(deployer["address"])
        factory_entry = self.deploy_contract(
            "PoolFactory", self._factory_args(me, guardian, deployer["address"]), "PoolFactory", None)
        if not same(factory_entry["address"], expected_factory):
            raise DeployError(f"the PoolFactory was created at {factory_entry['address']}, not at "
                              f"{expected_factory} where its MarginPoolDeployer expects it")
        return self._record("contracts", "PoolFactory", factory_entry)

    def _find_deployer(self, factory_target: Callable[[str], str],
                       lookback: int = 256) -> dict[str, Any] | None:
        """A MarginPoolDeployer this account created (CREATE, among its last ``lookback``
        nonces) that is bound to the CREATE2 address of the factory naming it: adopted."""
        nonce = int(self.account.nonce)
        for n in range(nonce - 1, max(-1, nonce - 1 - lookback), -1):
            address = to_checksum_address(str(self.account.get_deployment_address(n)))
            bound = self._bound_to(address)
            if bound is not None and same(bound, factory_target(address)):
                self.log(f"adopted MarginPoolDeployer already at {address} (bound to {bound})")
                self.report.adopted.append("MarginPoolDeployer")
                return {"contract": "MarginPoolDeployer", "args": [bound], "method": "create",
                        "salt": None, "address": address, "tx_hash": None, "block": None,
                        "codehash": self._code_hash(address)}
        return None

    def _need_owner(self, is_owner: bool, factory: Any, what: str) -> None:
        if not is_owner:
            raise DeployError(
                f"to {what} the factory's owner must send the transaction: it is "
                f"{factory.owner()}, not {self.account.address} (use --account)"
            )

    def _market_exists(self, market_id: str, factory: Any) -> bool:
        record = self.report.data["markets"].get(market_id)
        return bool(record and record.get("pool")) and bool(factory.isPool(record["pool"]))

    def _token_decimals(self, market: MarketSpec) -> int | None:
        if isinstance(market.token, MockToken):
            return market.token.decimals
        if self._code_hash(market.token) is None:
            raise DeployError(f"market {market.id}: no contract at token address {market.token}")
        try:
            return int(erc20(market.token).decimals())
        except Exception as exc:  # noqa: BLE001 - any failure means "not an ERC-20"
            raise DeployError(f"market {market.id}: {market.token} has no decimals(): {exc}") from None

    def _mock_token(self, market: MarketSpec) -> str:
        token = market.token
        assert isinstance(token, MockToken)
        key = f"token:{token.symbol}"
        entry = self.deploy_contract("MockERC20", (token.name, token.symbol, token.decimals),
                                     f"MockERC20/{token.symbol}", self.report.data["mocks"].get(key))
        return self._record("mocks", key, entry)["address"]

    def _feed(self, market: MarketSpec) -> tuple[str, int]:
        feed = market.oracle.feed
        if isinstance(feed, MockFeed):
            key = f"feed:{market.id}"
            entry = self.deploy_contract("MockAggregator", (feed.decimals, feed.raw_answer),
                                         f"MockAggregator/{market.id}",
                                         self.report.data["mocks"].get(key))
            return self._record("mocks", key, entry)["address"], feed.decimals
        from ape import Contract  # lazily, like every import of ape's managers (see create2.py)

        if self._code_hash(feed) is None:
            raise DeployError(f"market {market.id}: no contract at feed address {feed}")
        try:
            return feed, int(Contract(feed, abi=aggregator_abi()).decimals())
        except Exception as exc:  # noqa: BLE001
            raise DeployError(f"market {market.id}: {feed} has no decimals(): {exc}") from None

    def _sequencer(self, market: MarketSpec) -> str:
        sequencer = market.oracle.sequencer_feed
        if sequencer is None:
            return ZERO_ADDRESS
        if sequencer != DEPLOY_MOCK:
            return str(sequencer)
        key = f"sequencer:{market.id}"
        entry = self.deploy_contract("MockSequencerFeed", (), f"MockSequencerFeed/{market.id}",
                                     self.report.data["mocks"].get(key))
        return self._record("mocks", key, entry)["address"]

    def _market(self, market: MarketSpec, factory: Any) -> None:
        markets = self.report.data["markets"]
        record = markets.get(market.id)
        exists = self._market_exists(market.id, factory)
        asset = self._mock_token(market) if isinstance(market.token, MockToken) else market.token
        decimals = self._token_decimals(market)
        assert decimals is not None
        params = market.market_params(decimals)
        if exists:
            assert record is not None
            self._check_drift(market, record, asset, params)
            return
        feed, oracle_args = self._oracle_args(market)
        oracle = self.deploy_contract("ChainlinkOracle", oracle_args, f"ChainlinkOracle/{market.id}",
                                      (record or {}).get("oracle"))
        entry: dict[str, Any] = {
            "asset": asset, "feed": feed, "oracle": oracle, "name": market.name,
            "symbol": market.symbol, "decimals": decimals,
            "params": dict(zip(PARAM_FIELDS, params.as_tuple())),
            "spec": {k: _plain(v) for k, v in market.params.items()},
        }
        markets[market.id] = {**(record or {}), **entry}
        self.save()
        pool = self._adopt_pool(factory, asset, oracle["address"])
        if pool is not None:
            self.log(f"adopted market {market.id}: pool {pool} already has this asset and oracle")
            self.report.adopted.append(f"market {market.id}")
            tx: dict[str, Any] = {"tx_hash": None, "block": None}
        else:
            cap = market.max_keeper_bonus_min_units(decimals)
            description = (f"factory.createPool({asset}, {oracle['address']}, {market.id} params, "
                           f"{cap}, {market.name!r}, {market.symbol!r})")
            self._ask(description)
            receipt = self.send(description, lambda: factory.createPool(
                asset, oracle["address"], params.as_tuple(), cap, market.name, market.symbol,
                sender=self.account))
            pool = str(receipt.decode_logs(factory.PoolCreated)[0].pool)
            tx = self._sent(description, receipt)
        instance = at(self.project.MarginPool, pool)
        markets[market.id].update({
            "pool": to_checksum_address(pool),
            "insurance_fund": str(instance.insuranceFund()),
            "max_keeper_bonus_min": int(factory.maxKeeperBonusMin(pool)),
            "codehash": self._code_hash(pool),
            **tx,
        })
        self.save()

    def _oracle_args(self, market: MarketSpec) -> tuple[str, tuple[Any, ...]]:
        """The market's price feed (deployed when a mock) and its ChainlinkOracle's constructor
        arguments, the answer bounds in the feed's decimals."""
        feed, feed_decimals = self._feed(market)
        spec = market.oracle
        return feed, (
            feed,
            spec.max_age,
            0 if spec.min_answer is None else exact_units(spec.min_answer, feed_decimals,
                                                          f"market {market.id}: min_answer"),
            0 if spec.max_answer is None else exact_units(spec.max_answer, feed_decimals,
                                                          f"market {market.id}: max_answer"),
            self._sequencer(market),
            spec.grace_period,
        )

    def _adopt_pool(self, factory: Any, asset: str, oracle: str) -> str | None:
        known = {str(m["pool"]) for m in self.report.data["markets"].values() if m.get("pool")}
        for address in factory.pools():
            if str(address) in known:
                continue
            pool = at(self.project.MarginPool, address)
            if same(pool.asset(), asset) and same(pool.oracle(), oracle):
                return str(address)
        return None

    def _check_drift(self, market: MarketSpec, record: Mapping[str, Any], asset: str,
                     params: MarketParams) -> None:
        pool = at(self.project.MarginPool, record["pool"])
        if not same(pool.asset(), asset):
            self._warn(f"market {market.id} exists with token {pool.asset()}, the file says "
                       f"{asset}: left as is (a new token needs a new market id)")
        on_chain = MarketParams.from_chain(pool.params())
        if on_chain != params:
            changed = [f for f, a, b in zip(PARAM_FIELDS, on_chain.as_tuple(), params.as_tuple())
                       if a != b]
            self._warn(f"market {market.id}: parameters differ on chain ({', '.join(changed)}); "
                       f"the owner changes them with factory.queueParams, then executeParams "
                       f"once the factory's delay has passed")


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (Decimal, Fraction)):
        return str(value)
    return value


def deploy(
    account: Any,
    markets: MarketsFile | str | Path,
    *,
    path: str | Path | None = None,
    confirm: Callable[[str], bool] | None = None,
    log: Callable[[str], None] | None = None,
    use_create2: bool | None = None,
) -> DeployReport:
    """Deploys what ``markets`` needs on the connected network from ``account``.

    ``path`` defaults to ``deployments/<ecosystem>-<network>.json``; ``confirm`` is asked before
    every transaction (the default says yes) and a ``False`` raises :class:`DeployAborted`;
    ``use_create2`` ``None`` uses CREATE2 where the proxy exists. Raises :class:`DeployError` or a
    :class:`ringfence.errors.RingfenceError` (a contract revert) with a one-line message.
    """
    from ape import chain  # lazily, like every import of ape's managers (see create2.py)

    spec = markets if isinstance(markets, MarketsFile) else load_markets(markets)
    target = Path(path) if path is not None else default_deployments_path(chain.provider)
    run = ProtocolDeployer(account, spec, target, confirm or (lambda _: True),
                           log or (lambda _: None), use_create2)
    return run.run()
