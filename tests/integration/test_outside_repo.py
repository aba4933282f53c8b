"""The ``ringfence`` command run from a directory outside the repository (the repository's virtualenv,
``.venv/bin/ringfence``): ``--help``, and ``ringfence markets`` on an Anvil node this module starts and
deploys ``markets/local.yaml`` on (as ``tests/integration/test_cli.py`` does), with the contract types
from the checkout's build and from the package's bundle (``RINGFENCE_CONTRACTS=bundle``: what an
installed package reads). Runs where test_cli's commands run: once, in the embedded-chain pass."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_cli import _communicate
from tests.integration.test_deploy import (
    ROOT,
    VENV_BIN,
    AnvilNode,
    ape_env,
    local_deployment,
    only_in_embedded_pass,
)

RINGFENCE = VENV_BIN / "ringfence"


def _outside(tmp_path: Path) -> Path:
    assert ROOT not in tmp_path.resolve().parents and tmp_path.resolve() != ROOT
    return tmp_path


@pytest.fixture(scope="module")
def deployment(tmp_path_factory) -> Iterator[tuple[AnvilNode, Path, dict]]:
    only_in_embedded_pass()
    with local_deployment(tmp_path_factory) as deployed:
        yield deployed


def test_help_works_outside_the_repository(tmp_path):
    only_in_embedded_pass()
    result = subprocess.run([str(RINGFENCE), "--help"], cwd=_outside(tmp_path), env=ape_env(),
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "markets" in result.stdout and "lp" in result.stdout


def test_markets_and_an_error_outside_the_repository(deployment, tmp_path):
    """``markets`` lists the deployment; a refused quote is the error's one-line message (from the
    contracts' NatSpec), the same with either source of contract types."""
    anvil, path, data = deployment
    where = ["--network", anvil.ape_network, "--deployments", str(path)]
    commands = {"markets": ["markets", *where, "--json"],
                "quote": ["quote", "--long", "--size", "0.01", "--margin", "20", "--market", "ETH-USD", *where]}
    runs = {(source, name): subprocess.Popen([str(RINGFENCE), *args], cwd=_outside(tmp_path),
                                             env=ape_env(RINGFENCE_CONTRACTS=source), text=True,
                                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for source in ("build", "bundle") for name, args in commands.items()}
    results = {key: (process, *_communicate(process)) for key, process in runs.items()}
    errors = {}
    for (source, name), (process, out, err) in results.items():
        if name == "markets":
            assert process.returncode == 0, f"{source}: {out}\n{err}"
            rows = json.loads(out)
            assert [r["id"] for r in rows] == list(data["markets"]), source
            eth = next(r for r in rows if r["id"] == "ETH-USD")
            assert eth["pool"] == data["markets"]["ETH-USD"]["pool"], source
            assert eth["params"]["initial_margin_wad"] == 10**17, source  # 10 % (markets/local.yaml)
        else:
            assert process.returncode == 1 and out == "", f"{source}: {out}\n{err}"
            lines = err.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: "), f"{source}: {err!r}"
            assert "USDC" in lines[0], f"{source}: {lines[0]}"  # a contract error in the market's units
            assert not re.search(r"\b[A-Z][a-z]+[A-Z]\w*\(", lines[0]), f"{source}: no message: {lines[0]}"
            errors[source] = lines[0]
    assert errors["build"] == errors["bundle"]
    print(f"outside the repository: {errors['bundle']}")
