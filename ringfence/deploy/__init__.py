"""Deploys Ringfence and its markets from a markets file, idempotently.

``ape run deploy --network <choice> --markets markets/<file>.yaml`` (``scripts/deploy.py``) is the
entry point; this package is the logic, usable in-process too (the tests call :func:`deploy`):

- :mod:`ringfence.deploy.markets_file`: the markets file (YAML, human units) and its checks;
- :mod:`ringfence.deploy.create2`: one contract at a time (CREATE2 through the deterministic-
  deployment proxy where it exists, else CREATE), recorded in the deployments file;
- :mod:`ringfence.deploy.preflight`: the checks made before the first transaction (the factory's
  bounds on every market's parameters, the tokens and feeds on the chain);
- :mod:`ringfence.deploy.deployer`: the protocol and its markets, in order (:func:`deploy`);
- :mod:`ringfence.deploy.abi_export`: the ABIs as JSON (``python -m ringfence.deploy abi``);
- the deployments file itself, and the checks on the connected chain, are
  :mod:`ringfence.chain.deployments` (re-exported here).
"""

from __future__ import annotations

from ringfence.chain.deployments import (
    FORMAT_VERSION,
    DeployError,
    check_chain_id,
    default_deployments_path,
    is_live,
    load_deployments,
    network_label,
    save_deployments,
)
from ringfence.deploy.abi_export import export_abis
from ringfence.deploy.create2 import CREATE2_PROXY, DeployAborted, DeployReport, create2_address
from ringfence.deploy.deployer import deploy
from ringfence.deploy.markets_file import (
    DEPLOY_MOCK,
    HUMAN_PARAMS,
    PARAM_FIELDS,
    MarketsFile,
    MarketSpec,
    MockFeed,
    MockToken,
    OracleSpec,
    load_markets,
    market_params,
    parse_duration,
)
from ringfence.deploy.preflight import DeployChecksFailed, param_violation
from ringfence.units import parse_ratio

__all__ = [
    "CREATE2_PROXY",
    "DEPLOY_MOCK",
    "FORMAT_VERSION",
    "HUMAN_PARAMS",
    "PARAM_FIELDS",
    "DeployAborted",
    "DeployChecksFailed",
    "DeployError",
    "DeployReport",
    "MarketSpec",
    "MarketsFile",
    "MockFeed",
    "MockToken",
    "OracleSpec",
    "check_chain_id",
    "create2_address",
    "default_deployments_path",
    "deploy",
    "export_abis",
    "is_live",
    "load_deployments",
    "load_markets",
    "market_params",
    "network_label",
    "param_violation",
    "parse_duration",
    "parse_ratio",
    "save_deployments",
]
