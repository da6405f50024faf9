"""The table `bench pipeline` prints of where the workers' CPU went, stage by stage.

Each stage's CPU comes from the workers' `/stats` (their StageClock, differences over the measured
window), the total from /proc; what no stage covers (Faust's fetching and event objects, the
event loop, the web server) is the total minus the stages, shown as `fetch/Faust`.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.observe.stages import STAGES

OUTSIDE = "fetch/Faust"


@dataclass
class StageTable:
    seconds: dict[str, float]  # CPU seconds of every worker, per stage, OUTSIDE first
    alerts: int
    total: float  # the workers' CPU seconds over the window, from /proc
    gc: float = 0.0  # of the stages' and the rest's time, the garbage collector's

    @classmethod
    def between(cls, before: Sequence[Mapping[str, Any]], after: Sequence[Mapping[str, Any]], worker_cpu: Sequence[float]) -> StageTable:
        """From each worker's /stats at the start and the end of the window and its CPU seconds in it."""
        staged = {name: sum(a["stage_cpu_seconds"][name] - b["stage_cpu_seconds"][name] for b, a in zip(before, after)) for name in STAGES}
        total = sum(worker_cpu)
        alerts = sum(a["alerts_processed"] - b["alerts_processed"] for b, a in zip(before, after))
        collected = sum(a.get("gc_cpu_seconds", 0.0) - b.get("gc_cpu_seconds", 0.0) for b, a in zip(before, after))
        return cls({OUTSIDE: total - sum(staged.values()), **staged}, alerts, total, collected)

    def lines(self) -> list[str]:
        per_alert = 1000 / max(self.alerts, 1)
        out = [f"  worker CPU per alert by stage ({self.alerts:,} alerts in the window; stages: thread CPU from /stats, total: /proc)",
               f"    {'stage':<14}{'ms/alert':>9}{'share':>8}"]
        for name, seconds in self.seconds.items():
            out.append(f"    {name:<14}{seconds * per_alert:>9.3f}{seconds / self.total if self.total else float('nan'):>8.1%}")
        out.append(f"    {'total':<14}{self.total * per_alert:>9.3f}{1:>8.1%}")
        out.append(f"    of which garbage collection {self.gc * per_alert:.3f} ms/alert ({self.gc / self.total if self.total else float('nan'):.1%}),"
                   " inside the stages that allocated when it ran")
        return out
