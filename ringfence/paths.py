"""Where a checkout keeps things: the repository root (the contracts' build, node_modules, scenarios)
and the folder generated output goes to (ignored by git)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
"""The repository root (the folder holding ``ape-config.yaml``)."""
