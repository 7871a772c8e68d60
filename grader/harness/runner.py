"""One grading run: prepare the program, run the assignment's cases under pytest, collect a Run."""
from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence

import pytest

from .assignments import CASES_DIR, Assignment, CaseModuleError, ManifestError, checks_in_order
from .checks import check_id, title_of
from .keys import CHECK_MARKER, GRADING
from .plugin import check_from_report
from .results import NOT_RUN_INTERRUPTED, SKIPPED, Check, Run
from .session import Grading
from ..settings import Settings
from .targets import BadInput, Target


def broken_module(collector: pytest.Collector, report: pytest.CollectReport) -> Optional[str]:
    """What a failed collection of a case module says: the file and the error, then pytest's
    account of it (the module's own traceback), without pytest's hint about module names."""
    if not report.failed:
        return None
    text = str(report.longrepr)
    errors = [line[1:].strip() for line in text.splitlines() if line.startswith("E ")]
    detail = "\n".join(line for line in text.splitlines()
                       if not line.startswith("Hint: make sure your test modules"))
    return f"{collector.path}: {errors[-1] if errors else 'cannot be collected'}\n{detail}"


class _BrokenModules:
    """Keeps every case module whose collection failed (an import error, say)."""

    def __init__(self) -> None:
        self.broken: list[str] = []

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(self, collector: pytest.Collector):
        report = yield
        said = broken_module(collector, report)
        if said:
            self.broken.append(said)
        return report


class Interrupted(KeyboardInterrupt):
    """^C or SIGTERM stopped a grading: `run` holds the checks that finished, every other one
    not run, and says it was interrupted, so the reports can still be written."""

    def __init__(self, run: Run) -> None:
        super().__init__()
        self.run = run


def raise_for_broken(broken: list[str]) -> None:
    if broken:
        raise CaseModuleError("\n\n".join(broken))


def _is_case(item: pytest.Item) -> bool:
    return (Path(item.path).parent / "manifest.toml").is_file()


def manifest_problem(items: list[pytest.Item]) -> Optional[str]:
    """The first check without points in its folder's manifest.toml, said in plain words."""
    try:
        checks_in_order([item for item in items if _is_case(item)])
    except ManifestError as e:
        return str(e)
    return None


def compile_keyword(expression: str):
    """pytest's -k expression, parsed; BadInput (exit 2) when it is not one."""
    from _pytest.mark.expression import Expression
    try:
        return Expression.compile(expression)
    except Exception as e:   # noqa: BLE001 - ParseError (pytest 8) or SyntaxError (pytest 9)
        detail = getattr(e, "message", None) or (e.args[0] if e.args else str(e))
        raise BadInput(f"-k {expression!r} is not a valid expression ({detail}); write check "
                       "ids or words joined by and, or, not, e.g. -k \"chat or usage\"")


def keyword_names(item: pytest.Item) -> set[str]:
    """What -k matches: pytest's names for the item and the check id the report prints."""
    names = {node.name for node in item.listchain()[1:]}
    names.add(check_id(item.name))
    function = getattr(item, "function", None)
    if function is not None:
        names.add(function.__name__)
    names.update(mark.name for mark in item.iter_markers() if mark.name != CHECK_MARKER)
    return names


def select(items: list[pytest.Item], expression) -> tuple[list[pytest.Item], list[pytest.Item]]:
    """(kept, deselected) items for a compiled -k expression, case-insensitive substrings."""
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        names = [n.lower() for n in keyword_names(item)]

        def matcher(sub: str, **kwargs) -> bool:
            return any(sub.lower() in n for n in names)
        (kept if expression.evaluate(matcher) else dropped).append(item)
    return kept, dropped


class _Collector(_BrokenModules):
    """Receives pytest's reports in-process and keeps the grader's Check of each case."""

    def __init__(self, grading: Grading, *, keyword: Optional[str] = None,
                 deadline: Optional[float] = None, budget: Optional[float] = None,
                 on_check: Optional[Callable[[Check], None]] = None):
        self.grading = grading
        self.run = Run(grading.assignment.id, grading.target.spec)
        super().__init__()
        self.problems: list[str] = []
        self.manifest: Optional[str] = None
        self.keyword = compile_keyword(keyword) if keyword else None
        self.deadline, self.budget = deadline, budget
        self.on_check = on_check
        self.cut: list[str] = []
        self.planned: list[pytest.Item] = []

    def pytest_configure(self, config: pytest.Config) -> None:
        config.stash[GRADING] = self.grading

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, config: pytest.Config,
                                      items: list[pytest.Item]) -> None:
        # Before the plugin's own hook, which would raise pytest.UsageError (an internal error
        # here): a check without points is the instructor's input error, exit status 2.
        self.manifest = manifest_problem(items)
        if self.manifest:
            config.hook.pytest_deselected(items=list(items))
            items[:] = []
            return
        if self.keyword is not None:
            kept, dropped = select(items, self.keyword)
            if dropped:
                config.hook.pytest_deselected(items=dropped)
            items[:] = kept

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.planned = [item for item in session.items if _is_case(item)]

    def not_run(self) -> list[Check]:
        """The checks collected that have no result (the grading stopped before their end)."""
        done = {c.id for c in self.run.checks}
        assignment = self.grading.assignment
        return [Check(check_id(item.name), title_of(item.function, item.name), SKIPPED, 0,
                      assignment.points.get(check_id(item.name), 0), message=NOT_RUN_INTERRUPTED,
                      visibility=assignment.visibility_of(check_id(item.name)))
                for item in self.planned if check_id(item.name) not in done
                and isinstance(item, pytest.Function)]

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.cut.append(check_id(item.name))
            pytest.skip(f"not run: the time budget of {self.budget:g}s for this grading "
                        "was used up")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        check = check_from_report(report)
        if check is None:
            return
        assignment = self.grading.assignment
        if check.id in self.cut and check.status == SKIPPED:
            check.points, check.max_points = 0, assignment.points.get(check.id, 0)
        check.visibility = assignment.visibility_of(check.id)
        self.run.checks.append(check)
        if self.on_check is not None:
            self.on_check(check)

    def pytest_internalerror(self, excrepr) -> None:
        self.problems.append(str(excrepr))


@contextmanager
def own_plugins_only() -> Iterator[None]:
    """Run pytest with our plugin alone: no third-party plugin may change a grading."""
    saved = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = saved


def pytest_args(paths: Sequence[Path], *, transcripts: bool = False) -> list[str]:
    """pytest's arguments for running (or collecting) the checks in these case folders."""
    # Plugins a grading does not use cost start-up time (unraisableexception alone runs five
    # garbage collections at exit); the terminal is ours, not pytest's. -k is applied by the
    # collector (it also matches the ids and titles the reports print), so it is not passed on.
    # Nor do checks use unittest classes, captured logging or pdb: those cost imports of
    # unittest, pdb and readline at start and a log handler set up around every phase.
    unused = ("cacheprovider", "terminal", "stepwise", "unraisableexception", "threadexception",
              "pastebin", "nose", "doctest", "junitxml", "setuponly", "setupplan", "legacypath",
              "unittest", "logging", "debugging")
    args = [str(p) for p in paths] + [
        "-p", "grader.harness.plugin", "-c", str(CASES_DIR / "pytest.ini"),
        "--rootdir", str(CASES_DIR),
        "--import-mode=importlib",
        # The fixtures, for a course's cases outside the package too (no conftest.py needed).
        "-p", "grader.vocabulary.fixtures"]
    for name in unused:
        args += ["-p", f"no:{name}"]
    if transcripts:
        args.append("--all-transcripts")
    return args


class _Items(_BrokenModules):
    def __init__(self, keyword: Optional[str]) -> None:
        super().__init__()
        self.items: list[pytest.Item] = []
        self.manifest: Optional[str] = None
        self.keyword = compile_keyword(keyword) if keyword else None

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, config: pytest.Config,
                                      items: list[pytest.Item]) -> None:
        self.manifest = manifest_problem(items)
        if self.manifest:
            items[:] = []
        elif self.keyword is not None:
            items[:] = select(items, self.keyword)[0]

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.items = list(session.items)


def collect(chosen: Sequence[Assignment], keyword: Optional[str] = None,
            message: str = "not run") -> dict[str, list[Check]]:
    """Which checks each assignment has, in the order they run, with their points; none run.

    The one collection: `grade list` prints it, a failed build scores it (each check not run,
    `message` saying why) and -k must select from it. Raises ManifestError for a check
    without points, BadInput for an invalid -k, CaseModuleError for a module that cannot be
    imported.
    """
    found = _Items(keyword)
    with own_plugins_only():
        pytest.main(pytest_args([a.path for a in chosen]) + ["--collect-only"], plugins=[found])
    raise_for_broken(found.broken)
    if found.manifest:
        raise ManifestError(found.manifest)
    checks: dict[str, list[Check]] = {}
    items = [i for i in found.items if isinstance(i, pytest.Function) and _is_case(i)]
    for item, assignment, cid in checks_in_order(items):
        checks.setdefault(assignment.id, []).append(Check(
            cid, title_of(item.function, item.name), SKIPPED, 0, assignment.points[cid],
            message=message, visibility=assignment.visibility_of(cid)))
    return checks


def planned_checks(assignment: Assignment, keyword: Optional[str], message: str) -> list[Check]:
    """One assignment's checks from collect(): what a failed build scores, with titles."""
    return collect([assignment], keyword, message).get(assignment.id, [])


_preloaded: set[str] = set()
# Imported by pytest or the reports only when they are first needed: loaded before any program.
_LATE_MODULES = ("faulthandler", "pdb", "curses", "unittest", "xml.etree.ElementTree",
                 "encodings.unicode_escape", "_pytest.tracemalloc", "_pytest.unittest",
                 "_pytest.faulthandler", "_pytest.skipping", "_pytest.warnings",
                 "_pytest.helpconfig", "_pytest._argcomplete")


def preload(assignment: Assignment) -> None:
    """Import every module a grading will use before its first untrusted process starts: the
    grader's own (its reports included), the reference programs, pytest's plugins and the
    assignment's case modules and conftests (a collection). A build or program that changes
    any of them on disk (as an ordinary user without a private view, it can) changes nothing
    this grading runs: pytest takes the case modules it finds already imported."""
    if assignment.id in _preloaded:
        return
    import importlib
    import pkgutil

    # the grader package is walked by its path: every layer, without importing the surface
    packages = [(str(Path(__file__).resolve().parents[1]), "grader")]
    try:
        import reference
        packages += [(p, reference.__name__) for p in reference.__path__]
    except ImportError:         # an installation without our reference programs
        pass
    for path, name in packages:
        for info in pkgutil.walk_packages([path], f"{name}."):
            if not info.name.endswith("__main__"):
                importlib.import_module(info.name)
    for name in _LATE_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    before = set(sys.modules)
    try:
        collect([assignment])
    except CaseModuleError:
        # A module that failed half-way stays in sys.modules, where a later collection would
        # take it as imported: forget what this one added under the assignment's folders.
        root = str(Path(assignment.path).resolve().parent)
        for name in set(sys.modules) - before:
            if str(getattr(sys.modules[name], "__file__", "") or "").startswith(root):
                del sys.modules[name]
        raise
    _preloaded.add(assignment.id)


def grade(assignment: Assignment, target: Target, settings: Settings, *, strict: bool = False,
          keyword: Optional[str] = None, transcripts: bool = False,
          talk_lib: Optional[Path] = None, budget: Optional[float] = None,
          on_check: Optional[Callable[[Check], None]] = None) -> Run:
    """Grade one program. Raises build.BuildFailed when a source directory does not build,
    Interrupted (with the run so far) when ^C or SIGTERM stops the checks.

    `budget` (seconds, build included): checks that would start after it has elapsed are not
    run, and the run lists them in `cut`. `on_check` is called with each check as it finishes.
    """
    started = time.monotonic()
    preload(assignment)
    grading = Grading(assignment, target, settings, strict=strict, talk_lib=talk_lib)
    collector = _Collector(grading, keyword=keyword, budget=budget, on_check=on_check,
                           deadline=started + budget if budget else None)
    try:
        grading.start(deadline=started + budget if budget else None)
        with own_plugins_only():
            code = pytest.main(pytest_args([assignment.path], transcripts=transcripts),
                               plugins=[collector])
        run = collector.run
        raise_for_broken(collector.broken)   # pytest calls this "interrupted" too
        if code == pytest.ExitCode.INTERRUPTED:
            run.interrupted = True
            run.checks += collector.not_run()
        if collector.manifest:
            raise ManifestError(collector.manifest)
        if collector.problems or code in (pytest.ExitCode.INTERNAL_ERROR,
                                          pytest.ExitCode.USAGE_ERROR):
            run.error = "\n".join(collector.problems) or f"pytest ended with {code!r}"
    finally:
        grading.close()
    run.build = grading.build
    run.notes = ([target.note] if target.note else []) + grading.notes
    skipped = {c.id for c in run.checks if c.status == SKIPPED}
    run.cut = [cid for cid in dict.fromkeys(collector.cut) if cid in skipped]
    if run.cut:
        run.notes.append(f"the time budget of {budget:g}s ran out: {len(run.cut)} checks not run")
    run.duration_s = round(time.monotonic() - started, 3)
    if run.interrupted:
        raise Interrupted(run)
    return run
