"""The CDKTF stacks of the trading platform: workspace and target -> stacks -> one module per AWS concern.

This package's root holds what every entry point shares: errors a user causes and can fix (the environment, a
missing build step, a missing tool), and how they are reported: one line on stderr, exit status 2, no traceback.
Every such error derives from ``UserError``; an entry point (``app.py``, ``tools/synth.py``, ``tools/deploy.py``,
the ``tools/cdktf-cli/cdktf`` wrapper) wraps its work in ``exit_on_user_error``. Anything else is a bug or a failure
of a tool we call (Terraform, npm) and keeps its traceback or tool output. Imports nothing of the project, so every
module can derive its errors from it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

# What make, `python app.py` and the wrappers exit with on a user error (argparse uses 2 for bad usage too).
EXIT_USER_ERROR = 2


class UserError(Exception):
    """A mistake the user can fix; the message says what is wrong and what to do, in one line."""


def one_line(error: BaseException) -> str:
    """``error: <message>`` on one line, whatever whitespace the message carries."""
    return "error: " + " ".join(str(error).split())


def exit_on_user_error(main: Callable[[], int], stream: TextIO | None = None) -> int:
    """Run ``main``; a ``UserError`` becomes one line on ``stream`` (stderr) and exit status 2."""
    try:
        return main()
    except UserError as exc:
        print(one_line(exc), file=stream or sys.stderr, flush=True)
        return EXIT_USER_ERROR
