"""The mutation table: every fixture program gets exactly the verdicts the table gives it.

Correct programs and the variants the spec allows pass every check; each planted bug fails
the checks listed for it and passes all others. A check that no fixture fails is untested.
A check listed in an entry's `warns` must pass and carry at least one warning: the program
does something the handout leaves open (or only its debugging mode differs), and the
grader must say so without taking points.
"""
import pytest

from grader.harness import assignments
from verdict_table import check_table, load, missing_warnings, wrong_verdicts

pytestmark = pytest.mark.slow

TABLE = load()


@pytest.mark.parametrize("entry", TABLE, ids=[e.name for e in TABLE])
def test_fixture_gets_its_verdicts(entry, build_c, grade):
    program = build_c(list(entry.sources), entry.defines, entry.talk)
    g = grade(entry.assignment, str(program))
    assert g.result is not None, g.stderr
    wrong = wrong_verdicts(entry, g.verdicts)
    details = {c["id"]: c["message"] for c in g.result["checks"] if c["id"] in wrong}
    assert not wrong, "\n".join(f"{cid}: expected {w}, got {got} — {details.get(cid, '')}"
                                for cid, (w, got) in wrong.items())
    unwarned = missing_warnings(entry, g.result["checks"])
    assert not unwarned, "\n".join(f"{cid}: expected a pass with a warning, {what}"
                                   for cid, what in unwarned.items())
    assert g.code == (1 if entry.fails else 0)


def test_table_is_consistent():
    assert not check_table(TABLE), "\n".join(check_table(TABLE))


@pytest.mark.parametrize("entry", [e for e in TABLE if e.warns or e.fails],
                         ids=[e.name for e in TABLE if e.warns or e.fails])
def test_table_names_real_checks(entry):
    """Every check id in fails/warns/skips exists in the assignment (a typo would pass silently)."""
    known = set(assignments.find(entry.assignment).points)
    unknown = sorted((entry.fails | entry.passes | entry.warns | entry.skips) - known)
    assert not unknown, f"{entry.name}: no such check in {entry.assignment}: {unknown}"


@pytest.mark.parametrize("assignment", [a.id for a in assignments.all_assignments()])
def test_every_check_catches_a_planted_bug(assignment):
    caught = set().union(*(e.fails for e in TABLE if e.assignment == assignment))
    untested = set(assignments.find(assignment).points) - caught
    assert not untested, f"no fixture fails: {sorted(untested)}"


@pytest.mark.parametrize("assignment", [a.id for a in assignments.all_assignments()])
def test_a_correct_program_passes_everything(assignment):
    assert any(e.assignment == assignment and not e.fails for e in TABLE)


def test_warns_means_passed_with_a_warning():
    """The `warns` rule itself: a listed check must pass AND carry a warning; others may warn."""
    from verdict_table import Entry
    entry = Entry(name="x", assignment="asgn5", sources=("x.c",), fails=frozenset({"b"}),
                  warns=frozenset({"a", "c", "d"}))
    checks = [{"id": "a", "status": "passed", "warnings": ["spelled differently"]},
              {"id": "b", "status": "failed", "warnings": []},
              {"id": "c", "status": "passed", "warnings": []},
              {"id": "e", "status": "passed", "warnings": ["allowed here too"]}]
    assert missing_warnings(entry, checks) == {"c": "passed without a warning", "d": "not run"}
    assert wrong_verdicts(entry, {c["id"]: c["status"] for c in checks}) == {}
    assert check_table([entry, Entry(name="x", assignment="asgn5", sources=("y.c",),
                                     fails=frozenset({"a"}), warns=frozenset({"a"}))]) == \
        ["x: listed twice", "x: a is in both fails and warns"]


def test_warning_says_and_lacks():
    """What a warning blames is part of the verdict: -N only for a known -N cause."""
    from verdict_table import Entry
    entry = Entry(name="x", assignment="asgn5", sources=("x.c",), warns=frozenset({"a", "b"}),
                  warning_says=("one mode",), warning_lacks=("debugging aid",))
    checks = [{"id": "a", "status": "passed", "warnings": ["failed in one mode, passed"]},
              {"id": "b", "status": "passed", "warnings": ["-N is only a debugging aid"]}]
    assert list(missing_warnings(entry, checks)) == ["b"]
    checks[1]["warnings"] = ["in one mode; -N is only a debugging aid"]
    assert "say ['debugging aid']" in missing_warnings(entry, checks)["b"]


def test_fails_every_check_except():
    """`fails = ["*"]` with `passes`: the failing checks are derived, so a new check needs no
    fixture re-judged; what a bug must not fail is said outright (one bug, one charge)."""
    from verdict_table import entry_from
    checks = ["usage_no_args", "client_chat", "client_idle", "server_chat", "self_interop"]
    problems: list[str] = []
    e = entry_from({"name": "x", "assignment": "asgn5", "sources": ["x.c"],
                    "fails": ["*"], "passes": ["usage_*", "self_interop"]}, checks, problems)
    assert e.fails == {"client_chat", "client_idle", "server_chat"}
    assert e.passes == {"usage_no_args", "self_interop"}
    assert problems == []
    assert wrong_verdicts(e, {c: "failed" for c in checks}) == {
        "usage_no_args": ("passed", "failed"), "self_interop": ("passed", "failed")}
    e = entry_from({"name": "y", "assignment": "asgn5", "sources": ["y.c"],
                    "fails": ["client_*", "peer_closes"], "passes": ["client_idle"]},
                   checks, problems)
    assert e.fails == {"client_chat"}
    e = entry_from({"name": "z", "assignment": "asgn5", "sources": ["z.c"],
                    "fails": ["server_chat"], "passes": ["server_chat"]}, checks, problems)
    assert problems == ["y: 'peer_closes' names no check of asgn5",
                        "z: server_chat is in both fails and passes"]


def test_passes_every_check_except():
    """`passes = ["*"]` with exceptions in `fails` says the default outright: the narrower
    name wins, so the exceptions fail and a new check passes."""
    from verdict_table import entry_from
    checks = ["usage_no_args", "client_chat", "client_idle", "server_chat", "self_interop"]
    problems: list[str] = []
    e = entry_from({"name": "x", "assignment": "asgn5", "sources": ["x.c"],
                    "passes": ["*"], "fails": ["client_*"]}, checks, problems)
    assert e.fails == {"client_chat", "client_idle"} and problems == []
    plain = entry_from({"name": "x", "assignment": "asgn5", "sources": ["x.c"],
                        "fails": ["client_*"]}, checks, problems)
    assert plain.fails == e.fails
    e = entry_from({"name": "w", "assignment": "asgn5", "sources": ["w.c"],
                    "passes": ["client_*"], "fails": ["*_chat"]}, checks, problems)
    assert problems == ["w: client_chat is in both fails and passes"]


def test_a_new_check_needs_no_entry_rejudged():
    """Add a check to every assignment: entries that fail every check (or every check of
    its role) are expected to fail it, every other entry to pass it, and no entry names a
    check that is not there. Nobody re-judges a fixture by hand."""
    import fnmatch

    from verdict_table import TABLE_DIR, entry_from, tomllib
    derived = []
    for path in sorted(TABLE_DIR.glob("*.toml")):
        with open(path, "rb") as f:
            raw = tomllib.load(f)["fixture"]
        for e in raw:
            checks = list(assignments.find(e["assignment"]).points) + ["server_added_later"]
            problems: list[str] = []
            entry = entry_from(e, checks, problems)
            by_pattern = any(fnmatch.fnmatchcase("server_added_later", p)
                             for p in e.get("fails", ()))
            assert ("server_added_later" in entry.fails) == by_pattern, e["name"]
            assert problems == [], problems
            derived += [e["name"]] if by_pattern else []
    assert {"udp-client/no-htons", "students/mytalk-abort", "asgn5/fixed-port"} <= set(derived)
