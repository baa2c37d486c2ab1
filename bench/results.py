"""Result rows, their verdicts against targets, and the Markdown/JSON they are written as."""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


@dataclass(frozen=True)
class Row:
    """One measurement. `target` bounds the ratio (value / floor) when there is a floor,
    else the value itself; `status` overrides the verdict ("pending", "info")."""

    benchmark: str
    case: str
    value: float | None
    unit: str
    floor: float | None = None
    target: float | None = None
    note: str = ""
    status: str | None = None

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.floor:
            return None
        return self.value / self.floor

    @property
    def bounded(self) -> float | None:
        return self.ratio if self.floor else self.value

    @property
    def verdict(self) -> str:
        if self.status:
            return self.status
        if self.target is None or self.bounded is None:
            return "info"
        return "met" if self.bounded <= self.target + 1e-9 else "MISSED"

    def as_json(self) -> dict:
        return {**asdict(self), "ratio": self.ratio, "verdict": self.verdict}


def fmt(value: float | None, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if unit in ("requests", "runs", "records"):
        text = f"{value:,.0f}"
    elif abs(value) >= 1000:
        text = f"{value:,.0f}"
    elif abs(value) >= 100:
        text = f"{value:.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".strip()


def target_text(row: Row) -> str:
    if row.target is None:
        return "—"
    what = "ratio" if row.floor else row.unit
    return f"≤ {fmt(row.target)} ({what})" if row.floor else f"≤ {fmt(row.target, row.unit)}"


def render_table(rows: Sequence[Row]) -> str:
    lines = ["| benchmark | case | measured | floor | ratio | target | verdict | note |",
             "|---|---|---:|---:|---:|---|---|---|"]
    for r in rows:
        verdict = f"**{r.verdict}**" if r.verdict == "MISSED" else r.verdict
        lines.append(f"| {r.benchmark} | {r.case} | {fmt(r.value, r.unit)} | {fmt(r.floor, r.unit)} | "
                     f"{fmt(r.ratio)} | {target_text(r)} | {verdict} | {r.note} |")
    return "\n".join(lines)


def render_console(rows: Sequence[Row]) -> str:
    out = []
    for r in rows:
        ratio = f"  ratio {fmt(r.ratio)}" if r.ratio is not None else ""
        floor = f"  floor {fmt(r.floor, r.unit)}" if r.floor is not None else ""
        out.append(f"[{r.verdict:>7}] {r.benchmark:<9} {r.case:<48} {fmt(r.value, r.unit):>12}{floor}{ratio}"
                   f"  target {target_text(r)}")
    return "\n".join(out)


def render_section(rows: Sequence[Row], machine: Sequence[tuple[str, str]], scale: str, command: str,
                   started: str, seconds: float) -> str:
    facts = "\n".join(f"| {k} | {v} |" for k, v in machine)
    return (f"{BEGIN}\n"
            f"Scale `{scale}`, run {started} with `{command}` ({seconds / 60:.1f} min in all).\n\n"
            f"| machine | |\n|---|---|\n{facts}\n\n{render_table(rows)}\n{END}")


def write_outputs(out_dir: Path, rows: Sequence[Row], machine: Sequence[tuple[str, str]], scale: str,
                  command: str, started: str, seconds: float) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = re.sub(r"[^0-9]", "", started)[:12]
    json_path = out_dir / f"results-{scale}-{stamp}.json"
    json_path.write_text(json.dumps({"scale": scale, "started": started, "seconds": seconds,
                                     "machine": dict(machine), "rows": [r.as_json() for r in rows]}, indent=2),
                         encoding="utf-8")
    md_path = out_dir / f"results-{scale}-{stamp}.md"
    md_path.write_text(render_section(rows, machine, scale, command, started, seconds) + "\n", encoding="utf-8")
    return json_path, md_path


def update_results_file(path: Path, section: str) -> None:
    """Replace the generated part of RESULTS.md, keeping the hand-written analysis around it."""
    text = path.read_text(encoding="utf-8") if path.exists() else f"# Benchmark results\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        text = text.rstrip() + f"\n\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(head + section + tail, encoding="utf-8")
