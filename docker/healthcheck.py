"""Container health check: exit 0 if the worker's web server answers, 1 if not.

Docker runs it (the image's HEALTHCHECK and compose's `healthcheck`). It reads the port from the
same settings object the worker reads, so the check and the worker cannot disagree on it.
"""
from __future__ import annotations

import sys
import urllib.request

from pipeline.settings import Settings

PATH = "/healthz"
ANY_INTERFACE = {"", "0.0.0.0", "::"}


def url(settings: Settings) -> str:
    host = "127.0.0.1" if settings.web_host in ANY_INTERFACE else settings.web_host
    return f"http://{host}:{settings.web_port}{PATH}"


def main() -> int:
    try:
        with urllib.request.urlopen(url(Settings.from_env()), timeout=3) as response:
            return 0 if response.status == 200 else 1
    except OSError as error:  # refused, timed out, HTTP error status
        print(f"unhealthy: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
