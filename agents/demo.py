"""The main job on the embedded default, start to finish, with output a person can read.

Broker, topics, the bundled sample alerts plus synthetic ones plus a few broken messages
replayed, a worker process, then what the worker did and what landed in the dead-letter topic.
"""
from __future__ import annotations

import asyncio
import itertools
import tempfile
from dataclasses import replace
from pathlib import Path

from pipeline import dead_letter
from pipeline.schemas import SCHEMA_ROOT
from pipeline.settings import Settings
from pipeline.synthetic import synthetic_messages

from .cli import broker_for
from .kafka_admin import ensure_topics, read_records
from .replay import file_messages, produce
from .topology import core_topics
from .worker_process import WorkerProcess

SAMPLES = sorted((SCHEMA_ROOT / "samples").iterdir())


def broken_messages(good: bytes) -> list[bytes]:
    """One of each kind of bad input a broker sees, so the demo shows the dead-letter path."""
    return [b"", good[:40], b"\x00\x00\x00\x00\x07" + good[5:], b"not an alert"]


def run_demo(settings: Settings, synthetic: int, seed: int) -> int:
    with broker_for(settings) as settings, tempfile.TemporaryDirectory(prefix="alertflow-demo-") as tmp:
        settings = replace(settings, data_dir=tmp)
        asyncio.run(ensure_topics(settings.bootstrap, core_topics(settings)))
        samples = list(file_messages(SAMPLES))
        broken = broken_messages(samples[0])
        messages = itertools.chain(samples, synthetic_messages(synthetic, seed), broken)
        total = len(samples) + synthetic + len(broken)
        print(f"replaying {len(samples)} sample alerts, {synthetic} synthetic v11 alerts and {len(broken)} broken messages")
        ends = asyncio.run(produce(settings.bootstrap, settings.alert_topic, messages, total=total))

        log_path = Path(tmp) / "worker.log"
        worker = WorkerProcess.with_free_port(settings, log_path).start()
        try:
            print("worker started; waiting until it has committed every offset ...")
            worker.wait_caught_up(settings.alert_topic, ends, timeout=300)
            stats = worker.stats()
        finally:
            status = worker.stop()
        dead = asyncio.run(read_records(settings.bootstrap, settings.dead_letter_topic, len(broken), timeout=10))
        print_report(stats, dead, status, log_path)
        ok = stats["alerts_processed"] == total - len(broken) and len(dead) == len(broken)
        return 0 if ok and status == 0 else 1


def print_report(stats: dict, dead: list, status: int, log_path: Path) -> None:
    print()
    print(f"alerts processed   {stats['alerts_processed']}")
    print(f"worker rate        {stats['alerts_per_second']} alerts/s (first to last alert, one process)")
    print(f"dead-lettered      {stats['dead_lettered']} {stats['dead_letter_reasons']}")
    print(f"last objects row   {stats['last_object']}")
    print()
    print("dead-letter topic:")
    for record in dead:
        headers = {k: v.decode() for k, v in record.headers}
        where = f"{headers[dead_letter.SOURCE_TOPIC]}[{headers[dead_letter.SOURCE_PARTITION]}]@{headers[dead_letter.SOURCE_OFFSET]}"
        print(f"  {where:<24} {len(record.value or b''):>6} bytes  {headers[dead_letter.REASON]}: {headers[dead_letter.MESSAGE]}")
    print()
    print(f"worker stopped with SIGTERM, exit status {status}")
    tail = log_path.read_text(errors="replace").splitlines()[-3:]
    print("worker log (last lines):", *("  " + line for line in tail), sep="\n")
