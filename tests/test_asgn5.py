"""Assignment 5 end to end: handins as students hand them in, tolerance, --strict, --talk-lib."""
import shutil

import pytest

from support import ROOT, run_grade
from grader.harness import talklib

EXAMPLES = ROOT / "examples" / "asgn5"
MYTALK = ["asgn5/mytalk.c"]


def test_handin_naming_the_course_library_builds_with_ours(grade):
    makefile = (EXAMPLES / "good" / "Makefile").read_text()
    assert "~pn-cs357/Given/Talk/include" in makefile and "~pn-cs357/Given/Talk/lib64" in makefile
    g = grade("asgn5", str(EXAMPLES / "good"))
    assert g.code == 0, g.stdout[-3000:] + g.stderr
    assert g.result["build"]["status"] == "ok"
    assert g.result["score"] == g.result["max_score"]


def test_buggy_example_loses_the_points_of_its_bugs(grade):
    g = grade("asgn5", str(EXAMPLES / "buggy"))
    assert g.code == 1
    assert {"client_bye_is_ordinary", "server_bye_is_ordinary",
            "client_idle_after_close", "server_idle_after_close"} <= g.failed
    assert "skip" not in g.stdout.lower() or "windowed" in g.stdout.lower()


@pytest.mark.slow
def test_allowed_spelling_variant_warns_and_strict_fails_it(grade, build_c):
    program = str(build_c(MYTALK, ("VARIANT_ONE_SPACE",), talk=True))
    tolerant = grade("asgn5", program)
    assert tolerant.code == 0, tolerant.stdout[-3000:]
    warned = {c["id"] for c in tolerant.result["checks"] if c["warnings"]}
    assert {"server_prompt", "client_peer_closes", "server_peer_closes"} <= warned
    assert "warning:" in tolerant.stdout
    strict = grade("asgn5", program, "--strict")
    assert strict.code == 1
    assert strict.failed == warned


@pytest.mark.slow
def test_talk_lib_option_is_used_for_the_build(tmp_path, grade):
    lib = tmp_path / "talk"
    shutil.copytree(talklib.ensure(), lib, symlinks=True)
    g = grade("asgn5", str(EXAMPLES / "good"), "--talk-lib", str(lib), "-k", "usage")
    assert g.code == 0, g.stderr
    empty = tmp_path / "empty"
    (empty / "include").mkdir(parents=True)
    (empty / "lib64").mkdir()
    done = run_grade("asgn5", str(EXAMPLES / "good"), "--talk-lib", str(empty))
    assert done.returncode == 2
    assert "build failed" in done.stderr and "talk.h" in done.stderr


TYPO = ["students/mytalk_typo.c"]
TYPO_CHECKS = {"client_waiting_message", "client_peer_closes", "server_peer_closes"}


@pytest.mark.slow
def test_wording_deviation_fails_only_under_strict(grade, build_c):
    """Issue 17.4: a typo or an added word in a fixed message is a warning that shows the
    difference; under --strict it fails those checks, and only those."""
    program = str(build_c(TYPO, talk=True))
    strict = grade("asgn5", program, "--strict")
    assert strict.code == 1, strict.stdout[-3000:]
    assert strict.failed == TYPO_CHECKS
    messages = {c["id"]: c["message"] for c in strict.result["checks"]}
    assert "--strict" in messages["client_waiting_message"]
    assert "Conection" in messages["client_peer_closes"]
    assert not any("run windowed" in m for m in messages.values())   # the same words windowed
    tolerant = grade("asgn5", program, "-k", " or ".join(sorted(TYPO_CHECKS)))
    assert tolerant.code == 0, tolerant.stdout[-3000:]
    assert all(c["warnings"] for c in tolerant.result["checks"])


def test_a_server_accepting_yup_is_told_what_it_sent(grade, build_c):
    """Issue 17.14: say what happened, not only "expected the connection to close"."""
    program = str(build_c(["students/mytalk_yup.c"], talk=True))
    g = grade("asgn5", program, "-k", "server_declines_other")
    assert g.failed == {"server_declines_other"}
    (check,) = g.result["checks"]
    assert check["message"].startswith('the server sent "ok" after the answer "yup" and kept '
                                       "the connection open for the chat"), check["message"]
    assert "compare the whole answer" in check["hint"]
