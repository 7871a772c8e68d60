"""mytalk [ -v ] [ -a ] [ -N ] [ hostname ] port — and nothing else."""
from grader import CheckFailure, check


def expect_usage_error(result, what, case):
    """Refused: exited by itself, not 0, with a message. Which stream the message goes to is
    not in the handout: stderr is usual, stdout is a warning (never a failure)."""
    if result.timed_out:
        waits = f": it waits in {result.stalled}" if result.stalled else ""
        raise CheckFailure(f"with {what} it did not exit{waits} (it should refuse and exit)",
                           "check the arguments before connecting or listening, and exit "
                           "when they are wrong")
    if result.status.signal is not None:
        raise CheckFailure(f"with {what} it was {result.status}",
                           "check argc and each argument before using it")
    if result.status.code == 0:
        raise CheckFailure(f"with {what} it exited with status 0",
                           "exit with a non-zero status (exit(1)) after the usage message")
    if not result.stderr.strip():
        if not result.stdout.strip():
            raise CheckFailure(f"with {what} it printed no message",
                               "print a usage message saying how to run mytalk")
        case.warn(f"with {what} the usage message went to stdout; stderr is usual "
                       "(fprintf(stderr, ...))")


@check(hint="check argc before using argv: print a usage message (to stderr) and exit(1)")
def test_usage_no_args(student, case):
    """No arguments: a usage message and a non-zero exit."""
    expect_usage_error(student.run(), "no arguments", case)


@check(hint="let getopt() report unknown options: print usage (to stderr) and exit(1)")
def test_usage_bad_option(student, case):
    """An unknown option: a usage message and a non-zero exit."""
    expect_usage_error(student.run("-x", str(student.port)), "the unknown option -x", case)


@check(hint="convert the port with strtol() and check that all of it is a number in 1..65535")
def test_usage_bad_port(student, case):
    """A port that is not a number, or not in 1..65535, is refused."""
    for args in (("-N", "notaport"), ("-N", "0"), ("-N", "70000"), ("-N", "localhost", "12ab")):
        expect_usage_error(student.run(*args), "the port in `" + " ".join(args) + "`", case)
