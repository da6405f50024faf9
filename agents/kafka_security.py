"""TLS and SASL (PLAIN, SCRAM-SHA-256/512) for every Kafka client the process makes.

One source for both kinds of client: the settings become Faust credentials, and Faust's own
translation turns those into aiokafka's keyword arguments. Production brokers need this; the
embedded Tansu and a local Redpanda run PLAINTEXT, the default.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import faust
from aiokafka.helpers import create_ssl_context
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

from pipeline.settings import Settings

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


class SecurityConfigError(ValueError):
    """Settings that cannot make a connection; refused at start, not at the first message."""


def check(settings: Settings) -> None:
    if settings.security_protocol not in PROTOCOLS:
        raise SecurityConfigError(f"ALERTFLOW_SECURITY_PROTOCOL={settings.security_protocol!r}: expected one of {', '.join(PROTOCOLS)}")
    if settings.security_protocol.startswith("SASL_"):
        if settings.sasl_mechanism not in MECHANISMS:
            raise SecurityConfigError(f"ALERTFLOW_SASL_MECHANISM={settings.sasl_mechanism!r}: expected one of {', '.join(MECHANISMS)}")
        if not settings.sasl_username or not settings.sasl_password:
            raise SecurityConfigError(f"{settings.security_protocol} needs ALERTFLOW_SASL_USERNAME and ALERTFLOW_SASL_PASSWORD")
    if settings.ssl_keyfile and not settings.ssl_certfile:
        raise SecurityConfigError("ALERTFLOW_SSL_KEYFILE is set without ALERTFLOW_SSL_CERTFILE")


def _ssl_context(settings: Settings) -> Any:
    if not settings.security_protocol.endswith("SSL"):
        return None
    return create_ssl_context(cafile=settings.ssl_cafile or None, certfile=settings.ssl_certfile or None,
                              keyfile=settings.ssl_keyfile or None)


def faust_credentials(settings: Settings) -> Any:
    """What `faust.App(broker_credentials=...)` takes; None for PLAINTEXT."""
    check(settings)
    context = _ssl_context(settings)
    if settings.security_protocol.startswith("SASL_"):
        return faust.SASLCredentials(username=settings.sasl_username, password=settings.sasl_password,
                                     mechanism=settings.sasl_mechanism, ssl_context=context)
    if context is not None:
        return faust.SSLCredentials(context)
    return None


@lru_cache(maxsize=8)
def _client_options(settings: Settings) -> dict[str, Any]:
    return dict(credentials_to_aiokafka_auth(faust_credentials(settings)))


def client_options(settings: Settings | None = None) -> dict[str, Any]:
    """aiokafka keyword arguments (security_protocol, sasl_*, ssl_context) for these settings,
    by default the process's own, read from the environment."""
    return _client_options(settings or Settings.from_env())
