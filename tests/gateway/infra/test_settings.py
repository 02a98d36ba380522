from __future__ import annotations

import pytest
from pydantic import ValidationError

from gateway.infra.settings import load_settings, secret_key


def test_defaults_need_nothing(tmp_path):
    settings = load_settings({"CPGW_DATA_DIR": str(tmp_path)})
    assert settings.resolved_database_url == f"sqlite:///{tmp_path.resolve() / 'cpgw.db'}"
    assert settings.redis_url is None and settings.transport == "console"
    assert settings.budget_for("any") == (160, 80)


def test_africastalking_credentials_pick_the_transport():
    assert load_settings({"AT_USERNAME": "sandbox", "AT_API_KEY": "k"}).transport == "africastalking"


def test_placeholder_secrets_are_refused():
    with pytest.raises(ValidationError, match="placeholder"):
        load_settings({"CPGW_SECRET_KEY": "changeme"})
    with pytest.raises(ValueError, match="must be set in production"):
        load_settings({"CPGW_ENV": "production"})


def test_network_budgets_are_parsed_or_refused():
    settings = load_settings({"CPGW_USSD_NETWORK_BUDGETS": "63902:160/80, 40410:140/70"})
    assert settings.budget_for("40410") == (140, 70) and settings.budget_for("1") == (160, 80)
    with pytest.raises(ValueError, match="cannot read"):
        load_settings({"CPGW_USSD_NETWORK_BUDGETS": "63902=160"})


def test_secret_key_is_generated_once_and_kept_private(tmp_path):
    settings = load_settings({"CPGW_DATA_DIR": str(tmp_path)})
    first = secret_key(settings)
    assert first == secret_key(settings) and len(first) > 40
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600
