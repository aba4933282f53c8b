"""The deployments file, and what the connected chain says about how to use it.

``ape run deploy`` (:mod:`ringfence.deploy`) writes one JSON file per network,
``deployments/<ecosystem>-<network>.json``: every contract's address, transaction, block,
constructor arguments and runtime code hash, the markets and their pools, and the chain it was
written for (``chain_id``, ``genesis_hash``). The CLI, the keeper and the simulations read it to
find the factory and the markets.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = [
    "DEVNET_HINT",
    "FORMAT_VERSION",
    "DeployError",
    "check_chain_id",
    "default_deployments_path",
    "is_live",
    "load_deployments",
    "network_label",
    "no_deployment_message",
    "save_deployments",
    "write_json",
]

FORMAT_VERSION = 1


class DeployError(Exception):
    """A deployment cannot go on, or its deployments file cannot be used; ``str(error)`` is one
    line for the user."""


def network_label(provider: Any) -> str:
    """``<ecosystem>-<network>`` (``ethereum-local``, ``ethereum-mainnet-fork``, ...); an ad-hoc
    URI network adds its chain id (``ethereum-custom-31337``)."""
    network = provider.network
    label = f"{network.ecosystem.name}-{network.name}"
    if network.name == "custom":
        label += f"-{provider.chain_id}"
    return label


def default_deployments_path(provider: Any, directory: str | Path = "deployments") -> Path:
    return Path(directory) / f"{network_label(provider)}.json"


def is_live(provider: Any) -> bool:
    """Not the local network and not a fork: transactions cost real money."""
    return not provider.network.is_dev


DEVNET_HINT = ("start a chain that stays up with `make devnet` and use "
               "--network ethereum:local:http://127.0.0.1:8545")
"""What to do on a local chain without the protocol: the devnet, everything deployed (``ringfence devnet``)."""


def no_deployment_message(provider: Any, path: str | Path) -> str:
    """One line for a command that found no Ringfence deployment in ``path`` for the connected
    network (no file, no factory in it, or no code at its factory): what to run first."""
    choice = getattr(provider, "network_choice", None) or provider.network.choice
    live = is_live(provider)
    markets = "markets/<file>.yaml" if live else "markets/local.yaml"
    return (f"no Ringfence deployment for {provider.network.choice} in {path}: run "
            f"`ape run deploy --network {choice} --markets {markets}` first"
            + ("" if live else f", or {DEVNET_HINT}"))


def check_chain_id(provider: Any) -> None:
    """Ape signs for the chain id it believes in: on ``ethereum:local:<uri>`` that is the
    configured local chain id (``node.ethereum.local.chain_id``, 1337 unless set), whatever the
    node's. Raises :class:`DeployError` with the remedy when they differ."""
    web3 = getattr(provider, "web3", None)
    if web3 is None:
        return
    actual, expected = int(web3.eth.chain_id), int(provider.chain_id)
    if actual != expected:
        raise DeployError(
            f"the node at {getattr(provider, 'uri', '?')} has chain id {actual} but Ape's "
            f"{provider.network.choice} network signs for {expected}: start it with --chain-id "
            f"{expected} (anvil), or set node.ethereum.local.chain_id in ape-config.yaml"
        )


def load_deployments(path: str | Path) -> dict[str, Any]:
    """A deployments file, or an empty record when there is none."""
    path = Path(path)
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DeployError(f"cannot read deployments file {path}: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT_VERSION:
        raise DeployError(f"{path} is not a Ringfence deployments file (format {FORMAT_VERSION})")
    return data


def save_deployments(path: str | Path, data: dict[str, Any]) -> None:
    """Writes a deployments record (atomically: a reader never sees half a file)."""
    write_json(Path(path), data)


def write_json(path: Path, data: Any) -> None:
    """``data`` as indented JSON in ``path``, written to a temporary file then moved in place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2)
        handle.write("\n")
    os.replace(tmp, path)
