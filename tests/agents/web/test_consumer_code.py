"""The sample consumer on a filter's page."""
from __future__ import annotations

from dataclasses import replace

from agents.kafka.connection import KafkaConnection
from agents.web.consumer_code import consumer_code
from pipeline.settings import Settings


def test_consumer_code_names_the_topic_and_broker_and_never_the_servers_credentials() -> None:
    settings = replace(Settings.from_env({}), bootstrap="kafka-internal:9092", ui_kafka_address="kafka.example.org:9093")
    kafka = KafkaConnection("kafka-internal:9092", "SASL_SSL", "SCRAM-SHA-512", "server", "s3cret", ssl_certfile="/etc/c.pem")
    code = consumer_code(settings, kafka, "lasair_2Hasabsmag")
    assert "'bootstrap.servers': 'kafka.example.org:9093'" in code and "consumer.subscribe(['lasair_2Hasabsmag'])" in code
    assert "'security.protocol': 'sasl_ssl'" in code and "YOUR PASSWORD" in code
    assert "s3cret" not in code and "'server'" not in code and "/etc/c.pem" not in code
    compile(code, "consumer.py", "exec")  # the sample is valid Python
