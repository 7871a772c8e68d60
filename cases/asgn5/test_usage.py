"""mytalk [ -v ] [ -a ] [ -N ] [ hostname ] port — and nothing else."""
from grader import CheckFailure, check


def expect_usage_error(result, what):
    if result.timed_out:
        raise CheckFailure(f"with {what} it did not exit (it should refuse and exit)")
    if result.status.signal is not None:
        raise CheckFailure(f"with {what} it was {result.status}")
    if result.status.code == 0:
        raise CheckFailure(f"with {what} it exited with status 0")
    if not result.stderr.strip():
        raise CheckFailure(f"with {what} it printed no message on stderr"
                           + (" (it printed one on stdout)" if result.stdout.strip() else ""))


@check(hint="check argc before using argv: print a usage message to stderr and exit(1)")
def test_usage_no_args(student):
    """No arguments: a usage message on stderr and a non-zero exit."""
    expect_usage_error(student.run(), "no arguments")


@check(hint="let getopt() report unknown options: print usage to stderr and exit(1)")
def test_usage_bad_option(student):
    """An unknown option: a usage message on stderr and a non-zero exit."""
    expect_usage_error(student.run("-x", str(student.port)), "the unknown option -x")


@check(hint="convert the port with strtol() and check that all of it is a number in 1..65535")
def test_usage_bad_port(student):
    """A port that is not a number, or not in 1..65535, is refused."""
    for args in (("-N", "notaport"), ("-N", "0"), ("-N", "70000"), ("-N", "localhost", "12ab")):
        expect_usage_error(student.run(*args), "the port in `" + " ".join(args) + "`")
