"""Tests of the report renderers (grader/frontend/report/): every format from hand-built results.

The runs mix every check status with hostile strings, because messages and transcripts carry
whatever a student program printed and student names are whatever a handin directory is called:
no report may let such text act on a terminal, a browser or an XML/CSV/JSON parser.
"""
from __future__ import annotations

import csv
import html
import io
import json
import re
import xml.etree.ElementTree as ET

import pytest

from grader.frontend.report import FORMATS, csv_report, gradescope, json_report, junit
from grader.frontend.report import html as html_report
from grader.frontend import report
from grader.frontend.report import prairielearn, renderer, terminal, visible
from grader.harness.results import (
    BUILD_FAILED,
    ERROR,
    FAILED,
    GRADED,
    PASSED,
    SKIPPED,
    STUDENT_ERROR,
    Batch,
    Build,
    Check,
    Run,
    StudentResult,
)

HOSTILE = ("nul\x00 esc\x1b[31mred\x1b[0m [bold]x[/bold] bad\udcff <script>alert(1)</script> "
           "\"q\" 'a', b")
NAMES = ["Zoë Ångström", "O'Brien, \"Pat\"", "<script>alert(2)</script>", "  spaced name ",
         "bob", "ALICE"]
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def make_run(student: str = "bob") -> Run:
    """A run with every status and hostile text in every free-form field."""
    return Run(
        assignment="asgn5", target="./mytalk", student=student, duration_s=4.25,
        notes=["no network isolation: ran serially", "note " + HOSTILE],
        build=Build("ok", "gcc -Wall ..."),
        checks=[
            Check("usage", "Usage message", PASSED, 1.0, 1.0, duration_s=0.1),
            Check("accept", "Handshake accepted", PASSED, 2.0, 2.0, duration_s=0.5,
                  warnings=["printed 'connected' where the handout says 'Connected'"]),
            Check("chat", "Chat both ways [red]z[/red]", FAILED, 0.0, 3.0, duration_s=1.5,
                  message="sent \"hi\\n\" to the client\nexpected: hi\nseen: " + HOSTILE,
                  hint="flush stdout " + HOSTILE,
                  transcript="  0.001s ref     → \"hi\"\n  0.020s student ← " + HOSTILE,
                  warnings=["warn " + HOSTILE]),
            Check("fds", "No leaked descriptors", ERROR, 0.0, 1.5,
                  message="the grader crashed: KeyError"),
            Check("cpu", "No busy wait", SKIPPED, 0.0, 1.0, message="psutil is missing"),
            Check("partial", "Partial line at EOF", FAILED, 0.5, 1.0, message="half right"),
        ],
    )


def make_build_failure(student: str = "carol") -> Run:
    log = "\n".join(f"line {i}" for i in range(100)) + "\nmytalk.c:3: error: " + HOSTILE
    return Run(assignment="asgn5", target="handin/carol", student=student,
               build=Build("failed", log), duration_s=0.7)


def make_batch() -> Batch:
    students = [StudentResult(name, GRADED, run=make_run(name)) for name in NAMES]
    students.append(StudentResult("carol", BUILD_FAILED, reason="make: " + HOSTILE,
                                  run=make_build_failure()))
    students.append(StudentResult("dave, jr.", STUDENT_ERROR, reason="timed out " + HOSTILE))
    names = [s.student for s in students]
    interop = {(c, s): "ok" if (i + j) % 3 else "no reply within 2s, " + HOSTILE
               for i, c in enumerate(names[:4]) for j, s in enumerate(names[:4])}
    return Batch("asgn5", students, max_score=9.5,
                 check_ids=["usage", "accept", "chat", "fds", "cpu", "partial", "extra"],
                 interop=interop)


# ---- shared text rules


def test_visible_escapes_everything_unsafe_and_keeps_the_rest():
    text = visible("a\x00b\x1bc\x7fd\x9be\udcfff\ud800g\u202eh\ti\nj ü [x]")
    assert text == "a\\x00b\\x1bc\\x7fd\\x9be\\xfff\\ud800g\\u202eh\ti\nj ü [x]"
    text.encode("utf-8")


# ---- terminal


def test_terminal_plain_has_no_escape_codes_and_shows_markup_literally():
    out = terminal.render(make_run(), color=False)
    text = out.decode("utf-8")
    assert b"\x1b" not in out and not CONTROL.search(text)
    assert "[bold]x[/bold]" in text and "[red]z[/red]" in text
    assert "\\x1b[31mred" in text and "\\x00" in text and "\\xff" in text
    lines = text.splitlines()
    assert lines[0].startswith("asgn5") and "score 3.5/9.5" in lines[0]
    assert lines[-1] == "score 3.5/9.5 — 2 passed, 2 failed, 1 error, 1 skipped"


def test_terminal_lists_every_check_with_mark_and_points():
    text = terminal.render(make_run(), color=False).decode()
    for mark, title, points in [("✓", "Usage message", "1/1"),
                                ("✓", "Handshake accepted", "2/2"),
                                ("✗", "Chat both ways", "0/3"),
                                ("!", "No leaked descriptors", "0/1.5"),
                                ("-", "No busy wait", "0/1"),
                                ("✗", "Partial line at EOF", "0.5/1")]:
        line = next(row for row in text.splitlines() if title in row)
        assert line.startswith(mark + " ") and line.endswith(points), line


def test_terminal_explains_failures_only_unless_verbose():
    text = terminal.render(make_run(), color=False).decode()
    assert "    hint: flush stdout" in text
    assert "    transcript:" in text and "      0.001s ref" in text
    assert "the grader crashed: KeyError" in text
    assert "    warning: printed 'connected'" in text          # warnings of passed checks too
    assert "    warning: warn " in text
    assert "note: no network isolation" in text
    student = terminal.render(make_run(), color=False, notes=False).decode()
    assert "note:" not in student and "no network isolation" not in student
    assert "build:" not in text                                # a good build is not news
    verbose = terminal.render(make_run(), color=False, verbose=True).decode()
    assert "build: ok" in verbose and "0.50s" in verbose


def test_terminal_respects_width():
    run = make_run()
    run.checks[2].transcript = "y" * 500
    for width in (60, 100):
        text = terminal.render(run, color=False, width=width).decode()
        assert max(len(line) for line in text.splitlines()) <= width
        assert "y" * 20 in text and text.count("y") >= 500


def test_terminal_color_only_uses_sgr_sequences():
    out = terminal.render(make_run(), color=True).decode()
    assert "\x1b[" in out
    escapes = re.findall(r"\x1b[^m]*m?", out)
    assert all(re.fullmatch(r"\x1b\[[0-9;]*m", e) for e in escapes)
    assert "\x1b[31mred" not in out                            # the student's one is escaped
    assert "[bold]x[/bold]" in re.sub(r"\x1b\[[0-9;]*m", "", out)


def test_terminal_color_false_even_when_environment_forces_color(monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("COLUMNS", "30")
    out = terminal.render(make_run(), color=False)
    assert b"\x1b" not in out
    assert any(len(line) > 30 for line in out.decode().splitlines())


def test_terminal_build_failure_shows_log_tail():
    text = terminal.render(make_build_failure(), color=False).decode()
    assert "build: failed" in text
    assert "line 99" in text and "line 5\n" not in text and "earlier lines" in text
    assert "mytalk.c:3: error: nul\\x00" in text
    assert text.splitlines()[-1] == "score 0/0 — 0 passed, 0 failed"


# ---- JSON


def test_json_parses_and_round_trips():
    run = make_run()
    data = json.loads(json_report.render(run))
    back = Run.from_dict(data)
    assert back.score == run.score and back.max_score == run.max_score
    assert [c.status for c in back.checks] == [c.status for c in run.checks]
    assert back.checks[2].message.endswith(HOSTILE.replace("\udcff", "\ufffd"))
    assert back.notes == [n.replace("\udcff", "\ufffd") for n in run.notes]
    clean = make_run()
    clean.notes, clean.checks = ["plain"], clean.checks[:2]
    assert Run.from_dict(json.loads(json_report.render(clean))) == clean


def test_json_output_is_valid_utf8_and_escapes_controls():
    out = json_report.render(make_run())
    out.decode("utf-8", "strict")
    assert b"\x00" not in out and b"\x1b" not in out


# ---- JUnit


def test_junit_parses_and_counts_match():
    root = ET.fromstring(junit.render(make_run()))
    assert root.tag == "testsuites"
    suite = root.find("testsuite")
    assert suite.get("name") == "asgn5"
    cases = suite.findall("testcase")
    run = make_run()
    assert [c.get("name") for c in cases] == [visible(c.title) for c in run.checks]  # titles
    assert [c.get("classname") for c in cases] == [f"asgn5.{c.id}" for c in run.checks]
    for element in (root, suite):
        assert element.get("tests") == "6"
        assert element.get("failures") == str(len(suite.findall("testcase/failure"))) == "2"
        assert element.get("errors") == str(len(suite.findall("testcase/error"))) == "1"
        assert float(element.get("time")) == pytest.approx(4.25)
    assert suite.get("skipped") == str(len(suite.findall("testcase/skipped"))) == "1"
    assert root.get("skipped") is None                  # junit-10.xsd: not on <testsuites>
    failure = cases[2].find("failure")
    assert failure.get("message").startswith('sent "hi\\n"')
    assert "hint: flush stdout" in failure.text and "0.020s student" in failure.text
    assert "\\x00" in failure.text and "\\x1b[31m" in failure.text


def test_junit_build_failure_is_a_failing_testcase():
    root = ET.fromstring(junit.render(make_build_failure()))
    cases = root.findall("testsuite/testcase")
    assert [c.get("name") for c in cases] == ["build"]
    assert "line 99" in cases[0].find("failure").text
    assert root.get("tests") == "1" and root.get("failures") == "1"


def test_junit_forbidden_characters_stay_well_formed():
    run = make_run()
    run.assignment = "as\x00gn\x0b5"
    run.checks[0].title = "id\x01\ufffe\nnext"
    root = ET.fromstring(junit.render(run))
    assert root.find("testsuite").get("name") == "as\\x00gn\\x0b5"
    assert root.find("testsuite/testcase").get("name") == "id\\x01\\ufffe\\nnext"


# ---- Gradescope and PrairieLearn


def test_gradescope_fields_and_sums():
    run = make_run()
    data = json.loads(gradescope.render(run))
    assert data["score"] == pytest.approx(3.5)
    assert isinstance(data["execution_time"], (int, float)) and isinstance(data["output"], str)
    assert len(data["tests"]) == len(run.checks)
    assert sum(t["score"] for t in data["tests"]) == pytest.approx(data["score"])
    assert sum(t["max_score"] for t in data["tests"]) == pytest.approx(run.max_score)
    for test, check in zip(data["tests"], run.checks):
        assert set(test) >= {"name", "score", "max_score", "status", "output", "visibility"}
        assert test["name"] == visible(check.title) and test["visibility"] == "visible"
        assert test["status"] == ("passed" if check.status == PASSED else "failed")
    chat = data["tests"][2]["output"]
    assert "**Hint:** flush stdout" in chat and "0.020s student" in chat
    assert not CONTROL.search(json.dumps(data, ensure_ascii=False).replace("\\n", ""))


def test_gradescope_build_failure_scores_zero_with_log():
    data = json.loads(gradescope.render(make_build_failure()))
    assert data["score"] == 0
    assert "line 99" in data["tests"][0]["output"] and data["tests"][0]["status"] == "failed"


def _markdown(text: str) -> str:
    """Gradescope's md output as a CommonMark renderer (raw HTML allowed) turns it into HTML."""
    markdown_it = pytest.importorskip("markdown_it")
    return markdown_it.MarkdownIt("commonmark").render(text)


def test_gradescope_markdown_shows_program_text_as_text():
    """output_format "md": the transcript is a code block, and hostile text (HTML, brackets,
    escapes, backticks) renders as the very characters, never as markup."""
    import html
    run = make_run()
    run.checks[2].transcript += "\n  0.030s student ← ``` </pre><b>bold</b>"
    run.checks[5].message = "# not a heading\n    not code\n* not a list [x](http://a)"
    data = json.loads(gradescope.render(run))
    assert data["output_format"] == data["test_output_format"] == "md"
    for test in data["tests"]:
        page = _markdown(test["output"])
        assert "<script" not in page and "<b>" not in page and "<a " not in page, page
    chat = _markdown(data["tests"][2]["output"])
    pre = chat[chat.index("<pre><code"):chat.index("</code></pre>")]
    assert html.escape("0.020s student ← nul\\x00 esc\\x1b[31mred", quote=False) in pre
    assert html.escape("``` </pre><b>bold</b>", quote=False) in pre    # one block, not closed
    assert "<strong>Hint:</strong> flush stdout" in chat
    assert html.escape("seen: nul\\x00 esc\\x1b[31mred\\x1b[0m [bold]x[/bold]",
                       quote=False) in chat
    partial = _markdown(data["tests"][5]["output"])
    assert "<h1>" not in partial and "<ul>" not in partial and "<pre>" not in partial
    assert "# not a heading" in partial and "not code" in partial
    build = _markdown(json.loads(gradescope.render(make_build_failure()))["tests"][0]["output"])
    assert "<pre><code" in build and "line 99" in build and "<script" not in build


def test_gradescope_execution_time_is_the_gradings():
    run = make_run()
    assert json.loads(gradescope.render(run))["execution_time"] == pytest.approx(4.25)


def test_build_warnings_reach_the_student():
    """Issue 17.5: a leniency the course machine would not have shown is said to the student
    (terminal and feedback, Gradescope's top output), its text made visible."""
    run = make_run()
    run.build = Build("ok", "$ make\n", ["the grader put a copy there " + HOSTILE])
    out = json.loads(gradescope.render(run))["output"]
    assert "Build warning: the grader put a copy there" in _markdown(out)
    assert not CONTROL.search(out.replace("\n", ""))
    text = terminal.render(run, color=False, student=True).decode()
    assert "build warning: the grader put a copy there" in text


def test_prairielearn_fields_and_sums():
    run = make_run()
    data = json.loads(prairielearn.render(run))
    assert data["gradable"] is True
    assert data["points"] == pytest.approx(3.5) and data["max_points"] == pytest.approx(9.5)
    assert data["score"] == pytest.approx(3.5 / 9.5, abs=1e-4) and 0 <= data["score"] <= 1
    assert isinstance(data["message"], str) and isinstance(data["output"], str)
    assert sum(t["points"] for t in data["tests"]) == pytest.approx(data["points"])
    assert sum(t["max_points"] for t in data["tests"]) == pytest.approx(data["max_points"])
    for test in data["tests"]:
        assert set(test) >= {"name", "description", "points", "max_points", "message", "output"}
    assert "hint: flush" in data["tests"][2]["output"]
    assert data["tests"][0]["message"] == "" and data["tests"][3]["message"].startswith("error")


def test_prairielearn_build_failure_scores_zero():
    data = json.loads(prairielearn.render(make_build_failure()))
    # PrairieLearn's own example: a failed compile is not gradable, the attempt not used up.
    assert data["gradable"] is False and data["score"] == 0 and data["points"] == 0
    assert "line 99" in data["output"]


def test_grader_error_is_said_plainly_and_not_gradable():
    run = make_run()
    run.error = "Traceback (most recent call last):\n  KeyError: 'x'"
    pl = json.loads(prairielearn.render(run))
    assert pl["gradable"] is False and "grader itself failed" in pl["output"]
    gs = json.loads(gradescope.render(run))
    assert "not your score" in gs["output"] and "tell your instructor" in gs["output"]


def test_student_facing_formats_hold_no_operator_notes():
    run = make_run()
    run.notes = ["student programs run as nobody", "process limit: pids cgroup per case (64)"]
    for text in (gradescope.render(run), prairielearn.render(run),
                 terminal.render(run, color=False, notes=False)):
        assert b"nobody" not in text and b"cgroup" not in text


def test_hidden_checks_keep_points_but_not_details():
    run = make_run()
    run.checks[2].visibility = "hidden"                   # the failed "chat" check
    run.checks[5].visibility = "after_due_date"
    gs = json.loads(gradescope.render(run))
    assert [t["visibility"] for t in gs["tests"]] == [
        "visible", "visible", "hidden", "visible", "visible", "after_due_date"]
    assert "Chat both ways" not in gs["output"]
    pl = json.loads(prairielearn.render(run))
    assert pl["points"] == pytest.approx(3.5)
    assert pl["tests"][2]["output"] == "" and "flush" not in json.dumps(pl["tests"][2])


def test_junit_is_valid_against_junit_10_xsd_rules():
    """junit-10.xsd (Jenkins xunit-plugin), element by element: the attributes each element
    may have, the required ones, the children it may hold, and the SUREFIRE_TIME pattern."""
    schema = {  # element: (allowed attributes, required attributes, allowed children)
        "testsuites": ({"name", "time", "tests", "failures", "errors"}, set(), {"testsuite"}),
        "testsuite": ({"name", "tests", "failures", "errors", "group", "time", "skipped",
                       "timestamp", "hostname", "id", "package", "file", "log", "url"},
                      {"name", "tests", "failures", "errors"},
                      {"testsuite", "properties", "testcase", "system-out", "system-err"}),
        "properties": (set(), set(), {"property"}),
        "property": ({"name", "value"}, {"name", "value"}, set()),
        "testcase": ({"name", "time", "classname", "group"}, {"name"},
                     {"skipped", "error", "failure", "system-out", "system-err"}),
        "skipped": ({"type", "message"}, set(), set()),
        "failure": ({"type", "message"}, set(), set()),
        "error": ({"type", "message"}, set(), set()),
        "system-out": (set(), set(), set()), "system-err": (set(), set(), set()),
    }
    surefire_time = re.compile(r"(([0-9]{0,3},)*[0-9]{3}|[0-9]{0,3})*(\.[0-9]*)?")
    for run in (make_run(), make_build_failure()):
        run.error = "boom"
        run.duration_s = 1234.5
        root = ET.fromstring(junit.render(run))
        assert root.tag == "testsuites"
        for element in root.iter():
            attrs, required, children = schema[element.tag]
            assert set(element.attrib) <= attrs, (element.tag, element.attrib)
            assert required <= set(element.attrib), element.tag
            assert {child.tag for child in element} <= children, element.tag
            if "time" in element.attrib:
                assert surefire_time.fullmatch(element.get("time")), element.get("time")
        suite = root.find("testsuite")
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", suite.get("timestamp"))


# ---- CSV


def test_csv_round_trips_with_exact_header_sorted_by_name():
    batch = make_batch()
    rows = list(csv.reader(io.StringIO(csv_report.render(batch).decode("utf-8"), newline="")))
    assert rows[0] == ["student", "status", "score", "max_score", "reason",
                       "usage", "accept", "chat", "fds", "cpu", "partial", "extra"]
    body = rows[1:]
    names = [s.student for s in batch.students]
    assert sorted(r[0] for r in body) == sorted(names)           # every name exactly, spaces too
    assert [r[0] for r in body] == sorted(names, key=lambda s: (s.casefold(), s))
    assert all(len(r) == len(rows[0]) for r in body)
    zoe = next(r for r in body if r[0] == "Zoë Ångström")
    assert zoe[1:5] == ["graded", "3.5", "9.5", ""]
    assert zoe[5:] == ["1", "2", "0", "0", "0", "0.5", ""]
    dave = next(r for r in body if r[0] == "dave, jr.")
    assert dave[1] == STUDENT_ERROR and dave[2] == "0" and dave[5:] == [""] * 7
    assert dave[4] == "timed out " + visible(HOSTILE).replace("\n", "\\n")
    assert not CONTROL.search(csv_report.render(batch).decode("utf-8").replace("\r\n", ""))


@pytest.mark.parametrize("name", ["=HYPERLINK(\"http://x\")", "+1", "-2+3", "@SUM(A1)",
                                  "\tx", "\rx", "\uff1d1"])
def test_csv_neutralises_formula_cells(name):
    batch = Batch("asgn5", [StudentResult(name, BUILD_FAILED, reason="=cmd|' /C calc'!A0",
                                          run=make_build_failure(name))], max_score=9.5)
    rows = list(csv.reader(io.StringIO(csv_report.render(batch).decode("utf-8"), newline="")))
    for cell in (rows[1][0], rows[1][4]):
        assert cell[0] not in "=+-@\t\r\uff1d", cell
        assert cell.startswith("'") or cell.startswith("\\")


def test_csv_escapes_terminal_sequences_in_reasons():
    reason = "make: \x1b]52;c;ZXZpbA==\x07 \x1b[2J\x1bc"
    batch = Batch("asgn5", [StudentResult("eve\nfake,line", BUILD_FAILED, reason=reason,
                                          run=make_build_failure("eve"))])
    data = csv_report.render(batch)
    assert b"\x1b" not in data and b"\x07" not in data
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert len(rows) == 2 and rows[1][0] == "eve\\nfake,line"
    assert "\\x1b]52" in rows[1][4]


def test_interop_csv_matrix():
    batch = make_batch()
    rows = list(csv.reader(io.StringIO(csv_report.render_interop(batch).decode("utf-8"),
                                       newline="")))
    clients = sorted({c for c, _ in batch.interop}, key=lambda s: (s.casefold(), s))
    assert rows[0][0] == "client\\server" and sorted(rows[0][1:]) == sorted(clients)
    assert [r[0] for r in rows[1:]] == clients
    for row in rows[1:]:
        for server, cell in zip(rows[0][1:], row[1:]):
            assert cell == report.spreadsheet_cell(batch.interop[(row[0], server)])



def test_interop_files_read_back():
    """One writer and one reader per file: interop.json keeps names exactly, interop.csv as its
    cells show them; anything that is not a matrix reads as none."""
    batch = make_batch()
    readable = report.without_surrogates        # JSON and CSV are UTF-8: a lone surrogate is not
    assert json_report.read_interop(json_report.render_interop(batch)) == {
        (readable(c), readable(s)): readable(o) for (c, s), o in batch.interop.items()}
    cells = {(report.spreadsheet_cell(c), report.spreadsheet_cell(s)): report.spreadsheet_cell(o)
             for (c, s), o in batch.interop.items()}
    assert csv_report.read_interop(csv_report.render_interop(batch)) == cells
    assert csv_report.read_interop(csv_report.render(batch)) == {}
    assert csv_report.read_interop(b"") == {}


# ---- HTML


def test_html_is_self_contained_and_escapes_everything():
    batch = make_batch()
    page = html_report.render(batch).decode("utf-8")
    assert page.startswith("<!DOCTYPE html>")
    for student in batch.students:
        assert html.escape(visible(student.student), quote=True) in page
    assert "<script>alert" not in page
    assert page.count("<script>") == 1                        # only the page's own script
    assert not re.search(r"https?://", page)
    assert not re.search(r"""<(link|img|iframe|object|embed)\b|@import|url\(""", page)
    assert "\x00" not in page and "\x1b" not in page
    assert "Content-Security-Policy" in page


def test_html_has_table_chart_details_and_interop():
    batch = make_batch()
    page = html_report.render(batch).decode("utf-8")
    assert 'class="sortable"' in page and "<button" in page
    for check_id in batch.check_ids:
        assert f"<button type=\"button\">{check_id}</button>" in page
    assert page.count('class="track"') == len(batch.check_ids)
    assert f"{len(NAMES)} of {len(NAMES)} failed" in page     # chat fails for everyone graded
    assert page.count("<details") == len(batch.students)
    assert "hint: flush stdout" in page and "0.020s student" in page
    assert 'id="interop"' in page and 'class="ok"' in page
    no_interop = make_batch()
    no_interop.interop = {}
    assert 'id="interop"' not in html_report.render(no_interop).decode()


def test_empty_batch_renders():
    batch = Batch("udp-server")
    assert "udp-server" in html_report.render(batch).decode()
    assert csv_report.render(batch).decode().splitlines() == [
        "student,status,score,max_score,reason"]


# ---- registry


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_registered_format_renders(name):
    fmt = FORMATS[name]
    render = renderer(name)
    if fmt.takes == "batch":
        out = render(make_batch())
    elif name == "terminal":
        out = render(make_run(), color=False)
    else:
        out = render(make_run())
    assert isinstance(out, bytes) and out
    out.decode("utf-8", "strict")


def test_html_histogram_worst_first_sticky_names_date_and_version():
    from grader.harness.results import version
    batch = make_batch()
    page = html_report.render(batch).decode("utf-8")
    assert 'class="hist"' in page and page.count('class="col"') == html_report.HISTOGRAM_BINS
    assert "position: sticky; left: 0" in page                  # the name column stays in view
    assert re.search(r"generated \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+00:00 UTC", page)
    assert f"socket-grader {version()}" in page and "median" in page
    labels = re.findall(r'<span class="label"[^>]*>([^<]*)</span>', page)
    shares = [int(m) for m in re.findall(r'class="count">(\d+) of', page)]
    assert labels[0] == "chat" and shares == sorted(shares, reverse=True)


def test_histogram_bins():
    assert html_report.histogram([0, 0.5, 5, 9.99, 10], 10, bins=10) == [
        (0.0, 1.0, 2), (1.0, 2.0, 0), (2.0, 3.0, 0), (3.0, 4.0, 0), (4.0, 5.0, 0),
        (5.0, 6.0, 1), (6.0, 7.0, 0), (7.0, 8.0, 0), (8.0, 9.0, 0), (9.0, 10.0, 2)]
    assert html_report.histogram([], 10) == [(i * 1.0, (i + 1) * 1.0, 0) for i in range(10)]


def test_terminal_streams_checks_then_the_end():
    run = make_run()
    start = terminal.render_start("asgn5", "./my\ntalk", color=False, width=80).decode()
    assert start.splitlines()[0].startswith("asgn5  ./my\\ntalk") and "grading" in start
    lines = b"".join(terminal.render_check(c, color=False, width=80) for c in run.checks)
    assert lines.decode() in terminal.render(run, color=False, width=80).decode()
    end = terminal.render_end(run, color=False, width=80).decode().splitlines()
    assert end[-1].startswith("score 3.5/9.5 — 2 passed") and end[-1].endswith("4.2s")
    assert max(len(line) for line in end) <= 80


def test_terminal_failed_check_ends_with_how_to_reproduce():
    run = make_run()
    run.checks[2].reproduce = ("reproduce by hand: in one terminal `grade peer asgn5 server "
                               "-N -a 4000`, in another `./mytalk -N localhost 4000`")
    text = terminal.render(run, color=False).decode()
    chat = text[text.index("Chat both ways"):text.index("! No leaked descriptors")]
    tail = " ".join(line.strip() for line in chat.rstrip().splitlines()[-2:])
    assert tail.startswith("reproduce by hand:") and tail.endswith("`./mytalk -N localhost 4000`")
    passed = make_run()
    passed.checks[0].reproduce = "reproduce by hand: x"
    assert "reproduce by hand: x" not in terminal.render(passed, color=False).decode()


def test_reproduce_is_built_from_the_checks_steps():
    from grader.harness import assignments, reproduce
    from grader.harness.case import Step
    asgn5 = assignments.find("asgn5")
    steps = [Step("mytalk", "start", argv=("/tmp/grade-x/build/mytalk", "-N", "peerhost",
                                           "36401")),
             Step("reference", "peer"), Step("reference", "type", "nobody\x00"),
             Step("reference", "type", "ok"), Step("mytalk", "type", "hello\n"),
             Step("reference", "type", "hi there\n")]
    assert reproduce.describe(steps, asgn5) == (
        "reproduce by hand: in one terminal `grade peer asgn5 server -N -a 4000`, in another "
        "`./mytalk -N localhost 4000`; type \"hello\" in mytalk; type \"hi there\" in the "
        "reference")
    server = [Step("mytalk", "start", argv=("/tmp/g/build/mytalk", "-N", "-a", "41000")),
              Step("reference", "peer"), Step("reference", "type", "ok\n")]
    assert reproduce.describe(server, asgn5).startswith(
        "reproduce by hand: in one terminal `./mytalk -N -a 4000`, in another "
        "`grade peer asgn5 client -N localhost 4000`")
    usage = [Step("student", "run", argv=("/tmp/g/bin/mytalk",))]
    assert reproduce.describe(usage, asgn5) == \
        "reproduce by hand: run `./mytalk` and compare its output"
    assert reproduce.describe([], asgn5) == ""


def test_one_line_keeps_names_on_their_line():
    from grader.frontend.progress import describe
    result = StudentResult("a\n[3/3] b: graded 60/60", GRADED, run=make_run("x"))
    assert "\n" not in describe(result, 9.5, 1.0)


def test_feedback_hides_hidden_checks_details():
    run = make_run()
    run.checks[2].visibility = "hidden"
    text = terminal.render(run, color=False, student=True).decode()
    assert "Chat both ways" in text and "hidden check: no details" in text
    assert "flush stdout" not in text and "note:" not in text
    assert "flush stdout" in terminal.render(run, color=False).decode()
