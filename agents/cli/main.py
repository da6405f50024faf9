"""`python run.py COMMAND` (installed: `alertflow COMMAND`): the one entry point for operators, developers and CI.

A user's mistake or an unreachable broker gives one line on stderr and a non-zero exit, never a
traceback; `ALERTFLOW_DEBUG=1` shows the traceback instead.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import NoReturn

import orjson
from aiokafka.errors import KafkaError

from agents.dev.broker import BrokerError, EmbeddedBroker, broker_for, check_free
from agents.kafka.admin import ensure_topics
from agents.kafka.connection import KafkaConnection, SecurityConfigError
from agents.kafka.reachable import BrokerUnreachable, check_reachable
from agents.kafka.topology import core_topics
from pipeline.context.errors import CatalogueError, TnsError
from pipeline.decode.wire import DecodeError, read_alerts
from pipeline.features.dust import DustMapError, use_map_dir
from pipeline.settings import Settings
from .family_parsers import add_user_parsers, add_watchlist_parsers
from .needs_broker import lacks_broker
from .replay import ReplayError

# What a command may raise that is the user's environment, not a bug: shown as one line.
USER_ERRORS = (KafkaError, OSError, BrokerError, BrokerUnreachable, SecurityConfigError, ReplayError, CatalogueError, TnsError, DustMapError)


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings.from_env(bootstrap=getattr(args, "bootstrap", None))


def reachable(settings: Settings) -> KafkaConnection:
    """The connection, once some bootstrap address answers (BrokerUnreachable, one line, if none does)."""
    kafka = KafkaConnection.from_settings(settings)
    check_reachable(kafka)
    return kafka


def cmd_broker(args: argparse.Namespace) -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # before the address is printed: a caller may stop us at once
    with EmbeddedBroker(port=args.port) as broker:
        print(broker.bootstrap, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            broker.process.wait()  # type: ignore[union-attr]
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from faust import Worker

    from agents.worker.app import create_app
    from pipeline.observe.logs import logging_config

    settings = settings_from(args)
    try:
        check_free(settings.web_port, settings.web_host)
    except BrokerError as error:
        raise BrokerError(f"{error}: another worker on this host? Give each its own ALERTFLOW_WEB_PORT") from None
    if settings.bootstrap:
        reachable(settings)
    with broker_for(settings) as (settings, kafka, _):
        asyncio.run(ensure_topics(kafka, core_topics(settings)))
        app = create_app(settings, kafka)
        worker = Worker(app, loglevel=settings.log_level.lower().replace("warning", "warn"), quiet=True,
                        logging_config=logging_config(settings.log_level, settings.log_format))
        worker.execute_from_commandline()
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from pipeline.synthetic.alerts import synthetic_messages
    from schemas import SAMPLES
    from .replay import check_paths, file_messages, produce

    if not args.paths and not args.samples and args.synthetic is None:
        print("replay: give files, --samples, or --synthetic N", file=sys.stderr)
        return 2
    if args.catalogue is not None and args.synthetic is None:
        print("replay: --catalogue writes the catalogue of synthetic alerts: give --synthetic N too", file=sys.stderr)
        return 2
    settings = settings_from(args)
    if lacks_broker("replay", settings, " (see `run.py broker`)"):
        return 2
    if args.synthetic is not None:
        messages, total = synthetic_messages(args.synthetic, args.seed), args.synthetic
    else:
        paths = [Path(p) for p in args.paths] + (sorted(Path(str(f)) for f in SAMPLES.iterdir()) if args.samples else [])
        check_paths(paths)
        messages, total = file_messages(paths, loop=args.loop), None
    kafka = reachable(settings)
    if args.catalogue is not None:
        write_catalogue(args.catalogue, args.synthetic, args.seed)
    asyncio.run(ensure_topics(kafka, core_topics(settings)))
    counted = Counted(messages)
    ends = asyncio.run(produce(kafka, settings.alert_topic, counted, rate=args.rate, total=total, progress=sys.stderr.isatty()))
    print(f"replayed {counted.n} messages on {settings.alert_topic} (next offset per partition: {dict(sorted(ends.items()))})")
    return 0


def write_catalogue(folder: str, n_alerts: int, seed: int) -> None:
    """The synthetic alerts' context catalogue (hosts, stars, QSOs), for the workers' ALERTFLOW_CONTEXT_CATALOGUES."""
    from pipeline.synthetic.catalogue import write_synthetic_catalogue

    paths = write_synthetic_catalogue(folder, n_alerts, seed)
    print(f"catalogue of the {n_alerts} synthetic alerts: ALERTFLOW_CONTEXT_CATALOGUES={','.join(map(str, paths))}")


class Counted:
    """An iterable that counts what it has handed out: the messages this run sent."""

    def __init__(self, items: Iterable[bytes]) -> None:
        self.items, self.n = items, 0

    def __iter__(self) -> Iterator[bytes]:
        for item in self.items:
            self.n += 1
            yield item


def cmd_decode(args: argparse.Namespace) -> int:
    from pipeline.features.ingest import with_features

    status = 0
    for path in args.files:
        try:
            for alert in read_alerts(Path(path)):
                ingested = with_features(alert)
                out = {"alert": alert.to_json_dict(), "objects": ingested.row}
                sys.stdout.buffer.write(orjson.dumps(out, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY) + b"\n")
        except (DecodeError, OSError) as error:
            print(f"error: {path}: {error}", file=sys.stderr)
            status = 1
    return status


def cmd_filter(args: argparse.Namespace) -> int:
    from .filter import run_filter_command

    return run_filter_command(args, settings_from(args))


def cmd_tns(args: argparse.Namespace) -> int:
    from .tns import load

    settings = settings_from(args)
    if lacks_broker("tns load", settings):
        return 2
    print(asyncio.run(load(args, settings, reachable(settings))))
    return 0


def cmd_annotations(args: argparse.Namespace) -> int:
    from .annotations import run_annotations_command

    return run_annotations_command(args, settings_from(args))


def cmd_consume(args: argparse.Namespace) -> int:
    from .consume import consume

    settings = settings_from(args)
    if lacks_broker("consume", settings):
        return 2
    return consume(reachable(settings), args.topic, group=args.group, from_start=args.from_start, max_records=args.max, timeout=args.timeout)


def cmd_status(args: argparse.Namespace) -> int:
    from .status import run_status

    return run_status(settings_from(args))


def cmd_bench(args: argparse.Namespace) -> int:
    from agents.dev import bench_inprocess as benchmarks

    if args.what == "decode":
        print(benchmarks.format_decode(benchmarks.bench_decode(args.alerts or 2000, args.seed)))
    elif args.what == "filters":
        print(benchmarks.bench_filters(args.alerts or 10_000, args.filters, args.seed))
    elif args.what == "pipeline":
        from agents.dev.bench_pipeline import Schedule, run_pipeline_bench

        schedule = Schedule(rate=args.rate, burst=args.burst, every=args.every)
        return run_pipeline_bench(settings_from(args), args.alerts or 5000, args.filters, args.workers, schedule, args.seed,
                                  args.catalogue_sources)
    elif args.what == "context":
        from agents.dev.bench_context import main as bench_context

        bench_context(args.sources, args.alerts or 3000, args.seed)
    elif args.what == "watchlists":
        from agents.dev.bench_watchlists import bench_watchlists, format_watchlists

        print(format_watchlists(bench_watchlists(**({"n_alerts": args.alerts} if args.alerts else {}), seed=args.seed)))
    elif args.what == "soak":
        from agents.dev.bench_soak import run_soak

        return run_soak(settings_from(args), args.minutes, args.rate or 300.0, args.filters, args.seed)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from agents.dev.demo import run_demo

    return run_demo(settings_from(args), synthetic=args.synthetic, seed=args.seed)


def cmd_web(args: argparse.Namespace) -> int:
    from agents.web.app import serve

    with broker_for(settings_from(args)) as (settings, kafka, _):
        serve(settings, kafka)
    return 0


class Parser(argparse.ArgumentParser):
    """argparse with its errors on one line (usage is one `--help` away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def bounded_int(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: an integer in [low, high], else an error naming the range."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{value} is out of range: {low} to {high}" if high is not None else f"{value} is below {low}")
        return value
    return parse


BOOTSTRAP_HELP = "Kafka bootstrap servers (default: ALERTFLOW_BOOTSTRAP, else embedded)"


def with_bootstrap(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    # SUPPRESS: a sub-command's parser must not overwrite a --bootstrap given before it with None
    p.add_argument("--bootstrap", default=argparse.SUPPRESS, help=BOOTSTRAP_HELP)
    return p


def parser() -> argparse.ArgumentParser:
    p = Parser(description="alertflow: Rubin alerts in, filtered streams out.")
    sub = p.add_subparsers(dest="command", required=True)

    def command(name: str, func, help: str, bootstrap: bool = True) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help, description=help)
        if bootstrap:
            with_bootstrap(sp)
        sp.set_defaults(func=func)
        return sp

    b = command("broker", cmd_broker, "run the embedded Tansu broker in the foreground, printing its address", bootstrap=False)
    b.add_argument("--port", type=bounded_int(1, 65535), default=None, help="listen on this port (default: a free one)")
    command("worker", cmd_worker, "run a worker (Faust) against the broker")
    r = command("replay", cmd_replay, "put alerts from files (wire, Avro container, JSON) or synthetic ones on the alert topic")
    r.add_argument("paths", nargs="*")
    r.add_argument("--rate", type=float, default=None, help="alerts per second (default: as fast as possible)")
    r.add_argument("--loop", action="store_true", help="repeat the files until interrupted")
    r.add_argument("--samples", action="store_true", help="the sample alerts shipped in the package (schemas/rubin/samples), after any files")
    r.add_argument("--synthetic", type=bounded_int(0), default=None, metavar="N", help="generate N synthetic v11 alerts")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--catalogue", metavar="FOLDER", help="with --synthetic: also write the alerts' context catalogue files there")
    f = command("filter", cmd_filter, "check, test and manage filters")
    fsub = f.add_subparsers(dest="action", required=True)

    def action(name: str, help: str) -> argparse.ArgumentParser:
        return with_bootstrap(fsub.add_parser(name, help=help, description=help))

    fc = fsub.add_parser("check", help="compile a filter: normalised SQL, output fields, columns, or the error (exit 2)")
    fc.add_argument("sql")
    fc.add_argument("--user", help="with a broker: also warn of watchlists and areas this user may not see")
    ft = action("test", "dry run: the records a filter would emit for the alerts in files, and its match rate")
    ft.add_argument("sql")
    ft.add_argument("files", nargs="+")
    ft.add_argument("--mode", choices=["plain", "lite", "full"], default="plain")
    ft.add_argument("--limit", type=int, default=10, help="records to print (default 10)")
    ft.add_argument("--catalogue", help="context catalogue files, comma-separated (default: ALERTFLOW_CONTEXT_CATALOGUES)")
    ft.add_argument("--tns", metavar="FILE", help="a TNS objects CSV to match against (default: the TNS topic when a broker is given)")
    fa = action("add", "save a filter; prints its id and topic")
    fa.add_argument("--user", required=True)
    fa.add_argument("--name", required=True)
    fa.add_argument("--mode", required=True, choices=["plain", "lite", "full", "email"])
    fa.add_argument("--sql", help="the filter's SQL; or Lasair's three-part form: --select, --tables, --where")
    fa.add_argument("--select", help="Lasair's `selected` part (with --tables and --where)")
    fa.add_argument("--tables", help="Lasair's `tables` part: objects, sherlock_classifications, crossmatch_tns, ...")
    fa.add_argument("--where", help="Lasair's `conditions` part (may be omitted)")
    fa.add_argument("--email")
    fa.add_argument("--description", default="")
    fa.add_argument("--public", action="store_true")
    fa.add_argument("--quota-bytes", type=int)
    fu = action("update", "change a filter; its stream is emptied and re-seeded if the SQL, mode or name changed")
    fu.add_argument("id")
    fu.add_argument("--name")
    fu.add_argument("--mode", choices=["plain", "lite", "full", "email"])
    fu.add_argument("--sql")
    fu.add_argument("--email")
    fu.add_argument("--description")
    fu.add_argument("--active", choices=["yes", "no"])
    fu.add_argument("--public", choices=["yes", "no"])
    fu.add_argument("--quota-bytes", type=int)
    fd = action("delete", "delete a filter and its topic")
    fd.add_argument("id")
    action("list", "every filter, a line each")
    fs = action("show", "one filter with today's volume")
    fs.add_argument("id")
    t = command("tns", cmd_tns, "the Transient Name Server's objects, for crossmatch_tns")
    tsub = t.add_subparsers(dest="action", required=True)
    tl = with_bootstrap(tsub.add_parser("load", help="publish a TNS objects CSV (or .csv.zip) to the TNS topic",
                                        description="a full file replaces the set; --incremental (a daily or hourly file) updates it"))
    tl.add_argument("file")
    tl.add_argument("--incremental", action="store_true", help="upsert the file's objects, remove none")
    an = command("annotator", cmd_annotations, "register annotators (outside classifiers) and their owners")
    ansub = an.add_subparsers(dest="action", required=True)
    ana = with_bootstrap(ansub.add_parser("add", help="register an annotator topic for a user (only they may annotate under it)"))
    ana.add_argument("--user", required=True)
    ana.add_argument("--topic", required=True)
    ana.add_argument("--description", default="")
    ana.add_argument("--url", default="")
    ana.add_argument("--public", action="store_true", help="list it for other users (anyone may filter on its annotations)")
    at = command("annotate", cmd_annotations, "store an annotation of an object under your annotator topic")
    at.add_argument("--user", required=True, help="your user id (the annotator topic's owner)")
    at.add_argument("--topic", required=True)
    at.add_argument("--object", required=True, help="the diaObjectId")
    at.add_argument("--classification", required=True)
    at.add_argument("--version", default="0.1")
    at.add_argument("--explanation", default="")
    at.add_argument("--classdict", default="{}", help="a JSON object, at most 4096 bytes as JSON text")
    at.add_argument("--url", default="")
    add_user_parsers(command, with_bootstrap)
    c = command("consume", cmd_consume, "print a filter topic's records as JSON, one per line")
    c.add_argument("topic")
    c.add_argument("--group", help="consumer group (committed offsets: a known group gets only newer records)")
    c.add_argument("--from-start", action="store_true", help="read from the start of the topic (a new group does anyway)")
    c.add_argument("--max", type=int, default=None, help="stop after N records")
    c.add_argument("--timeout", type=float, default=10.0, help="stop after this many seconds without a record")
    add_watchlist_parsers(command, bounded_int(1))
    command("status", cmd_status, "per filter: today's matches, volume against quota, pending digest; the worker group's lag")
    d = command("decode", cmd_decode, "print each alert's normalised JSON and its objects row", bootstrap=False)
    d.add_argument("files", nargs="+")
    be = command("bench", cmd_bench, "benchmarks (pipeline: on the embedded broker unless --bootstrap)")
    be.add_argument("what", choices=["decode", "filters", "pipeline", "soak", "context", "watchlists"])
    be.add_argument("--alerts", type=int, default=None, help="alerts to run (decode: 2000, filters: 10000)")
    be.add_argument("--filters", type=int, default=1000, help="filters (bench filters)")
    be.add_argument("--seed", type=int, default=1)
    be.add_argument("--workers", type=int, default=1, help="worker processes (bench pipeline)")
    be.add_argument("--rate", type=float, default=None, help="alerts/s sent (bench pipeline; default: as fast as possible)")
    be.add_argument("--burst", type=int, default=0, help="send alerts in bursts of this size (bench pipeline)")
    be.add_argument("--every", type=float, default=40.0, help="seconds between bursts (bench pipeline)")
    be.add_argument("--sources", type=bounded_int(1), default=10_000_000, help="catalogue sources (bench context)")
    be.add_argument("--catalogue-sources", type=bounded_int(0), default=1_000_000,
                    help="random context sources beside the alerts' hosts (bench pipeline; 0: no context)")
    be.add_argument("--minutes", type=float, default=5.0, help="duration (bench soak; its --rate defaults to 300)")
    command("web", cmd_web, "serve the web pages: sign in, make, save and watch filters (ALERTFLOW_UI_HOST:ALERTFLOW_UI_PORT)")
    m = command("demo", cmd_demo, "the main job on the embedded default: broker, sample alerts replayed, a worker, results")
    m.add_argument("--synthetic", type=int, default=2000)
    m.add_argument("--seed", type=int, default=0)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        use_map_dir(settings_from(args).sfd_map_dir)  # which dust map `ebv` comes from, for every command
        return args.func(args)
    except USER_ERRORS as error:
        if os.environ.get("ALERTFLOW_DEBUG"):
            raise
        print(f"{args.command}: {one_line(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def one_line(error: BaseException) -> str:
    """An exception as one line: its message, or its type where it has none."""
    text = " ".join(str(error).split()) or type(error).__name__
    if isinstance(error, OSError) and error.strerror:
        text = f"{error.filename + ': ' if error.filename else ''}{error.strerror}"
    return text
