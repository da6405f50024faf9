"""Log output: human-readable lines by default, or one JSON object per line for log collectors.

Both formats carry the fields a broker operator searches by when a log call passes them with
`extra=` (`filter_id`, `diaObjectId`, `diaSourceId`, and any other extra), and the traceback of
an exception. Times are UTC, ISO 8601, with milliseconds.

    log.warning("digest of filter %s not sent", fid, extra={"filter_id": fid})

text:  2025-06-01T12:00:00.123Z [4242] WARNING alertflow.digests: digest of filter f1 not sent [filter_id=f1]
json:  {"time":"2025-06-01T12:00:00.123Z","level":"WARNING","logger":"alertflow.digests",
        "message":"digest of filter f1 not sent","process":4242,"filter_id":"f1"}

The Faust worker sets logging up itself when it starts (and clears the root logger's handlers
first), so hand it `logging_config(level, fmt)` (`faust.Worker(app, logging_config=...)`);
`configure_logging` is for commands that run without a Faust worker.
"""
from __future__ import annotations

import datetime as dt
import logging
import logging.config
from typing import Any

import orjson

FORMATS = ("text", "json")
# Fields shown first, in this order, when a log call passes them.
KNOWN_FIELDS = ("filter_id", "diaObjectId", "diaSourceId")
# Every attribute a LogRecord has without `extra=` (plus what formatters add): the rest is extra.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "extra", "log_color", "taskName"}


def utc_time(record: logging.LogRecord) -> str:
    stamp = dt.datetime.fromtimestamp(record.created, dt.timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """What the log call passed with `extra=` (and mode's `data=` dict), known fields first."""
    found = {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}
    data = found.pop("data", None)
    if isinstance(data, dict):
        found.update({str(k): v for k, v in data.items() if k not in found})
    elif data is not None:
        found["data"] = data
    ordered = {k: found.pop(k) for k in KNOWN_FIELDS if k in found}
    return {**ordered, **found}


class TextFormatter(logging.Formatter):
    """`TIME [PID] LEVEL LOGGER: MESSAGE [key=value ...]`, then the traceback, if any."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{utc_time(record)} [{record.process}] {record.levelname} {record.name}: {record.getMessage()}"
        extras = extra_fields(record)
        if extras:
            line += " [" + " ".join(f"{k}={v}" for k, v in extras.items()) + "]"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (tracebacks are escaped inside it)."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": utc_time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        for key, value in extra_fields(record).items():
            out.setdefault(key, value)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(out, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


def _checked(level: str, fmt: str) -> tuple[str, str]:
    fmt = (fmt or "text").lower()
    if fmt not in FORMATS:
        raise ValueError(f"log format {fmt!r}: expected one of {', '.join(FORMATS)}")
    name = {"WARN": "WARNING"}.get(level.upper(), level.upper())
    if not isinstance(logging.getLevelName(name), int):
        raise ValueError(f"log level {level!r}: expected DEBUG, INFO, WARNING or ERROR")
    return name, fmt


def logging_config(level: str = "INFO", fmt: str = "text") -> dict[str, Any]:
    """A `logging.config.dictConfig` dict: every logger, Faust's too, through one stderr handler."""
    level, fmt = _checked(level, fmt)
    formatter = JsonFormatter if fmt == "json" else TextFormatter
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"alertflow": {"()": f"{formatter.__module__}.{formatter.__qualname__}"}},
        "handlers": {"alertflow": {"class": "logging.StreamHandler", "formatter": "alertflow", "stream": "ext://sys.stderr"}},
        "root": {"level": level, "handlers": ["alertflow"]},
    }


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    """Set up the root logger in this process (replacing its handlers)."""
    logging.config.dictConfig(logging_config(level, fmt))
