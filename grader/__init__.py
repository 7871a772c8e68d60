"""A grader for socket-programming assignments: UDP, TCP, minichat and mytalk.

Cases import their vocabulary from here: `from grader import check, CheckFailure`.
"""
from .case import CheckFailure
from .checks import check

__all__ = ["check", "CheckFailure"]
