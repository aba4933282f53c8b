"""Mutation testing of the contracts: `python -m tools.mutate run` (see README.md in this folder)."""
