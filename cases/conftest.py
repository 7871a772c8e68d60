"""Every case may ask for the grader's fixtures (student, connect, listen, udp, case, ...)."""
from grader.vocabulary.fixtures import *  # noqa: F401,F403
