"""Stateful invariant fuzzing of the protocol (hypothesis state machines driving a local chain)."""
