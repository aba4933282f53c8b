"""Ringfence: isolated-margin protocol tooling (reference model, SDK, keeper, simulation)."""

__version__ = "0.1.0"
