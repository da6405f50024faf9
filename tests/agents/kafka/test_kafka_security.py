"""TLS/SASL settings become the same options for Faust and for every aiokafka client we make."""
from __future__ import annotations

import re
import ssl
from dataclasses import replace

import faust
import pytest

from agents.kafka.connection import KafkaConnection, SecurityConfigError
from pipeline.settings import REPO_ROOT, Settings

BASE = Settings.from_env({})


def test_plaintext_is_the_default() -> None:
    assert KafkaConnection.from_settings(BASE).faust_credentials is None
    assert KafkaConnection.from_settings(BASE).options() == {"bootstrap_servers": BASE.bootstrap, "security_protocol": "PLAINTEXT"}


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_sasl_over_tls(mechanism: str) -> None:
    s = replace(BASE, security_protocol="SASL_SSL", sasl_mechanism=mechanism, sasl_username="broker", sasl_password="pw")
    creds = KafkaConnection.from_settings(s).faust_credentials
    assert isinstance(creds, faust.SASLCredentials)
    options = KafkaConnection.from_settings(s).options()
    assert (options["security_protocol"], options["sasl_mechanism"]) == ("SASL_SSL", mechanism)
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("broker", "pw")
    assert isinstance(options["ssl_context"], ssl.SSLContext)


def test_sasl_without_tls_has_no_ssl_context() -> None:
    s = replace(BASE, security_protocol="SASL_PLAINTEXT", sasl_username="u", sasl_password="p")
    assert KafkaConnection.from_settings(s).options()["ssl_context"] is None and KafkaConnection.from_settings(s).options()["sasl_mechanism"] == "SCRAM-SHA-512"


def test_tls_only() -> None:
    options = KafkaConnection.from_settings(replace(BASE, security_protocol="SSL")).options()
    assert options["security_protocol"] == "SSL" and isinstance(options["ssl_context"], ssl.SSLContext)


@pytest.mark.parametrize("changes, says", [
    ({"security_protocol": "SASL"}, "ALERTFLOW_SECURITY_PROTOCOL='SASL'"),
    ({"security_protocol": "SASL_SSL", "sasl_mechanism": "GSSAPI", "sasl_username": "u", "sasl_password": "p"}, "ALERTFLOW_SASL_MECHANISM"),
    ({"security_protocol": "SASL_SSL"}, "needs ALERTFLOW_SASL_USERNAME and ALERTFLOW_SASL_PASSWORD"),
    ({"security_protocol": "SSL", "ssl_keyfile": "k.pem"}, "ALERTFLOW_SSL_KEYFILE is set without ALERTFLOW_SSL_CERTFILE"),
])
def test_unusable_settings_are_refused_with_the_variable(changes: dict, says: str) -> None:
    with pytest.raises(SecurityConfigError, match=re.escape(says)):
        KafkaConnection.from_settings(replace(BASE, **changes)).options()


def test_every_kafka_client_we_construct_gets_the_connection() -> None:
    """A client built without it would connect in plain text to a broker that wants TLS/SASL, or to
    whatever broker the environment names; every one takes its address and security from one object."""
    clients = 0
    for path in (REPO_ROOT / "agents").rglob("*.py"):
        for args in re.findall(r"AIOKafka(?:Consumer|Producer|AdminClient)\((.*?)\)\n", path.read_text(), flags=re.S):
            clients += 1
            assert "kafka.options()" in args and "bootstrap_servers" not in args, f"{path}: a Kafka client not built from the connection"
    assert clients >= 8  # the consumers, producers and admin clients of agents/
    assert not re.search(r"os\.environ|from_env\(", "".join(p.read_text() for p in (REPO_ROOT / "agents").rglob("*.py")
                                                         if p.parent.name not in ("cli", "dev")))


def test_librdkafka_settings_carry_the_same_security() -> None:
    kafka = KafkaConnection.from_settings(replace(BASE, bootstrap="b:9093", security_protocol="SASL_SSL", sasl_username="u",
                                                  sasl_password="s3cret-pw", ssl_cafile="/ca.pem"))
    assert kafka.librdkafka() == {"bootstrap.servers": "b:9093", "security.protocol": "sasl_ssl", "sasl.mechanism": "SCRAM-SHA-512",
                                  "sasl.username": "u", "sasl.password": "s3cret-pw", "ssl.ca.location": "/ca.pem"}
    assert "s3cret-pw" not in repr(kafka)  # the password never reaches a log line
