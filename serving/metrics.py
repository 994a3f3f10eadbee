"""Prometheus text-format metrics (docs/SPEC.md section 13.5): appends,
refusals by type, the append latency histogram (request to durable commit),
log size, and the series of other parts registered in ``sources`` (open
event streams; the witness submitter's ``render_metrics``). Counters live in
one object the middleware feeds."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


@dataclass
class Metrics:
    appends: int = 0
    refusals: Counter[str] = field(default_factory=Counter)
    latency_buckets: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))
    latency_sum: float = 0.0
    # Callables returning Prometheus text for more families, appended as they are.
    sources: list[Callable[[], str]] = field(default_factory=list)

    def appended(self, seconds: float) -> None:
        self.appends += 1
        self.latency_sum += seconds
        for i, bound in enumerate(BUCKETS):
            if seconds <= bound:
                self.latency_buckets[i] += 1

    def refused(self, code: str) -> None:
        self.refusals[code] += 1

    def render(self, log_size: int) -> str:
        lines = [
            "# HELP liquid_mandate_appends_total Statements appended to the log.",
            "# TYPE liquid_mandate_appends_total counter",
            f"liquid_mandate_appends_total {self.appends}",
            "# HELP liquid_mandate_refusals_total Requests refused, by problem type.",
            "# TYPE liquid_mandate_refusals_total counter",
        ]
        lines += [f'liquid_mandate_refusals_total{{type="{code}"}} {n}' for code, n in sorted(self.refusals.items())]
        lines += [
            "# HELP liquid_mandate_append_seconds Commit latency: from request to durable receipt.",
            "# TYPE liquid_mandate_append_seconds histogram",
        ]
        lines += [
            f'liquid_mandate_append_seconds_bucket{{le="{b}"}} {n}' for b, n in zip(BUCKETS, self.latency_buckets)
        ]
        lines += [
            f'liquid_mandate_append_seconds_bucket{{le="+Inf"}} {self.appends}',
            f"liquid_mandate_append_seconds_sum {self.latency_sum:.6f}",
            f"liquid_mandate_append_seconds_count {self.appends}",
            "# HELP liquid_mandate_log_size Entries in the log.",
            "# TYPE liquid_mandate_log_size gauge",
            f"liquid_mandate_log_size {log_size}",
        ]
        return "\n".join(lines) + "\n" + "".join(source() for source in self.sources)


def gauge(name: str, help_text: str, value: float) -> str:
    """One gauge family of one unlabelled sample, in Prometheus text."""
    return _family("gauge", name, help_text, value)


def counter(name: str, help_text: str, value: float) -> str:
    """One counter family (``name`` ends in ``_total``) of one unlabelled sample."""
    return _family("counter", name, help_text, value)


def _family(kind: str, name: str, help_text: str, value: float) -> str:
    return f"# HELP {name} {help_text}\n# TYPE {name} {kind}\n{name} {value}\n"
