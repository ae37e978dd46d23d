"""One way for every command to turn an exception into one error line and an exit status.

Commands declare which errors mean what (``failing_with``) instead of repeating
try/except blocks that print and return a code; the ``command`` decorator prints the one
line (``newsarchive: error: ...``) and returns the status.  Errors a command did not
declare are real bugs and still raise.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import sys
from collections.abc import Callable, Iterator

ErrorTypes = type[BaseException] | tuple[type[BaseException], ...]


class CommandFailed(Exception):
    """A command stops with ``message`` on stderr and exit status ``code``."""

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.message, self.code = message, code


def error(message: object) -> None:
    print(f"newsarchive: error: {message}", file=sys.stderr)


@contextlib.contextmanager
def failing_with(*rules: tuple[ErrorTypes, int], hint: str = "") -> Iterator[None]:
    """Inside the block, an error matching a rule's types ends the command with its code
    (the first matching rule wins; ``hint`` is appended to the message)."""
    try:
        yield
    except CommandFailed:
        raise
    except Exception as exc:
        for types, code in rules:
            if isinstance(exc, types):
                raise CommandFailed(f"{exc}{hint}", code) from None
        raise


def command(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Run ``handler``; a ``CommandFailed`` becomes its message on stderr and its code."""

    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except CommandFailed as exc:
            error(exc.message)
            return exc.code

    return run
