"""The pytest plugin on a toy assignment (pytester): ids, order, points, --strict, hints, the
windowed re-run. No program is started: the toy's `grading` fixture stands in for a real one,
so a change to the plugin is checked in seconds."""
from __future__ import annotations

import textwrap

import pytest

from grader.harness.keys import GRADING, REFERENCE, STRICT
from grader.harness.plugin import check_from_report
from grader import has_terminfo

pytest_plugins = ["pytester"]

CONFTEST = '''
import pytest

from grader.vocabulary.fixtures import case  # noqa: F401 - the real case fixture
from grader.harness.keys import GRADING, STRICT
from grader.settings import Settings


class ToyGrading:
    """What the case fixture needs of a Grading, without namespaces or a program."""

    def __init__(self, strict):
        self.settings, self.strict = Settings(), strict

    def enter_case(self, case):
        pass


@pytest.fixture(scope="session")
def grading(request):
    g = ToyGrading(request.config.getoption(STRICT))
    request.config.stash[GRADING] = g
    return g


@pytest.fixture(params=["client", "server"])
def role(request):
    return request.param
'''

MANIFEST = '''
title = "A toy"
program = "toy"
{extra}

[points]
{points}
'''


def toy(pytester: pytest.Pytester, checks: str, points: str, extra: str = "") -> None:
    d = pytester.mkdir("toy")
    (d / "manifest.toml").write_text(MANIFEST.format(points=textwrap.dedent(points), extra=extra))
    (d / "conftest.py").write_text(CONFTEST)
    (d / "test_toy.py").write_text("import pytest\n\nfrom grader import CheckFailure, check\n\n"
                                   + textwrap.dedent(checks))


# As `grade` runs pytest: the grader's plugin alone (third-party plugins cost start-up time).
ALONE = ("-p", "grader.harness.plugin", "-p", "no:cacheprovider")


@pytest.fixture(autouse=True)
def own_plugins_only(monkeypatch):
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


def run(pytester: pytest.Pytester, *args: str):
    """(the Checks in the order they ran, pytest's exit code)."""
    reprec = pytester.inline_run("toy", *ALONE, *args)
    checks = [c for c in (check_from_report(r) for r in reprec.getreports(
        "pytest_runtest_logreport")) if c is not None]
    return checks, reprec.ret


def test_ids_titles_and_the_manifest_order(pytester):
    toy(pytester, '''
        @check(hint="h")
        def test_second():
            """Second in the file, first in the manifest."""

        def test_first(role):
            """Run once per role."""

        @pytest.mark.parametrize("size", ["long", "short"])
        def test_sized(size):
            pass
        ''', '''
        second = 1
        server_first = 2
        client_first = 2
        sized_short = 1
        sized_long = 1
        ''')
    checks, ret = run(pytester)
    assert ret == 0
    assert [c.id for c in checks] == ["second", "server_first", "client_first", "sized_short",
                                      "sized_long"]
    titles = {c.id: c.title for c in checks}
    assert titles["second"] == "Second in the file, first in the manifest."
    assert titles["client_first"] == "Run once per role. (as client)"
    assert titles["sized_long"] == "sized (long)"
    assert [(c.points, c.max_points) for c in checks] == [(1, 1), (2, 2), (2, 2), (1, 1), (1, 1)]


def test_a_check_without_points_is_refused(pytester):
    toy(pytester, '''
        def test_counted():
            pass

        def test_forgotten():
            pass
        ''', "counted = 1")
    result = pytester.runpytest("toy", *ALONE)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*check 'forgotten' has no points in its manifest.toml*"])


def test_a_failure_carries_its_message_hint_and_transcript(pytester):
    toy(pytester, '''
        @check(hint="the usual cause")
        def test_fails(case):
            case.note("something happened")
            raise CheckFailure("it went wrong")

        @check(hint="the usual cause")
        def test_own_hint():
            raise CheckFailure("it went wrong", "a better hint")

        def test_crashes():
            {}["missing"]
        ''', "fails = 2\nown_hint = 1\ncrashes = 1")
    checks, ret = run(pytester)
    fails, own, crash = checks
    assert (fails.status, fails.points, fails.max_points) == ("failed", 0, 2)
    assert fails.message == "it went wrong" and fails.hint == "the usual cause"
    assert "something happened" in fails.transcript
    assert own.hint == "a better hint"
    assert crash.status == "error" and "internal error of the grader: KeyError" in crash.message


def test_deviations_warn_and_fail_under_strict(pytester):
    toy(pytester, '''
        def test_worded(case):
            case.deviation("one space where the handout has two")
            case.warn("exit status 1 after ^D")
        ''', "worded = 1")
    checks, _ = run(pytester)
    assert checks[0].status == "passed"
    assert checks[0].warnings == ["one space where the handout has two", "exit status 1 after ^D"]
    checks, _ = run(pytester, "--grader-strict")
    assert checks[0].status == "failed"
    assert checks[0].message == ("differs from the handout's exact text (--strict): one space "
                                 "where the handout has two")


def test_check_is_a_registered_marker(pytester):
    toy(pytester, '''
        @check(hint="h")
        def test_marked():
            pass
        ''', "marked = 1")
    assert run(pytester, "--strict-markers")[1] == 0
    pytester.runpytest("--markers", *ALONE).stdout.fnmatch_lines(["@pytest.mark.check(hint)*"])


def test_options_have_the_grade_commands_names(pytester):
    config = pytester.parseconfig("--reference", "--grader-strict", "--talk-lib", "lib", *ALONE)
    assert config.getoption(REFERENCE) and config.getoption(STRICT)
    assert pytester.parseconfig("--grade-reference", *ALONE).getoption(REFERENCE)   # the old name
    assert config.getoption("talk_lib") == "lib"


def test_other_tests_are_left_alone(pytester):
    pytester.makepyfile(test_plain="def test_plain():\n    pass\n")
    reprec = pytester.inline_run(*ALONE)
    reprec.assertoutcome(passed=1)
    assert not [r for r in reprec.getreports("pytest_runtest_logreport") if check_from_report(r)]


# -- the windowed re-run of a check that failed under the debugging flag -----------------------

WINDOWED = '''
def test_windowed_mode(case):
    if WINDOWED_FAILS:
        raise CheckFailure("no windows")

def test_only_under_flag(case):
    """Fails under -N only."""
    if not case.windowed:
        case.used_debug_flag = True
        raise CheckFailure("under -N the line was lost")

def test_eof_under_flag(case):
    """Fails under -N only, for a cause the grader knows (the end of input missed)."""
    if not case.windowed:
        case.used_debug_flag = case.eof_missed = True
        raise CheckFailure("went on after ^D")

def test_both_ways(case):
    case.used_debug_flag = not case.windowed
    raise CheckFailure("windowed: lost" if case.windowed else "under -N: lost")

def test_without_flag(case):
    raise CheckFailure("plain failure")
'''
WINDOWED_POINTS = ("windowed_mode = 1\nonly_under_flag = 1\neof_under_flag = 1\nboth_ways = 1\n"
                   "without_flag = 1")


@pytest.mark.skipif(not has_terminfo("xterm"), reason="the re-run needs an xterm terminfo entry")
def test_a_check_failing_only_under_the_flag_passes_with_a_warning(pytester):
    toy(pytester, "WINDOWED_FAILS = False\n" + WINDOWED, WINDOWED_POINTS,
        extra='debug_flag = "-N"')
    checks, _ = run(pytester)
    by_id = {c.id: c for c in checks}
    assert [c.id for c in checks] == ["windowed_mode", "only_under_flag", "eof_under_flag",
                                      "both_ways", "without_flag"]
    only = by_id["only_under_flag"]
    assert (only.status, only.points) == ("passed", 1)
    # Issue 17.13: -N is blamed only for a known -N cause; otherwise both runs are shown.
    assert only.warnings[-1].startswith("this check failed in one mode and passed in the "
                                        "other: with -N it failed (under -N the line was lost); "
                                        "run windowed (without -N), as the program is used, it "
                                        "passed")
    assert "debugging aid" not in only.warnings[-1]
    eof = by_id["eof_under_flag"]
    assert (eof.status, eof.points) == ("passed", 1)
    assert eof.warnings[-1].startswith("with -N this check failed (went on after ^D); run "
                                       "windowed")
    assert "debugging aid" in eof.warnings[-1] and "has_hit_eof()" in eof.warnings[-1]
    both = by_id["both_ways"]
    assert both.status == "failed" and both.message == (
        "under -N: lost\n(run windowed, without -N, it fails too: windowed: lost)")
    assert by_id["without_flag"].message == "plain failure"       # not run again
    assert by_id["without_flag"].warnings == []


@pytest.mark.skipif(not has_terminfo("xterm"), reason="the re-run needs an xterm terminfo entry")
def test_a_failed_windowed_mode_decides_no_other_check(pytester):
    """Issue 17.2: each check decides its own windowed re-run; windowed_mode failing does not
    take a windowed pass away from another check."""
    toy(pytester, "WINDOWED_FAILS = True\n" + WINDOWED, WINDOWED_POINTS,
        extra='debug_flag = "-N"')
    checks, _ = run(pytester)
    by_id = {c.id: c for c in checks}
    assert by_id["windowed_mode"].status == "failed"
    only = by_id["only_under_flag"]
    assert (only.status, only.points) == ("passed", 1)
    assert only.warnings[-1].startswith("this check failed in one mode")
    assert by_id["both_ways"].status == "failed"
    assert "it fails too: windowed: lost" in by_id["both_ways"].message


def test_plugin_and_fixtures_share_keys_through_one_module():
    """The seam runs one way: plugin.py and fixtures.py import keys, not each other."""
    import ast
    from pathlib import Path

    from grader.vocabulary import fixtures
    from grader.harness import runner

    def imported(module: str) -> set:
        package = Path(fixtures.__file__).parents[1]
        tree = ast.parse(next(package.glob(f"*/{module}.py")).read_text())
        found = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                found.add(node.module or "")
                found.update(f"{node.module or ''}.{a.name}" for a in node.names)
        return found
    assert not {m for m in imported("plugin") if "fixtures" in m}
    assert not {m for m in imported("fixtures") if "plugin" in m}
    assert fixtures.GRADING is GRADING and runner.GRADING is GRADING


# -- the vocabulary cases use ---------------------------------------------------------------------

def test_every_public_name_resolves_and_import_grader_stays_cheap():
    import subprocess
    import sys

    import grader
    for name in grader.__all__:
        assert getattr(grader, name) is not None, name
    done = subprocess.run([sys.executable, "-c", "import sys, grader, grader.frontend.cli; "
                           "print(sorted(m for m in ('pexpect', 'pyte', 'grader.harness.program') "
                           "if m in sys.modules))"], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stderr


def test_cases_use_only_the_public_vocabulary():
    """Cases import from `grader` alone and reach into no participant's plumbing."""
    import ast
    from pathlib import Path

    import grader
    cases = Path(__file__).resolve().parent.parent / "cases"
    problems = []
    for path in sorted(cases.rglob("*.py")):
        where = path.relative_to(cases)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("grader"):
                if node.module == "grader.vocabulary.fixtures" and str(where) == "conftest.py":
                    continue
                if node.module != "grader":
                    problems.append(f"{where}:{node.lineno}: from {node.module} import")
                problems += [f"{where}:{node.lineno}: {a.name} is not in grader.__all__"
                             for a in node.names if a.name not in grader.__all__]
            elif isinstance(node, ast.Attribute) and (
                    node.attr in ("case", "settings", "sock", "grading")
                    or node.attr.startswith("_") and not node.attr.startswith("__")):
                problems.append(f"{where}:{node.lineno}: .{node.attr}")
    assert not problems, "\n".join(problems)
