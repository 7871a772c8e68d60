"""Spreadsheet summaries of a batch: summary.csv (a row per student) and interop.csv, and the
reader of interop.csv (a later run shows the matrix again in report.html).

Written with the csv module; plain UTF-8 without a byte-order mark, as other tools expect.
Every text cell a student controls (names, reasons, interop outcomes) goes through
`spreadsheet_cell()`: control characters (ESC, OSC 52, clear-screen) and newlines made visible,
as in every other report, and a cell that starts like a formula (=, +, -, @, tab, CR)
prefixed with ' as OWASP's CSV-injection advice says.
"""
from __future__ import annotations

import csv
import io

from ...harness.results import Batch
from . import num, spreadsheet_cell, without_surrogates

HEADER = ["student", "status", "score", "max_score", "reason"]
INTEROP_CORNER = "client\\server"


def render(batch: Batch) -> bytes:
    """summary.csv: the fixed columns, then the points of every check in batch.check_ids."""
    rows = [[f"# note: {w}"] for w in batch.warnings] + [HEADER + list(batch.check_ids)]
    for result in sorted(batch.students, key=lambda r: (r.student.casefold(), r.student)):
        run = result.run
        max_score = batch.max_score or (run.max_score if run else 0.0)
        points = {c.id: num(c.points) for c in run.checks} if run else {}
        rows.append([spreadsheet_cell(result.student), result.status, num(result.score),
                     num(max_score), spreadsheet_cell(result.reason)]
                    + [points.get(check_id, "") for check_id in batch.check_ids])
    return _write(rows)


def render_interop(batch: Batch) -> bytes:
    """interop.csv: a row per client, a column per server, "ok" or why they could not talk."""
    clients = sorted({c for c, _ in batch.interop}, key=lambda s: (s.casefold(), s))
    servers = sorted({s for _, s in batch.interop}, key=lambda s: (s.casefold(), s))
    rows = [[INTEROP_CORNER] + [spreadsheet_cell(s) for s in servers]]
    rows += [[spreadsheet_cell(client)] + [spreadsheet_cell(batch.interop.get((client, server), ""))
                                           for server in servers]
             for client in clients]
    return _write(rows)


def read_interop(data: bytes) -> dict[tuple[str, str], str]:
    """interop.csv back into the matrix ({} when it is not one); names as the cells show them."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    if not rows or not rows[0] or rows[0][0] != INTEROP_CORNER:
        return {}
    servers = rows[0][1:]
    return {(row[0], server): cell for row in rows[1:] if row
            for server, cell in zip(servers, row[1:]) if cell}


def _write(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return without_surrogates(buffer.getvalue()).encode("utf-8")
