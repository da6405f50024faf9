"""The one refusal of every command that talks to Kafka and was given no broker."""
from __future__ import annotations

import sys

from pipeline.settings import Settings


def lacks_broker(what: str, settings: Settings, hint: str = "") -> bool:
    """True, after saying so in one line on stderr, when `what` has no broker to talk to."""
    if settings.bootstrap:
        return False
    print(f"{what}: needs a running broker: --bootstrap HOST:PORT or ALERTFLOW_BOOTSTRAP{hint}", file=sys.stderr)
    return True
