"""Benchmark harness: our code against the peer, in one process, on the same inputs.

Each case runs both callables ``warmup`` times first (JIT compilation and caches are excluded),
then ``repeat`` times alternately (ours, peer, ours, peer, ...) so drift on a shared, noisy
machine hits both; it records every time, the median, and ``speedup = peer_median / ours_median``
(> 1 means we are faster). ``write()`` stores ``benchmarks/results/<name>.json`` (with an
environment record) and a Markdown table ``benchmarks/results/<name>.md``.

Example
-------
>>> bench = Benchmark("demo", results_dir=tmp)                       # doctest: +SKIP
>>> bench.compare("sum n=1e6", ours=lambda: x.sum(), peer=lambda: sum(x),
...               peer_name="builtin sum", check=lambda a, b: {"abs_diff": abs(a - b)})
>>> bench.write()
"""

from __future__ import annotations

import json
import platform
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass
class Case:
    name: str
    peer_name: str
    ours_s: list[float]
    peer_s: list[float]
    params: dict[str, Any] = field(default_factory=dict)
    check: dict[str, Any] = field(default_factory=dict)

    @property
    def ours_median(self) -> float:
        return statistics.median(self.ours_s)

    @property
    def peer_median(self) -> float:
        return statistics.median(self.peer_s) if self.peer_s else float("nan")

    @property
    def speedup(self) -> float:
        return self.peer_median / self.ours_median if self.peer_s else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {
            "case": self.name, "peer": self.peer_name, "params": self.params,
            "ours_median_s": self.ours_median, "peer_median_s": self.peer_median,
            "speedup": self.speedup, "ours_s": self.ours_s, "peer_s": self.peer_s,
            "check": self.check,
        }


def _time_once(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def environment() -> dict[str, Any]:
    """Versions and machine facts stored beside every benchmark result."""
    info: dict[str, Any] = {"python": platform.python_version(), "machine": platform.machine(),
                            "processor": platform.processor(), "node": platform.node()}
    try:
        from workbench.sweep.store import environment_record

        info.update(environment_record())
    except Exception as exc:  # pragma: no cover - the record is informative only
        info["environment_error"] = repr(exc)
    return info


class Benchmark:
    """Collects comparison cases for one module and writes them out."""

    def __init__(self, name: str, *, results_dir: str | Path | None = None):
        self.name = name
        self.results_dir = Path(results_dir) if results_dir else RESULTS_DIR
        self.cases: list[Case] = []

    def compare(
        self,
        case: str,
        *,
        ours: Callable[[], Any],
        peer: Callable[[], Any] | None,
        peer_name: str,
        repeat: int = 5,
        warmup: int = 1,
        params: dict[str, Any] | None = None,
        check: Callable[[Any, Any], dict[str, Any]] | None = None,
    ) -> Case:
        """Time ``ours`` against ``peer`` (``peer=None`` times ours alone)."""
        ours_out = peer_out = None
        for _ in range(warmup):
            ours_out = ours()
            if peer is not None:
                peer_out = peer()
        ours_s: list[float] = []
        peer_s: list[float] = []
        for _ in range(repeat):
            t, ours_out = _time_once(ours)
            ours_s.append(t)
            if peer is not None:
                t, peer_out = _time_once(peer)
                peer_s.append(t)
        checked = check(ours_out, peer_out) if check is not None else {}
        result = Case(case, peer_name, ours_s, peer_s, dict(params or {}), checked)
        self.cases.append(result)
        print(f"[{self.name}] {case}: ours {result.ours_median * 1e3:.2f} ms, "
              f"{peer_name} {result.peer_median * 1e3:.2f} ms, speedup {result.speedup:.2f}x "
              f"{checked}", flush=True)
        return result

    def markdown(self) -> str:
        lines = [f"# Benchmark: {self.name}", "",
                 "Median wall time over repeats, JIT warm-up excluded; speedup = peer / ours.", "",
                 "| case | peer | ours (ms) | peer (ms) | speedup | check |",
                 "| --- | --- | ---: | ---: | ---: | --- |"]
        for c in self.cases:
            check = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                              for k, v in c.check.items())
            lines.append(f"| {c.name} | {c.peer_name} | {c.ours_median * 1e3:.3f} | "
                         f"{c.peer_median * 1e3:.3f} | {c.speedup:.2f} | {check} |")
        return "\n".join(lines) + "\n"

    def write(self) -> Path:
        self.results_dir.mkdir(parents=True, exist_ok=True)
        payload = {"name": self.name, "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                   "environment": environment(), "cases": [c.to_dict() for c in self.cases]}
        path = self.results_dir / f"{self.name}.json"
        path.write_text(json.dumps(payload, indent=2, default=str))
        (self.results_dir / f"{self.name}.md").write_text(self.markdown())
        return path
