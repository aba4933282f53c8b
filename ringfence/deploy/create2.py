"""Deploys single contracts for a deployment run, and keeps its record.

:class:`ContractDeployer` holds one run's deployments record
(``deployments/<ecosystem>-<network>.json``, :mod:`ringfence.chain.deployments`), written after
every transaction, and deploys one contract at a time: a recorded contract whose code is still
there (same code hash) and whose constructor arguments still match is kept, anything else is
deployed.

Where the standard deterministic-deployment proxy (``0x4e59b448…956C``, on Anvil, on most public
chains and on their forks) has code, contracts are created with CREATE2 through it, salt
``keccak256("ringfence/v1/<label>")``: an address then depends only on the contract and its
constructor arguments, so a run that lost its deployments file finds (adopts) what is already
there instead of deploying it twice. Elsewhere (the embedded py-evm chain), plain CREATE from the
deploying account. What is deployed, in which order: :mod:`ringfence.deploy.deployer`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_utils import is_address, keccak, to_checksum_address

from ringfence.chain.deployments import (
    FORMAT_VERSION,
    DeployError,
    check_chain_id,
    is_live,
    load_deployments,
    save_deployments,
)
from ringfence.deploy.markets_file import MarketsFile
from ringfence.errors import contract_errors, one_line

__all__ = [
    "CREATE2_PROXY",
    "ContractDeployer",
    "DeployAborted",
    "DeployReport",
    "create2_address",
    "hex_str",
    "jsonable",
    "same",
]

CREATE2_PROXY = "0x4e59b44847b379578588920cA78FbF26c0B4956C"
"""The deterministic-deployment proxy (Arachnid): ``salt ++ initcode`` in, CREATE2 out."""
SALT_NAMESPACE = "ringfence/v1"


class DeployAborted(DeployError):
    """The user declined a transaction."""


def create2_address(deployer: str, salt: bytes, initcode: bytes) -> str:
    """The address CREATE2 from ``deployer`` gives ``initcode`` with ``salt``."""
    digest = keccak(b"\xff" + bytes.fromhex(deployer[2:]) + salt + keccak(initcode))
    return to_checksum_address(digest[12:])


def jsonable(value: Any) -> Any:
    """``value`` as the deployments file records it (addresses checksummed, bytes as hex)."""
    if hasattr(value, "address"):
        return str(value.address)
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, str) and is_address(value):
        return to_checksum_address(value)
    return value


def same(a: Any, b: Any) -> bool:
    """Equal as recorded (an address and a contract at it are the same)."""
    return jsonable(a) == jsonable(b)


def hex_str(value: Any) -> str:
    """A hash or bytes as ``0x``-prefixed hex."""
    if isinstance(value, str):
        return value if value.startswith("0x") else "0x" + value
    return "0x" + bytes(value).hex()


@dataclass
class DeployReport:
    """What a run did: ``sent`` lists the transactions sent (empty when nothing was missing)."""

    path: Path
    data: dict[str, Any]
    sent: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def factory(self) -> str:
        return str(self.data["contracts"]["PoolFactory"]["address"])

    def market(self, market_id: str) -> dict[str, Any]:
        return dict(self.data["markets"][market_id])


class ContractDeployer:
    """One deployment run's record and single-contract deployments; the protocol's deployment
    (:class:`ringfence.deploy.deployer.ProtocolDeployer`) builds on it."""

    def __init__(self, account: Any, spec: MarketsFile, path: Path, confirm: Callable[[str], bool],
                 log: Callable[[str], None], use_create2: bool | None):
        # ape's managers load every Ape plugin when first imported: imported here, not at module
        # level, so that importing ringfence.deploy stays cheap.
        from ape import chain, project

        self.account = account
        self.spec = spec
        self.path = path
        self.confirm = confirm
        self.log = log
        self.chain = chain
        self.project = project
        self.provider = chain.provider
        self.live = is_live(self.provider)
        check_chain_id(self.provider)
        self.report = DeployReport(path=path, data={})
        proxy_code = self.provider.get_code(CREATE2_PROXY)
        has_proxy = bool(proxy_code) and bytes(proxy_code) != b""
        if use_create2 and not has_proxy:
            raise DeployError(f"no CREATE2 deployment proxy at {CREATE2_PROXY} on this chain")
        self.create2 = has_proxy if use_create2 is None else use_create2

    # ---------------------------------------------------------------- bookkeeping
    def load(self) -> None:
        data = load_deployments(self.path)
        chain_id = int(self.provider.chain_id)
        genesis = hex_str(self.chain.blocks[0].hash)
        if data and data.get("chain_id") != chain_id:
            if self.live:
                raise DeployError(
                    f"{self.path} records chain id {data.get('chain_id')}, but this network has "
                    f"chain id {chain_id}: use another --deployments file"
                )
            self.log(f"{self.path} is for chain id {data.get('chain_id')}: starting afresh")
            data = {}
        elif data and data.get("genesis_hash") not in (None, genesis) and not self.live:
            self.log(f"{self.path} is for another chain (genesis differs): starting afresh")
            data = {}
        data.setdefault("contracts", {})
        data.setdefault("mocks", {})
        data.setdefault("markets", {})
        data.setdefault("transactions", [])
        data.update({
            "format": FORMAT_VERSION,
            "network": self.provider.network.choice,
            "chain_id": chain_id,
            "genesis_hash": genesis,
            "deployer": str(self.account.address),
            "method": "create2" if self.create2 else "create",
            "create2_proxy": CREATE2_PROXY if self.create2 else None,
            "markets_file": str(self.spec.path),
        })
        self.report.data = data
        self._forget_missing()

    def save(self) -> None:
        self.report.data["block"] = int(self.chain.blocks.head.number or 0)
        save_deployments(self.path, self.report.data)

    def _code_hash(self, address: str) -> str | None:
        code = self.provider.get_code(address)
        code = bytes(code) if code else b""
        return hex_str(keccak(code)) if code else None

    def _code_ok(self, record: Mapping[str, Any] | None) -> bool:
        if not record or not record.get("address"):
            return False
        current = self._code_hash(record["address"])
        return current is not None and current == record.get("codehash", current)

    def _forget_missing(self) -> None:
        data = self.report.data
        for section in ("contracts", "mocks"):
            for key, record in list(data[section].items()):
                if not self._code_ok(record):
                    self.log(f"forgetting {section[:-1]} {key}: no longer at {record.get('address')}")
                    del data[section][key]
        for key, market in list(data["markets"].items()):
            pool = market.get("pool")  # None: the run stopped before creating the pool
            if pool and not self._code_ok({"address": pool, "codehash": market.get("codehash")}):
                self.log(f"forgetting market {key}: its pool is no longer at {pool}")
                del data["markets"][key]
            elif market.get("oracle") and not self._code_ok(market["oracle"]):
                del market["oracle"]

    # ---------------------------------------------------------------- transactions
    def _ask(self, description: str) -> None:
        if not self.confirm(description):
            raise DeployAborted(f"aborted before: {description}")

    def _sent(self, description: str, receipt: Any) -> dict[str, Any]:
        self.report.sent.append(description)
        self.log(f"sent: {description} ({hex_str(receipt.txn_hash)}, block {receipt.block_number})")
        return {"tx_hash": hex_str(receipt.txn_hash), "block": int(receipt.block_number)}

    def _transact(self, action: str, description: str, method: Any, *args: Any) -> Any:
        self._ask(description)
        receipt = self.send(description, lambda: method(*args, sender=self.account))
        entry = {"action": action, **self._sent(description, receipt)}
        self.report.data["transactions"].append(entry)
        self.save()
        return receipt

    def send(self, description: str, transaction: Callable[[], Any], create2_target: str | None = None) -> Any:
        """``transaction()``'s receipt. A revert is its contract error (:func:`contract_errors`); any
        other failure a one-line :class:`DeployError` (no transaction dump). When a CREATE2 deployment
        fails because its address already holds a contract, the error says so and what to do."""
        from ringfence.errors import RingfenceError

        try:
            with contract_errors():
                return transaction()
        except RingfenceError as error:
            collided = create2_target is not None and self._code_hash(create2_target) is not None
            if not collided:
                raise
            raise DeployError(
                f"{description}: a contract is already deployed at {create2_target}: run the deployment "
                f"again to adopt it (its deployments file records it), or deploy a fresh set with --no-create2"
            ) from error
        except Exception as exc:  # a provider or signing failure: one line for the user
            raise DeployError(f"{description}: the transaction failed: {one_line(exc) or type(exc).__name__}") \
                from exc

    def _initcode(self, contract_name: str, args: tuple[Any, ...]) -> tuple[Any, bytes]:
        container = getattr(self.project, contract_name)
        create_txn = container.constructor.serialize_transaction(*args)
        create_txn.sender = self.account.address
        return create_txn, bytes(create_txn.data)

    def create2_target(self, contract_name: str, args: tuple[Any, ...], label: str) -> str:
        """Where :meth:`deploy_contract` puts ``contract_name(*args)`` through the CREATE2 proxy."""
        _, initcode = self._initcode(contract_name, args)
        return create2_address(CREATE2_PROXY, keccak(text=f"{SALT_NAMESPACE}/{label}"), initcode)

    def deploy_contract(self, contract_name: str, args: tuple[Any, ...], label: str,
                        record: Mapping[str, Any] | None,
                        matches: Callable[[Mapping[str, Any]], bool] | None = None,
                        plain_create: bool = False) -> dict[str, Any]:
        """The record of ``contract_name(*args)``: the existing one when its code is there and its
        arguments match (``matches`` overrides the comparison), else a new deployment (CREATE2
        where the proxy is used, unless ``plain_create``)."""
        if (record is not None and record.get("contract") == contract_name and self._code_ok(record)
                and (matches(record) if matches else same(record.get("args"), list(args)))):
            return dict(record)
        create_txn, initcode = self._initcode(contract_name, args)
        shown = f"{contract_name}({', '.join(str(jsonable(a)) for a in args)})"
        entry: dict[str, Any] = {"contract": contract_name, "args": jsonable(list(args))}
        if self.create2 and not plain_create:
            salt = keccak(text=f"{SALT_NAMESPACE}/{label}")
            address = create2_address(CREATE2_PROXY, salt, initcode)
            entry.update(method="create2", salt=hex_str(salt), address=address)
            if self._code_hash(address) is not None:
                self.log(f"adopted {shown} already at {address} (CREATE2)")
                self.report.adopted.append(label)
                entry.update(tx_hash=None, block=None, codehash=self._code_hash(address))
                return entry
            # Surface a constructor revert with its name (the proxy would swallow it). Not for the
            # factory: its constructor checks that the deployer names the address it runs at.
            if contract_name != "PoolFactory":
                with contract_errors():
                    self.provider.estimate_gas_cost(create_txn)
            description = f"deploy {shown} at {address} (CREATE2)"
            self._ask(description)
            txn = self.provider.network.ecosystem.create_transaction(
                receiver=CREATE2_PROXY, data=salt + initcode, sender=self.account.address
            )
            receipt = self.send(description, lambda: self.account.call(txn), address)
            if self._code_hash(address) is None:
                raise DeployError(f"the CREATE2 proxy did not create {contract_name} at {address}")
        else:
            address = to_checksum_address(str(self.account.get_deployment_address()))
            description = f"deploy {shown} at {address}"
            entry.update(method="create", salt=None)
            self._ask(description)
            receipt = self.send(description, lambda: self.account.call(create_txn))
            address = to_checksum_address(str(receipt.contract_address))
            entry["address"] = address
        entry.update(self._sent(description, receipt))
        entry["codehash"] = self._code_hash(address)
        return entry

    def _record(self, section: str, key: str, entry: dict[str, Any]) -> dict[str, Any]:
        self.report.data[section][key] = entry
        self.save()
        return entry


    def _warn(self, message: str) -> None:
        self.report.warnings.append(message)
        self.log(f"warning: {message}")
