"""Loaded into the mutants' test runs only (`-p tools.mutate.pytest_plugin`): Hypothesis stops at the first
failing example instead of shrinking and explaining it. A mutant needs a failure, not the smallest one, and shrinking
an on-chain property costs minutes. Every profile the tests load is loaded without the shrink phase."""

from __future__ import annotations

from typing import Any

NO_SHRINK_PROFILE = "_mutation_no_shrink"


def pytest_configure(config: Any) -> None:
    from hypothesis import Phase, settings

    load = settings.load_profile

    def load_without_shrinking(name: str) -> None:
        load(name)
        phases = tuple(p for p in settings.default.phases if p not in (Phase.shrink, Phase.explain))
        settings.register_profile(NO_SHRINK_PROFILE, settings.default, phases=phases)
        load(NO_SHRINK_PROFILE)

    type.__setattr__(settings, "load_profile", staticmethod(load_without_shrinking))  # the class forbids plain assignment
    load_without_shrinking(settings._current_profile or "default")  # noqa: SLF001
