"""The pytest plugin: options, and turning each check's outcome into a results-model Check.

Registered through the `pytest11` entry point, so `pytest cases/minichat-server --student
./server` works; it stays inert for test items that are not grader cases.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Optional

import pytest
from _pytest.runner import runtestprotocol

from . import assignments, keys, reproduce
from .case import CheckFailure
from .checks import check_id, hint_of, in_both_modes, title_of
from .keys import CASE, DEBUG_CAUSE, GRADING, STATE, USER_PROPERTY, WINDOWED
from .results import ERROR, FAILED, PASSED, SKIPPED, Check
from .program import has_terminfo


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("grader", "socket-assignment grader")
    for flags, kwargs in keys.OPTIONS:
        g.addoption(*flags, **kwargs)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{keys.CHECK_MARKER}(hint): a grader check; hint is what a student reads "
                   "when it fails (applied by grader.check)")


def _is_case(item: pytest.Item) -> bool:
    return (Path(item.path).parent / "manifest.toml").is_file()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every check must have points in its manifest; checks run in the manifest's order.

    Only grader case items move, among the places they already hold: any other test in the
    same session (the plugin is installed for every pytest) keeps its place.
    """
    places = [i for i, item in enumerate(items) if _is_case(item)]
    try:
        cases = assignments.checks_in_order([items[i] for i in places])
    except assignments.ManifestError as e:
        raise pytest.UsageError(str(e)) from None
    for i, (item, _, _) in zip(places, cases):
        items[i] = item


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: Optional[pytest.Item]):
    """Run a check; if it failed under the debugging flag, run it again without it.

    The handout calls -N a debugging aid and the program is used windowed, so a check that
    passes windowed earns its points, with a warning saying what -N did. Each check decides
    for itself: whether another check (windowed_mode) passed never decides whether this one
    is run again.
    """
    flag = assignments.for_case_file(item.path).debug_flag if _is_case(item) else ""
    if not flag:
        return None
    ihook = item.ihook
    ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    # The first run tears down only the check's own fixtures, so that it can run again.
    first = runtestprotocol(item, nextitem=item.parent, log=False)  # type: ignore[arg-type]
    reports = first
    failure = _check_of(first)
    # A check whose behaviour differs with the window runs windowed too once it passed.
    both = (failure is not None and failure.status == PASSED and in_both_modes(item)
            and _windowed_possible(item))
    if failure is None or not (both or _windowed_retry_worth(item, failure)):
        item.session._setupstate.teardown_exact(nextitem)
    else:
        item.stash[WINDOWED] = failure.message
        if STATE in item.stash:
            del item.stash[STATE]
        second = runtestprotocol(item, nextitem=nextitem, log=False)
        again = _check_of(second)
        case = item.stash.get(CASE, None)
        if both and case is not None and case.no_windows:
            # The program never windows: that is windowed_mode's charge, not this check's.
            _record(first, failure, warning="run windowed (without " + flag + ") the program "
                    "never drew its windows, so this check was judged with " + flag + " only; "
                    "windowed_mode judges the windows")
        elif both:
            if again is not None and again.status != PASSED:
                _record(second, again, message=f"{again.message}\n(this was the run windowed, "
                                               f"as the program is used; with {flag} it passes)")
                reports = second
        elif again is not None and again.status == PASSED:
            _record(second, again, warning=_windowed_warning(
                flag, failure, item.stash.get(DEBUG_CAUSE, "")))
            reports = second
        else:
            also = again.message.splitlines()[0] if again else "it could not run"
            _record(first, failure, message=f"{failure.message}\n(run windowed, without {flag}, "
                                            f"it fails too: {also})")
    for report in reports:
        ihook.pytest_runtest_logreport(report=report)
    ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    return True


def _windowed_retry_worth(item: pytest.Item, check: Check) -> bool:
    case = item.stash.get(CASE, None)
    strict_only = case is not None and case.strict_failed   # the same words windowed
    return check.status == FAILED and not strict_only and _windowed_possible(item)


def _windowed_possible(item: pytest.Item) -> bool:
    case = item.stash.get(CASE, None)
    return case is not None and case.used_debug_flag and has_terminfo("xterm")


def _windowed_warning(flag: str, failure: Check, cause: str) -> str:
    """What a pass windowed after a failure under the debugging flag says: the flag is blamed
    only for a cause seen in this run; anything else is the two runs, shown side by side."""
    said = failure.message.splitlines()[0]
    if not cause:
        return (f"this check failed in one mode and passed in the other: with {flag} it "
                f"failed ({said}); run windowed (without {flag}), as the program is used, it "
                "passed, so it costs no points. Nothing known about "
                f"{flag} explains the difference: run your program both ways, and look for "
                "what differs between them (an uninitialised variable, a buffer read past "
                "its end, the arguments counted without the options)")
    return (f"with {flag} this check failed ({said}); run windowed, as the program is used, "
            f"it passes, so it costs no points. {flag} is only a debugging aid, but check how "
            f"your program handles it: {cause}")


def _debug_cause(item: pytest.Item, case: Any, flag: str) -> str:
    """A known reason for a failure under the debugging flag, seen in this very run, or ""."""
    if case.eof_missed or any(p.eof_typed and p.alive for p in case.programs):
        return (f"with {flag} the end of input (^D) is seen only by a read (has_hit_eof() is "
                "feof(stdin) there), and the program was still running after ^D: ask "
                "has_hit_eof() after read_from_input(), not before")
    from .session import Grading
    grading = item.config.stash.get(GRADING, None)
    if isinstance(grading, Grading) and case.workdir is not None:
        if grading.flag_takes_argument(case, flag):
            return (f"your option string makes {flag} take an argument (a \":\" after its "
                    f"letter, as in \"vaN:\"), so {flag} swallows the word after it")
    return ""


def _check_of(reports: list[pytest.TestReport]) -> Optional[Check]:
    for report in reports:
        check = check_from_report(report)
        if check is not None:
            return check
    return None


def _record(reports: list[pytest.TestReport], check: Check, *, warning: str = "",
            message: str = "") -> None:
    """Change the Check that the teardown report carries."""
    if warning:
        check.warnings.append(warning)
    if message:
        check.message = message
    for report in reports:
        report.user_properties = [
            (k, dataclasses.asdict(check) if k == USER_PROPERTY else v)
            for k, v in report.user_properties]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    case = item.stash.get(CASE, None)
    try:
        result = yield
    except Exception:
        # A program that ran what it may not fails for that, whatever else went wrong after
        # (the exec it tried was refused).
        if case is not None and case.exec_watch is not None:
            case.exec_watch.judge()
        raise
    if case is not None and case.exec_watch is not None:
        case.exec_watch.judge()
    if case is not None and case.strict and case.deviations:
        case.strict_failed = True
        raise CheckFailure("differs from the handout's exact text (--strict): "
                           + "; ".join(case.deviations),
                           "print exactly the text the handout gives")
    return result


def _classify(excinfo: Optional[pytest.ExceptionInfo]) -> tuple[str, str, Optional[str]]:
    if excinfo is None:
        return PASSED, "", None
    if excinfo.errisinstance(pytest.skip.Exception):
        return SKIPPED, str(excinfo.value.msg), None
    if excinfo.errisinstance(AssertionError):
        hint = getattr(excinfo.value, "hint", None)
        return FAILED, str(excinfo.value) or "assertion failed", hint
    if excinfo.errisinstance(KeyboardInterrupt):
        return ERROR, "interrupted", None
    return ERROR, f"internal error of the grader: {excinfo.exconly()}", None


@pytest.hookimpl(tryfirst=True, specname="pytest_runtest_makereport")
def pytest_runtest_makereport_of_failure(item: pytest.Item,
                                         call: pytest.CallInfo) -> Optional[pytest.TestReport]:
    """A check's failure reported without pytest's traceback: the wrapper below replaces the
    report's text with the grader's own (message, hint, transcript), and the traceback,
    formatted from the source of every frame, cost about 30 ms a failed check."""
    excinfo = call.excinfo
    if excinfo is None or not excinfo.errisinstance(AssertionError) or not _is_case(item) \
            or item.stash.get(CASE, None) is None:
        return None
    call.excinfo = None           # the report of a pass: pytest's own fields, then failed
    try:
        report = pytest.TestReport.from_item_and_call(item, call)
    finally:
        call.excinfo = excinfo
    report.outcome, report.longrepr = "failed", str(excinfo.value)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if not _is_case(item):
        return report
    state = item.stash.setdefault(STATE, {"status": PASSED, "message": "", "hint": None,
                                          "duration": 0.0})
    state["duration"] += report.duration
    status, message, hint = _classify(call.excinfo)
    if status == ERROR and call.excinfo is not None:
        message += "\n" + str(report.longrepr)[-2000:]
    if state["status"] == PASSED and status != PASSED:
        state.update(status=status, message=message, hint=hint)
    case = item.stash.get(CASE, None)
    flag = assignments.for_case_file(item.path).debug_flag
    if (status == FAILED and report.when != "teardown" and case is not None and flag
            and case.used_debug_flag and not case.windowed and not case.strict_failed):
        item.stash[DEBUG_CAUSE] = _debug_cause(item, case, flag)
    if status == FAILED and case is not None:
        report.longrepr = f"{message}\nhint: {hint or hint_of(item)}" \
                          f"\n{case.transcript.render()}"
    if report.when == "teardown":
        report.user_properties.append((USER_PROPERTY, dataclasses.asdict(_check(item, state))))
    return report


def _check(item: pytest.Item, state: dict[str, Any]) -> Check:
    cid = check_id(item.name)
    assignment = assignments.for_case_file(item.path)
    max_points = assignment.points.get(cid, 0)
    status = state["status"]
    case = item.stash.get(CASE, None)
    failed = status in (FAILED, ERROR)
    return Check(
        id=cid, title=title_of(getattr(item, "function"), item.name), status=status,
        points=max_points if status == PASSED else 0,
        max_points=0 if status == SKIPPED else max_points,
        message=state["message"],
        hint=(state["hint"] or hint_of(item)) if failed else "",
        transcript=case.transcript.render() if case is not None and (
            failed or item.config.getoption(keys.ALL_TRANSCRIPTS)) else "",
        duration_s=round(state["duration"], 3),
        waited_s=round(case.waited_s, 3) if case is not None else 0.0,
        warnings=list(case.deviations) + list(case.warnings) if case is not None else [],
        reproduce=reproduce.describe(case.steps, assignment)
        if case is not None and status == FAILED else "",
    )


def check_from_report(report: pytest.TestReport) -> Optional[Check]:
    """The Check a case's teardown report carries (None for other items)."""
    for key, value in report.user_properties:
        if key == USER_PROPERTY and isinstance(value, dict):
            return Check(**value)
    return None
