"""JUnit XML, the format CI systems (GitLab, Jenkins, GitHub actions) show as test results.

One testsuite per run, one testcase per check, named by the check's title (its id is the
classname's last part). A failed build and an internal grader error get a testcase of their own
so a CI page shows them instead of an empty, green suite. The document is valid against
junit-10.xsd (the Jenkins xunit-plugin's schema): `skipped` is counted on <testsuite> only,
never on <testsuites>. Strings pass through `visible()` because XML 1.0 cannot carry NUL and
most other control characters at all.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

from ...harness.results import ERROR, FAILED, PASSED, SKIPPED, Check, Run
from . import details, log_tail, num, one_line, point_units, visible


def render(run: Run) -> bytes:
    """The run as a <testsuites> document."""
    return _render(run, units=False)


def render_units(run: Run) -> bytes:
    """As render(), with one testcase per point of each check ("chat both ways [2/3]"), for
    readers that score a suite as passed testcases over all testcases (CodeGrade's AutoTest
    JUnit step): then the fraction they compute is the grader's points over the maximum. A
    failed build's or the grader's own testcase is an error, so such readers score 0 there."""
    return _render(run, units=True)


def _render(run: Run, units: bool) -> bytes:
    name = visible(run.assignment)
    suite = ET.Element("testsuite", name=name)
    properties = ET.SubElement(suite, "properties")
    for key, value in (("target", run.target), ("student", run.student or ""),
                       ("score", num(run.score)), ("max_score", num(run.max_score)),
                       *([("interrupted", "true")] if run.interrupted else [])):
        ET.SubElement(properties, "property", name=key, value=visible(value))

    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    if run.build.status == "failed":
        case = _case(suite, name, "build", 0.0, counts)
        _outcome(case, "failure", "the build failed", log_tail(run.build.log), counts)
    if run.error:
        case = _case(suite, name, "grader", 0.0, counts)
        _outcome(case, "error", "the grader itself failed", run.error, counts)
    for check in run.checks:
        if units:
            _units(suite, name, check, run.build.status == "failed", counts)
            continue
        case = _case(suite, f"{name}.{visible(check.id)}", check.title, check.duration_s, counts)
        first_line = (check.message.strip().splitlines() or [check.title])[0]
        if check.status == FAILED:
            _outcome(case, "failure", first_line, details(check), counts)
        elif check.status == ERROR:
            _outcome(case, "error", first_line, details(check), counts)
        elif check.status == SKIPPED:
            counts["skipped"] += 1
            ET.SubElement(case, "skipped", message=visible(check.message or "skipped"))
        elif check.warnings:
            out = ET.SubElement(case, "system-out")
            out.text = visible("\n".join(f"warning: {w}" for w in check.warnings))
    if run.notes:
        out = ET.SubElement(suite, "system-out")
        out.text = visible("\n".join(f"note: {n}" for n in run.notes))

    attrs = {k: str(v) for k, v in counts.items()}
    attrs["time"] = f"{run.duration_s:.3f}"
    suite.attrib.update(attrs)
    if run.graded_at:
        suite.set("timestamp", run.graded_at[:19])
    root = ET.Element("testsuites", {"name": name,
                                     **{k: v for k, v in attrs.items() if k != "skipped"}})
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _units(suite: ET.Element, name: str, check: Check, build_failed: bool,
           counts: dict[str, int]) -> None:
    if check.max_points <= 0:
        return                   # worth nothing: a testcase would only change the fraction
    pieces = point_units(check)
    for i, earned in enumerate(pieces):
        title = check.title if len(pieces) == 1 else f"{check.title} [{i + 1}/{len(pieces)}]"
        case = _case(suite, f"{name}.{visible(check.id)}", title,
                     check.duration_s / len(pieces), counts)
        if build_failed:
            _outcome(case, "failure", "not run: the build failed", "", counts)
        elif check.status == PASSED or earned:
            continue
        elif check.visibility not in ("visible", ""):
            _outcome(case, "failure", "hidden check: no details", "", counts)
        else:
            first_line = (check.message.strip().splitlines() or [check.title])[0]
            _outcome(case, "error" if check.status == ERROR else "failure", first_line,
                     details(check), counts)


def _case(suite: ET.Element, classname: str, name: str, seconds: float,
          counts: dict[str, int]) -> ET.Element:
    counts["tests"] += 1
    return ET.SubElement(suite, "testcase", classname=classname, name=one_line(name),
                         time=f"{seconds:.3f}")


def _outcome(case: ET.Element, tag: str, message: str, text: str, counts: dict[str, int]) -> None:
    counts["failures" if tag == "failure" else "errors"] += 1
    element = ET.SubElement(case, tag, message=visible(message), type=tag)
    element.text = visible(text)
