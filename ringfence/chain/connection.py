"""Connecting a command to its network, with a failure told in one line.

``ape run deploy`` and ``ape run keeper`` connect through Ape's ``ConnectedProviderCommand``, which
connects before the command runs: a node that does not answer, or a fork whose upstream RPC URL is
not set, ends there in a traceback. :class:`ChainCommand` connects the same way, but says what is
wrong and what to do on one line (``Error: …``, exit status 1).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import click
from ape.cli import ConnectedProviderCommand

from ringfence.errors import one_line

__all__ = ["ChainCommand", "fork_upstream_problem", "unreachable_message"]

_VARIABLE = re.compile(r"^\$\{(\w+)\}$")


def _configured_uri(provider_name: str, ecosystem: str, network: str) -> Any:
    """``<provider>.<ecosystem>.<network>.uri`` in the project's ape-config.yaml as written
    (environment variables not substituted), or None."""
    import yaml
    from ape import project

    try:
        raw = yaml.safe_load((Path(project.path) / "ape-config.yaml").read_text()) or {}
        return raw[provider_name][ecosystem][network]["uri"]
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return None


def fork_upstream_problem(provider: Any) -> str | None:
    """What keeps a fork network from starting, told before it is tried: the upstream network's RPC
    URL is an environment variable (``uri: ${MAINNET_RPC_URL}`` in ape-config.yaml) that is not set
    or empty. None: not a fork, or nothing known to be wrong."""
    network = provider.network
    if not getattr(network, "is_fork", False):
        return None
    upstream = network.upstream_network
    ecosystem = network.ecosystem.name
    written = _configured_uri(network.upstream_provider.name, ecosystem, upstream.name)
    match = _VARIABLE.match(str(written or ""))
    if match is None or os.environ.get(match.group(1), "").strip():
        return None
    variable = match.group(1)
    return (f"{network.choice} forks {ecosystem}:{upstream.name} and needs its RPC URL: set {variable} "
            f"(e.g. {variable}=https://… ape run …; ape-config.yaml reads it as "
            f"{network.upstream_provider.name}.{ecosystem}.{upstream.name}.uri)")


def _uri(provider: Any) -> str:
    for name in ("uri", "http_uri"):
        try:
            value = getattr(provider, name, None)
        except Exception:  # noqa: BLE001 - a property that needs the connection
            value = None
        if value:
            return str(value)
    return str(provider.network.choice)


def unreachable_message(provider: Any, exc: BaseException) -> str:
    """``cannot reach the chain at <url>: <reason>`` for a connection that failed with ``exc``."""
    reason = one_line(exc) or type(exc).__name__
    if "No node found" in reason or "unable to start" in reason:
        reason = "nothing answers there (start a node, or check the URL)"
    return f"cannot reach the chain at {_uri(provider)}: {reason}"


class ChainCommand(ConnectedProviderCommand):
    """Ape's ``ConnectedProviderCommand``, with a connection that fails in one line."""

    def invoke(self, ctx: click.Context) -> Any:
        from ape.cli import commands

        if self.callback is None:
            return None
        network_ctx = commands.parse_network(ctx)
        if not network_ctx:
            return self._invoke(ctx)
        provider = getattr(network_ctx, "_provider", None)
        problem = fork_upstream_problem(provider) if provider is not None else None
        if problem:
            raise click.ClickException(problem)
        try:
            connected = network_ctx.__enter__()
        except (click.ClickException, click.exceptions.Exit, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - any failure to connect is told in one line
            raise click.ClickException(unreachable_message(provider or network_ctx, exc)) from None
        try:
            result = self._invoke(ctx, provider=connected)
        except BaseException as exc:
            network_ctx.__exit__(type(exc), exc, exc.__traceback__)
            raise
        network_ctx.__exit__(None, None, None)
        return result
