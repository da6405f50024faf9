"""TLS/SASL settings become the same options for Faust and for every aiokafka client we make."""
from __future__ import annotations

import re
import ssl
from dataclasses import replace
from pathlib import Path

import faust
import pytest

from agents.kafka_security import SecurityConfigError, client_options, faust_credentials
from pipeline.settings import Settings

BASE = Settings.from_env({})
AGENTS = Path(__file__).resolve().parent.parent / "agents"


def test_plaintext_is_the_default() -> None:
    assert faust_credentials(BASE) is None
    assert client_options(BASE) == {"security_protocol": "PLAINTEXT"}


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_sasl_over_tls(mechanism: str) -> None:
    s = replace(BASE, security_protocol="SASL_SSL", sasl_mechanism=mechanism, sasl_username="broker", sasl_password="pw")
    creds = faust_credentials(s)
    assert isinstance(creds, faust.SASLCredentials)
    options = client_options(s)
    assert (options["security_protocol"], options["sasl_mechanism"]) == ("SASL_SSL", mechanism)
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("broker", "pw")
    assert isinstance(options["ssl_context"], ssl.SSLContext)


def test_sasl_without_tls_has_no_ssl_context() -> None:
    s = replace(BASE, security_protocol="SASL_PLAINTEXT", sasl_username="u", sasl_password="p")
    assert client_options(s)["ssl_context"] is None and client_options(s)["sasl_mechanism"] == "SCRAM-SHA-512"


def test_tls_only() -> None:
    options = client_options(replace(BASE, security_protocol="SSL"))
    assert options["security_protocol"] == "SSL" and isinstance(options["ssl_context"], ssl.SSLContext)


@pytest.mark.parametrize("changes, says", [
    ({"security_protocol": "SASL"}, "ALERTFLOW_SECURITY_PROTOCOL='SASL'"),
    ({"security_protocol": "SASL_SSL", "sasl_mechanism": "GSSAPI", "sasl_username": "u", "sasl_password": "p"}, "ALERTFLOW_SASL_MECHANISM"),
    ({"security_protocol": "SASL_SSL"}, "needs ALERTFLOW_SASL_USERNAME and ALERTFLOW_SASL_PASSWORD"),
    ({"security_protocol": "SSL", "ssl_keyfile": "k.pem"}, "ALERTFLOW_SSL_KEYFILE is set without ALERTFLOW_SSL_CERTFILE"),
])
def test_unusable_settings_are_refused_with_the_variable(changes: dict, says: str) -> None:
    with pytest.raises(SecurityConfigError, match=re.escape(says)):
        client_options(replace(BASE, **changes))


def test_every_kafka_client_we_construct_gets_the_options() -> None:
    """A client built without them would connect in plain text to a broker that wants TLS/SASL."""
    for path in AGENTS.glob("*.py"):
        for call in re.findall(r"AIOKafka(?:Consumer|Producer|AdminClient)\((.*?)bootstrap_servers=", path.read_text(), flags=re.S):
            assert "**client_options()" in call, f"{path.name}: a Kafka client without client_options()"
