"""Terminal output: live progress on a TTY, plain log lines for cron, and the end-of-scan summary."""
from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from auditor.models import AuditResult, Status

OUT = Console(highlight=False)
ERR = Console(stderr=True, highlight=False)

_TOP_FAILING = 15
_STATUS_STYLE = {"PASS": "green", "FAIL": "bold red", "ERROR": "yellow", "WAIVED": "cyan",
                 "NOT_APPLICABLE": "dim", "MANUAL": "blue"}


@contextmanager
def progress(quiet: bool) -> Iterator[object]:
    if quiet:
        yield None
        return
    if not ERR.is_terminal:
        lock = threading.Lock()

        def log(collector: str, region: str, state: str) -> None:
            if state != "start":
                with lock:
                    print(f"auditor: collected {collector} in {region}: {'ok' if state == 'done' else 'with gaps'}",
                          file=sys.stderr, flush=True)
        yield log
        return
    bar = Progress(TextColumn("[bold]collecting[/]"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.description}"), TimeElapsedColumn(), console=ERR, transient=True)
    task = bar.add_task("", total=None)
    started = {"n": 0}

    def update(collector: str, region: str, state: str) -> None:
        if state == "start":
            started["n"] += 1
            bar.update(task, total=started["n"], description=f"{collector} · {region}")
        else:
            mark = "" if state == "done" else " [yellow](gaps)[/]"
            bar.update(task, advance=1, description=f"{collector} · {region}{mark}")
    with bar:
        yield update


def summary(result: AuditResult, written: list[Path]) -> None:
    s = result.summary
    OUT.print(f"\n[bold]Account {result.identity.account_id}[/] · {len(result.regions)} region(s) · "
              f"{s.checks_run} checks · {s.resources} resources")
    counts = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for name in ("PASS", "FAIL", "WAIVED", "ERROR", "NOT_APPLICABLE", "MANUAL"):
        counts.add_column(name, justify="right", style=_STATUS_STYLE[name])
    counts.add_row(*(str(s.by_status.get(n, 0)) for n in ("PASS", "FAIL", "WAIVED", "ERROR", "NOT_APPLICABLE",
                                                           "MANUAL")))
    OUT.print(counts)
    fails = [f for f in result.findings if f.status is Status.FAIL]
    if fails:
        table = Table(title="Failing checks", title_justify="left", header_style="bold")
        table.add_column("severity")
        table.add_column("check")
        table.add_column("failing", justify="right")
        per: dict[tuple[str, str], int] = {}
        for f in fails:
            per[(f.severity.value, f.check_id)] = per.get((f.severity.value, f.check_id), 0) + 1
        rank = {"critical": 0, "high": 1, "medium": 2, "low": 3, "informational": 4}
        ordered = sorted(per.items(), key=lambda kv: (rank[kv[0][0]], kv[0][1]))
        for (sev, cid), n in ordered[:_TOP_FAILING]:
            table.add_row(sev, cid, str(n))
        if len(ordered) > _TOP_FAILING:  # the rest is in the report; a terminal summary must stay readable
            table.add_row("", f"... and {len(ordered) - _TOP_FAILING} more failing checks", "")
        OUT.print(table)
    if result.gaps:
        head = ("[yellow]Incomplete:[/] affected checks are ERROR" if not s.complete
                else "[dim]Optional reads failed; no verdict depends on them[/]")
        OUT.print(f"{head}. {len(result.gaps)} read(s) failed:")
        for action, code in sorted({(g.iam_action, g.error_code) for g in result.gaps}):
            OUT.print(f"  - {action} ({code})")
    score = "n/a" if s.score is None else f"{s.score:.1f}%"
    OUT.print(f"Score: [bold]{score}[/] of judged findings pass.")
    for path in written:
        OUT.print(f"wrote {path}")


def note(text: str) -> None:
    OUT.print(text)


def warn(text: str) -> None:
    ERR.print(f"auditor: warning: {text}", markup=False)


def check_table(rows: list[dict[str, object]]) -> None:
    table = Table(header_style="bold")
    for col in ("id", "severity", "status", "title", "frameworks"):
        table.add_column(col, overflow="fold")
    for r in rows:
        fw = ", ".join(r["frameworks"][:4])  # type: ignore[index]
        table.add_row(str(r["id"]), str(r["severity"]), str(r["status"]), str(r["title"]), fw)
    OUT.print(table)
    OUT.print(f"{len(rows)} item(s)")
