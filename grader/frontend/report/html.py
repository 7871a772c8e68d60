"""The batch as one self-contained HTML page a TA opens from disk or mails around.

Everything is inline (style, a short script, CSS bars) and a Content-Security-Policy forbids
loading anything, so the page works offline and cannot leak that it was opened. Every string
from the model is untrusted (student names are directory names, messages hold program output)
and goes through `_e()`; the script contains no data at all, it only sorts cells and opens
<details> elements.
"""
from __future__ import annotations

import html
from typing import Optional

from ...harness.results import (
    ERROR,
    FAILED,
    PASSED,
    SKIPPED,
    Batch,
    Check,
    StudentResult,
    now,
    version,
)
from . import log_tail, num, visible

HISTOGRAM_BINS = 10

CSP = ("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
       "base-uri 'none'; form-action 'none'")
CELL = {PASSED: ("pass", "✓"), FAILED: ("fail", "✗"), ERROR: ("error", "!"),
        SKIPPED: ("skip", "-")}
MAX_CELL_REASON = 40     # interop reasons longer than this are cut in the cell, full on hover

STYLE = """
:root { --bg:#fff; --fg:#1d2330; --muted:#667085; --line:#e4e7ec; --head:#f6f7f9;
  --pass:#067647; --pass-bg:#ecfdf3; --fail:#b42318; --fail-bg:#fef3f2;
  --warn:#b54708; --warn-bg:#fffaeb; --accent:#3e5bd8; --code:#f4f5f7; }
@media (prefers-color-scheme: dark) {
  :root { --bg:#14161b; --fg:#e6e8ec; --muted:#98a2b3; --line:#2b303b; --head:#1c1f26;
    --pass:#47cd89; --pass-bg:#0b2a1c; --fail:#f97066; --fail-bg:#3a1512;
    --warn:#fdb022; --warn-bg:#33250a; --accent:#8098f9; --code:#1c1f26; } }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1200px; padding: 24px; background: var(--bg); color: var(--fg);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 32px 0 10px; }
.meta { color: var(--muted); margin: 0; }
.wrap { overflow-x: auto; border: 1px solid var(--line); border-radius: 8px; }
table { border-collapse: collapse; width: 100%; }
th, td { padding: 6px 10px; border-bottom: 1px solid var(--line); text-align: left;
  white-space: nowrap; }
tbody tr:last-child td { border-bottom: none; }
thead th { background: var(--head); font-weight: 600; position: sticky; top: 0; z-index: 1; }
#scores td:first-child, #scores th:first-child { position: sticky; left: 0; background: var(--bg);
  z-index: 2; box-shadow: 1px 0 0 var(--line); }
#scores thead th:first-child { background: var(--head); z-index: 3; }
.hist { display: flex; align-items: flex-end; gap: 4px; height: 120px; padding: 8px 0;
  border-bottom: 1px solid var(--line); }
.hist .col { flex: 1; display: flex; flex-direction: column; align-items: center;
  justify-content: flex-end; height: 100%; }
.hist .bar { width: 100%; background: var(--accent); border-radius: 3px 3px 0 0; min-height: 1px; }
.hist .n { font-size: 11px; color: var(--muted); }
.hist-labels { display: flex; gap: 4px; } .hist-labels span { flex: 1; text-align: center;
  font-size: 11px; color: var(--muted); font-variant-numeric: tabular-nums; }
th button { all: unset; cursor: pointer; }
th button:focus-visible { outline: 2px solid var(--accent); }
th[aria-sort=ascending] button::after { content: " ▲"; font-size: 10px; }
th[aria-sort=descending] button::after { content: " ▼"; font-size: 10px; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.pass { color: var(--pass); }
td.fail, td.error { color: var(--fail); background: var(--fail-bg); }
td.skip, td.none { color: var(--muted); }
a { color: var(--accent); text-decoration: none; } a:hover { text-decoration: underline; }
.badge { display: inline-block; padding: 0 8px; border-radius: 10px; font-size: 12px; }
.badge.graded { background: var(--pass-bg); color: var(--pass); }
.badge.build-failed, .badge.error { background: var(--fail-bg); color: var(--fail); }
.bars { display: grid; grid-template-columns: max-content 1fr max-content; gap: 6px 12px;
  align-items: center; }
.bars .label { font-family: ui-monospace, monospace; font-size: 12px; }
.track { background: var(--head); border-radius: 4px; height: 14px; overflow: hidden; }
.fill { display: block; height: 100%; background: var(--fail); border-radius: 4px; }
.count { color: var(--muted); font-variant-numeric: tabular-nums; font-size: 12px; }
details { border: 1px solid var(--line); border-radius: 8px; margin: 8px 0; }
details[open] { padding-bottom: 8px; }
summary { cursor: pointer; padding: 8px 12px; display: flex; gap: 12px; align-items: baseline; }
summary .score { margin-left: auto; font-variant-numeric: tabular-nums; }
.check { margin: 8px 12px 0; padding: 8px 12px; border-left: 3px solid var(--fail);
  background: var(--head); border-radius: 4px; }
.check.skip { border-color: var(--muted); } .check.pass { border-color: var(--warn); }
.check h3 { font-size: 14px; margin: 0 0 4px; display: flex; gap: 8px; }
.check h3 .pts { margin-left: auto; color: var(--muted); }
.hint { color: var(--accent); } .warning { color: var(--warn); }
.note { color: var(--muted); margin: 8px 12px 0; }
pre { margin: 4px 0; padding: 8px; background: var(--code); border-radius: 4px;
  white-space: pre-wrap; word-break: break-all; font: 12px/1.4 ui-monospace, monospace; }
td.ok { color: var(--pass); background: var(--pass-bg); text-align: center; }
td.bad { color: var(--fail); background: var(--fail-bg); font-size: 12px; }
"""

SCRIPT = """
(function () {
  function key(cell, numeric) {
    var v = cell.getAttribute("data-v");
    if (!numeric) return v === null ? cell.textContent : v;
    var n = parseFloat(v);
    return isNaN(n) ? -Infinity : n;
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, col) {
      var button = th.querySelector("button");
      if (!button) return;
      button.addEventListener("click", function () {
        var asc = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var numeric = th.classList.contains("num");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = key(a.cells[col], numeric), y = key(b.cells[col], numeric);
          var r = numeric ? (x === y ? 0 : (x < y ? -1 : 1)) : String(x).localeCompare(String(y));
          return asc ? r : -r;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });
  function openTarget() {
    var el = location.hash && document.getElementById(location.hash.slice(1));
    if (el && el.tagName === "DETAILS") { el.open = true; }
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();
})();
"""


def _e(text: str) -> str:
    """Untrusted text as HTML: control characters made visible, then entity-escaped."""
    return html.escape(visible(text), quote=True)


def render(batch: Batch) -> bytes:
    """The whole report page, UTF-8 encoded."""
    students = sorted(batch.students, key=lambda r: (r.student.casefold(), r.student))
    titles = _titles(batch)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(batch.assignment)} — grading report</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<header><h1>{_e(batch.assignment)}</h1>{_meta(batch, students)}</header>",
        *(f'<p class="warning"><strong>{_e(w)}</strong></p>' for w in batch.warnings),
        "<h2>Score distribution</h2>", _histogram(batch, students),
        "<h2>Scores</h2>", _score_table(batch, students, titles),
        "<h2>Failures per check (most failed first)</h2>", _bars(batch, students, titles),
        "<h2>Students</h2>", *(_student(i, r, batch) for i, r in enumerate(students)),
    ]
    if batch.interop:
        parts += ["<h2>Interoperability (rows: clients, columns: servers)</h2>",
                  _interop(batch)]
    parts += [f"<script>{SCRIPT}</script>", "</body></html>", ""]
    return "\n".join(parts).encode("utf-8")


def _titles(batch: Batch) -> dict[str, str]:
    """The title of every check id, from the first run that has it."""
    titles: dict[str, str] = {}
    for result in batch.students:
        for check in result.run.checks if result.run else []:
            titles.setdefault(check.id, check.title)
    return titles


def _max_score(batch: Batch, result: StudentResult) -> float:
    return batch.max_score or (result.run.max_score if result.run else 0.0)


def histogram(scores: list[float], max_score: float,
              bins: int = HISTOGRAM_BINS) -> list[tuple[float, float, int]]:
    """(low, high, count) for `bins` equal ranges of 0..max_score; full marks in the last."""
    if max_score <= 0:
        return [(0.0, 0.0, len(scores))] if scores else []
    step = max_score / bins
    counts = [0] * bins
    for score in scores:
        counts[min(max(int(score / step), 0), bins - 1)] += 1
    return [(i * step, (i + 1) * step, n) for i, n in enumerate(counts)]


def _histogram(batch: Batch, students: list[StudentResult]) -> str:
    scores = [r.score for r in students if r.run is not None]
    bins = histogram(scores, batch.max_score)
    if not bins:
        return '<p class="meta">No scores.</p>'
    top = max(n for _, _, n in bins) or 1
    cols = "".join(
        f'<div class="col" title="{num(lo)}–{num(hi)}: {n} students"><span class="n">{n}</span>'
        f'<span class="bar" style="height:{100.0 * n / top:.1f}%"></span></div>'
        for lo, hi, n in bins)
    labels = "".join(f"<span>{num(lo)}–{num(hi)}</span>" for lo, hi, _ in bins)
    return (f'<div class="hist" role="img" aria-label="score histogram">{cols}</div>'
            f'<div class="hist-labels">{labels}</div>')


def _meta(batch: Batch, students: list[StudentResult]) -> str:
    stamp = (f'<p class="meta">generated {html.escape(now().replace("T", " "))} UTC by '
             f"socket-grader {html.escape(version())}</p>")
    if not students:
        return '<p class="meta">No students.</p>' + stamp
    graded = sum(r.status == "graded" for r in students)
    mean = sum(r.score for r in students) / len(students)
    full = sum(1 for r in students if r.run and r.score >= _max_score(batch, r) > 0)
    scores = sorted(r.score for r in students)
    middle = len(scores) // 2
    median = scores[middle] if len(scores) % 2 else (scores[middle - 1] + scores[middle]) / 2
    return (f'<p class="meta">{len(students)} students · {graded} graded · '
            f"mean score {num(mean)}/{num(batch.max_score)} · median {num(median)} · "
            f"{full} with full marks</p>" + stamp)


def _score_table(batch: Batch, students: list[StudentResult], titles: dict[str, str]) -> str:
    head = ['<th><button type="button">Student</button></th>',
            '<th><button type="button">Status</button></th>',
            '<th class="num"><button type="button">Score</button></th>']
    head += [f'<th class="num" title="{_e(titles.get(cid, cid))}">'
             f'<button type="button">{_e(cid)}</button></th>' for cid in batch.check_ids]
    rows = []
    for i, result in enumerate(students):
        checks = {c.id: c for c in result.run.checks} if result.run else {}
        cells = [
            f'<td data-v="{_e(result.student)}"><a href="#s-{i}">{_e(result.student)}</a></td>',
            f'<td><span class="badge {_e(result.status)}">{_e(result.status)}</span></td>',
            f'<td class="num" data-v="{result.score}">'
            f"{num(result.score)}/{num(_max_score(batch, result))}</td>",
        ]
        cells += [_check_cell(checks.get(cid)) for cid in batch.check_ids]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return ('<div class="wrap"><table class="sortable" id="scores"><thead><tr>'
            + "".join(head) + "</tr></thead><tbody>\n" + "\n".join(rows)
            + "\n</tbody></table></div>")


def _check_cell(check: Optional[Check]) -> str:
    if check is None:
        return '<td class="num none" data-v="">—</td>'
    css, mark = CELL.get(check.status, ("skip", "?"))
    tip = f"{check.status} {num(check.points)}/{num(check.max_points)}"
    return (f'<td class="num {css}" data-v="{check.points}" title="{_e(tip)}">'
            f"{mark} {num(check.points)}</td>")


def _bars(batch: Batch, students: list[StudentResult], titles: dict[str, str]) -> str:
    rows = []
    stats = []
    for order, cid in enumerate(batch.check_ids):
        ran = [c for r in students if r.run for c in r.run.checks if c.id == cid]
        failed = sum(c.status in (FAILED, ERROR) for c in ran)
        share = 100.0 * failed / len(ran) if ran else 0.0
        stats.append((-share, -failed, order, cid, ran, failed, share))
    for _, _, _, cid, ran, failed, share in sorted(stats):
        rows.append(
            f'<span class="label" title="{_e(titles.get(cid, cid))}">{_e(cid)}</span>'
            f'<span class="track"><span class="fill" style="width:{share:.1f}%"></span></span>'
            f'<span class="count">{failed} of {len(ran)} failed</span>')
    if not rows:
        return '<p class="meta">No checks.</p>'
    return '<div class="bars">' + "\n".join(rows) + "</div>"


def _student(index: int, result: StudentResult, batch: Batch) -> str:
    run = result.run
    max_score = _max_score(batch, result)
    parts = [f'<details id="s-{index}"><summary><strong>{_e(result.student)}</strong>'
             f'<span class="badge {_e(result.status)}">{_e(result.status)}</span>'
             f'<span class="score">{num(result.score)}/{num(max_score)}</span></summary>']
    if result.reason:
        parts.append(f'<p class="note">{_e(result.reason)}</p>')
    if run is None:
        return "".join(parts) + "</details>"
    if run.build.status == "failed":
        parts.append(f'<div class="check"><h3>Build failed</h3>'
                     f"<pre>{_e(log_tail(run.build.log))}</pre></div>")
    if run.error:
        parts.append(f'<div class="check"><h3>The grader itself failed</h3>'
                     f"<pre>{_e(run.error)}</pre></div>")
    parts += [f'<p class="note">note: {_e(n)}</p>' for n in run.notes]
    shown = [c for c in run.checks if c.status != PASSED or c.warnings]
    parts += [_check_details(c) for c in shown]
    if run.checks and all(c.status == PASSED for c in run.checks):
        parts.append('<p class="note">All checks passed.</p>')
    return "".join(parts) + "</details>"


def _check_details(check: Check) -> str:
    css, mark = CELL.get(check.status, ("skip", "?"))
    parts = [f'<div class="check {css}"><h3><span>{mark}</span><span>{_e(check.title)}</span>'
             f'<span class="pts">{num(check.points)}/{num(check.max_points)}</span></h3>']
    if check.message:
        parts.append(f"<pre>{_e(check.message.rstrip())}</pre>")
    if check.hint and check.status != PASSED:
        parts.append(f'<div class="hint">hint: {_e(check.hint)}</div>')
    parts += [f'<div class="warning">warning: {_e(w)}</div>' for w in check.warnings]
    if check.transcript and check.status != PASSED:
        parts.append(f"<div>transcript:</div><pre>{_e(check.transcript.rstrip())}</pre>")
    return "".join(parts) + "</div>"


def _interop(batch: Batch) -> str:
    clients = sorted({c for c, _ in batch.interop}, key=lambda s: (s.casefold(), s))
    servers = sorted({s for _, s in batch.interop}, key=lambda s: (s.casefold(), s))
    head = "<th>client \\ server</th>" + "".join(f"<th>{_e(s)}</th>" for s in servers)
    rows = []
    for client in clients:
        cells = [f"<th>{_e(client)}</th>"]
        for server in servers:
            outcome = batch.interop.get((client, server))
            if outcome is None:
                cells.append('<td class="none">—</td>')
            elif outcome == "ok":
                cells.append('<td class="ok">ok</td>')
            else:
                short = outcome if len(outcome) <= MAX_CELL_REASON else \
                    outcome[:MAX_CELL_REASON] + "…"
                cells.append(f'<td class="bad" title="{_e(outcome)}">{_e(short)}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return ('<div class="wrap"><table id="interop"><thead><tr>' + head + "</tr></thead><tbody>"
            + "\n".join(rows) + "</tbody></table></div>")
