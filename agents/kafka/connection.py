"""How to reach the brokers: one connection object, built from the settings once and handed to
every Kafka client the process makes (aiokafka's, Faust's, and the confluent-kafka settings that
users' consumers need).

Nothing below the command line reads the environment: whoever holds a `KafkaConnection` decides
where every client connects and with which TLS/SASL settings. Production brokers need those; the
embedded Tansu and a local Redpanda run PLAINTEXT, the default.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import faust
from aiokafka.helpers import create_ssl_context
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

from pipeline.settings import Settings

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


class SecurityConfigError(ValueError):
    """Settings that cannot make a connection; refused at start, not at the first message."""


@dataclass(frozen=True)
class KafkaConnection:
    bootstrap: str
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str = "SCRAM-SHA-512"
    sasl_username: str = ""
    sasl_password: str = field(default="", repr=False)
    ssl_cafile: str = ""
    ssl_certfile: str = ""
    ssl_keyfile: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> KafkaConnection:
        """The connection the settings describe; SecurityConfigError (naming the variable) if unusable."""
        kafka = cls(settings.bootstrap, settings.security_protocol, settings.sasl_mechanism, settings.sasl_username,
                    settings.sasl_password, settings.ssl_cafile, settings.ssl_certfile, settings.ssl_keyfile)
        kafka.check()
        return kafka

    def check(self) -> None:
        if self.security_protocol not in PROTOCOLS:
            raise SecurityConfigError(f"ALERTFLOW_SECURITY_PROTOCOL={self.security_protocol!r}: expected one of {', '.join(PROTOCOLS)}")
        if self.security_protocol.startswith("SASL_"):
            if self.sasl_mechanism not in MECHANISMS:
                raise SecurityConfigError(f"ALERTFLOW_SASL_MECHANISM={self.sasl_mechanism!r}: expected one of {', '.join(MECHANISMS)}")
            if not self.sasl_username or not self.sasl_password:
                raise SecurityConfigError(f"{self.security_protocol} needs ALERTFLOW_SASL_USERNAME and ALERTFLOW_SASL_PASSWORD")
        if self.ssl_keyfile and not self.ssl_certfile:
            raise SecurityConfigError("ALERTFLOW_SSL_KEYFILE is set without ALERTFLOW_SSL_CERTFILE")

    def _ssl_context(self) -> Any:
        if not self.security_protocol.endswith("SSL"):
            return None
        return create_ssl_context(cafile=self.ssl_cafile or None, certfile=self.ssl_certfile or None,
                                  keyfile=self.ssl_keyfile or None)

    @cached_property
    def faust_credentials(self) -> Any:
        """What `faust.App(broker_credentials=...)` takes; None for PLAINTEXT."""
        context = self._ssl_context()
        if self.security_protocol.startswith("SASL_"):
            return faust.SASLCredentials(username=self.sasl_username, password=self.sasl_password,
                                         mechanism=self.sasl_mechanism, ssl_context=context)
        if context is not None:
            return faust.SSLCredentials(context)
        return None

    @cached_property
    def _aiokafka(self) -> dict[str, Any]:
        # Faust's own translation, so a Faust client and a plain aiokafka one can never disagree.
        return {"bootstrap_servers": self.bootstrap, **credentials_to_aiokafka_auth(self.faust_credentials)}

    def options(self) -> dict[str, Any]:
        """Keyword arguments for any aiokafka client: bootstrap_servers, security_protocol, sasl_*, ssl_context."""
        return dict(self._aiokafka)

    def librdkafka(self) -> dict[str, str]:
        """The same connection for a confluent-kafka (librdkafka) client, as astronomers' consumers use."""
        config = {"bootstrap.servers": self.bootstrap, "security.protocol": self.security_protocol.lower()}
        if self.security_protocol.startswith("SASL_"):
            config.update({"sasl.mechanism": self.sasl_mechanism, "sasl.username": self.sasl_username,
                           "sasl.password": self.sasl_password})
        for key, value in (("ssl.ca.location", self.ssl_cafile), ("ssl.certificate.location", self.ssl_certfile),
                           ("ssl.key.location", self.ssl_keyfile)):
            if value:
                config[key] = value
        return config
