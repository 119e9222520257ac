"""Errors a user can cause through the environment; entry points print them as one line, without a traceback."""

from __future__ import annotations

from python_stacks.config import ConfigError
from python_stacks.naming import InvalidSuffixError
from python_stacks.settings import UnknownWorkspaceError
from python_stacks.target import InvalidTargetError

USER_ERRORS: tuple[type[Exception], ...] = (
    ConfigError,
    InvalidSuffixError,
    UnknownWorkspaceError,
    InvalidTargetError,
)
