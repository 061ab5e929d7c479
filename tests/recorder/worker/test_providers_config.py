"""The ``[providers]`` table: defaults, credentials from the environment, refusals that name
the TOML path and never echo a value."""

from __future__ import annotations

from typing import Any

import pytest

from recorder.errors import ConfigError
from recorder.providers import Endpoint, parse_providers

AC = "AC" + "0123456789abcdef" * 2
ENV = {"CALLREC_TWILIO_AUTH_TOKEN": "tok", "CALLREC_TELNYX_API_KEY": "KEYabc"}


def test_defaults_are_safe() -> None:
    settings = parse_providers({}, {})
    assert settings.twilio is None and settings.telnyx is None
    assert settings.allowed == frozenset()
    assert not settings.allow_loopback_for_tests and not settings.delete_after_capture
    assert settings.max_attempts == 5 and settings.max_bytes == 256 * 1024 * 1024
    assert settings.max_redirects == 0


def test_a_full_table() -> None:
    table: dict[str, Any] = {
        "allowed_hosts": ["media.telnyx.com", "storage.example.eu:8443"],
        "max_attempts": 3,
        "delete_after_capture": True,
        "twilio": {"account_sid": AC},
        "telnyx": {},
    }
    settings = parse_providers(table, ENV)
    assert settings.twilio is not None and settings.twilio.base == Endpoint("api.twilio.com")
    assert (
        settings.twilio.username == AC
        and settings.twilio.password == ENV["CALLREC_TWILIO_AUTH_TOKEN"]
    )
    assert "tok" not in repr(settings) and "KEYabc" not in repr(settings)
    assert settings.telnyx is not None and settings.telnyx.base == Endpoint("api.telnyx.com")
    assert settings.allowed == {
        Endpoint("api.twilio.com"),
        Endpoint("api.telnyx.com"),
        Endpoint("media.telnyx.com"),
        Endpoint("storage.example.eu", 8443),
    }


def test_api_key_auth_and_missing_credentials() -> None:
    key = "SK" + "f" * 32
    table = {"twilio": {"account_sid": AC, "api_key_sid": key}}
    settings = parse_providers(table, {"CALLREC_TWILIO_API_SECRET": "s"})
    assert settings.twilio is not None and settings.twilio.username == key
    assert parse_providers(table, ENV).twilio is None  # the API secret is missing: off


@pytest.mark.parametrize(
    ("table", "path"),
    [
        ({"twilio": {"account_sid": AC, "api_base": "http://api.twilio.com"}}, "api_base"),
        ({"twilio": {"account_sid": AC, "api_base": "https://10.0.0.1"}}, "api_base"),
        ({"twilio": {"account_sid": AC, "api_base": "https://[::1]"}}, "api_base"),
        ({"twilio": {"account_sid": AC, "api_base": "https://u@api.twilio.com"}}, "api_base"),
        ({"twilio": {"account_sid": AC, "api_base": "https://api.twilio.com/x"}}, "api_base"),
        ({"twilio": {"account_sid": AC, "api_base": "https://API.twilio.com"}}, "api_base"),
        ({"twilio": {"account_sid": "AC123"}}, "account_sid"),
        ({"twilio": {"account_sid": AC, "api_key_sid": "SKx"}}, "api_key_sid"),
        ({"twilio": "yes"}, "providers.twilio"),
        ({"allowed_hosts": "media.telnyx.com"}, "allowed_hosts"),
        ({"allowed_hosts": ["169.254.169.254"]}, "allowed_hosts[0]"),
        ({"allowed_hosts": ["2130706433"]}, "allowed_hosts[0]"),
        ({"allowed_hosts": ["m\u00fcnchen.example"]}, "allowed_hosts[0]"),
        ({"allowed_hosts": ["*.telnyx.com"]}, "allowed_hosts[0]"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"max_attempts": True}, "max_attempts"),
        ({"max_bytes": "big"}, "max_bytes"),
        ({"backoff_seconds": 10, "backoff_max_seconds": 5}, "backoff_max_seconds"),
        ({"delete_after_capture": "yes"}, "delete_after_capture"),
        ({"allow_loopback_for_tests": 1}, "allow_loopback_for_tests"),
        ({"ca_file": "/no/such/ca.pem"}, "ca_file"),
        ({"max_redirects": 9}, "max_redirects"),
    ],
)
def test_bad_values_name_the_path(table: dict[str, Any], path: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_providers(table, ENV)
    assert path in str(caught.value)
    assert "10.0.0.1" not in str(caught.value) and "169.254" not in str(caught.value)
