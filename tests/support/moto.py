"""moto's in-process AWS for tests that need an empty account, whatever ran before them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from moto import mock_aws
from moto.moto_api._internal.models import moto_api_backend


@contextmanager
def fresh_aws() -> Iterator[None]:
    """``mock_aws()`` with empty backends.

    ``mock_aws()`` resets moto's state only when no other mock is active, and the handler tests keep theirs active
    for their package scope, which pytest stretches to the whole session for a folder without ``__init__.py`` (and
    ``tests/handlers`` cannot have one: it would shadow the ``handlers`` package). pytest runs a folder's tests
    together, so resetting here never pulls state from under a handler test.
    """
    with mock_aws():
        moto_api_backend.reset()
        yield
