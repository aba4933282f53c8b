"""The keeper's settings from RINGFENCE_KEEPER_* variables (pydantic-settings), as the Silverback bot
reads them: names, hex integers, booleans, empty values, and what the KeeperConfig becomes."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ringfence.keeper import KeeperConfig
from ringfence.keeper.settings import ENV_PREFIX, KeeperOptions, KeeperSettings


def test_settings_come_from_prefixed_variables(monkeypatch):
    monkeypatch.setenv(ENV_PREFIX + "BATCH_SIZE", "0x20")
    monkeypatch.setenv(ENV_PREFIX + "MAX_GAS", "3000000")
    monkeypatch.setenv(ENV_PREFIX + "ESTIMATE_GAS", "no")
    monkeypatch.setenv(ENV_PREFIX + "LENS", "")  # empty counts as unset
    monkeypatch.setenv("BATCH_SIZE", "7")  # unprefixed: ignored
    settings = KeeperSettings()
    assert (settings.batch_size, settings.max_gas, settings.estimate_gas) == (32, 3_000_000, False)
    assert settings.lens is None and settings.dry_run is False


def test_keeper_config_keeps_defaults_for_unset_fields_and_dry_runs_without_a_signer():
    options = KeeperOptions.model_validate({"horizon": "1200", "confirmations": "2"})
    config = options.keeper_config(has_account=False)
    assert config.horizon == 1200 and config.horizon_lead == 200  # a sixth of a short horizon
    assert config.confirmations == 2 and config.dry_run is True
    assert config.batch_size == KeeperConfig().batch_size
    assert KeeperOptions().keeper_config(has_account=True).dry_run is False
    assert KeeperOptions(dry_run=True).keeper_config(has_account=True).dry_run is True


@pytest.mark.parametrize("field, value", [("batch_size", "ten"), ("dry_run", "maybe"), ("max_gas", "1.5")])
def test_a_malformed_variable_is_refused_by_name(field, value):
    with pytest.raises(ValidationError, match=field):
        KeeperOptions.model_validate({field: value})


def test_config_bounds_still_apply():
    with pytest.raises(ValueError, match="batch_size"):
        KeeperOptions(batch_size=0).keeper_config(has_account=True)
