"""The sample consumer of Lasair's alert-streams page, with a filter's topic and our broker filled in."""
from __future__ import annotations

from agents.kafka.connection import KafkaConnection
from pipeline.settings import Settings

TEMPLATE = """import json
from confluent_kafka import Consumer

settings = {{
{settings}
    'group.id': 'test123',  # any string; a new one starts from the oldest record kept (7 days)
    'auto.offset.reset': 'earliest',
    # 'session.timeout.ms': 6000,  # on the embedded Tansu broker: see the note below
}}
consumer = Consumer(settings)
consumer.subscribe(['{topic}'])
n = 0
while n < 10:
    msg = consumer.poll(timeout=20)
    if msg is None:
        break
    if msg.error():
        print(str(msg.error()))
        break
    jmsg = json.loads(msg.value())
    print(json.dumps(jmsg, indent=2))
    print('===')
    n += 1
print('No more messages available')
consumer.close()
"""


def consumer_code(settings: Settings, kafka: KafkaConnection, topic: str) -> str:
    """The sample, connecting where users connect (ALERTFLOW_UI_KAFKA_ADDRESS, else the bootstrap) with the
    broker's security protocol; user name and password are left for the user to fill in."""
    config = kafka.librdkafka()
    config["bootstrap.servers"] = settings.ui_kafka_address or config["bootstrap.servers"]
    for key, placeholder in (("sasl.username", "YOUR USER NAME"), ("sasl.password", "YOUR PASSWORD")):
        if key in config:
            config[key] = placeholder  # the server's own credentials are not the user's
    for key in ("ssl.certificate.location", "ssl.key.location", "ssl.ca.location"):
        config.pop(key, None)  # paths on the server's machine
    lines = "\n".join(f"    {key!r}: {value!r}," for key, value in config.items())
    return TEMPLATE.format(settings=lines, topic=topic)
