"""How long a request may still work: API Gateway stops waiting after 29 s, whatever the function does.

The function may run 30 s, so without a bound a slow request (a lock wait, a failing-over writer) could commit
after the client already received a 504 — and the client would retry an order it cannot know was stored. Every
database call of a request gets at most the time left before the gateway gives up, minus a margin to send the
answer; a statement that runs out of time loses its socket, so an uncommitted transaction is rolled back by the
server, and COMMIT is only sent while enough time is left for it.

The gateway's clock starts when it received the request (``requestContext.requestTimeEpoch``), which on a cold
start is well before the handler runs; the Lambda context's remaining time bounds it from the other side.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

GATEWAY_TIMEOUT_SECONDS = 29.0  # API Gateway's integration timeout for REST APIs (default and maximum)
RESPONSE_MARGIN_SECONDS = 0.5  # left for building and returning the response after the last statement
MIN_CALL_SECONDS = 0.05  # below this a network call cannot succeed: do not start it


class DeadlineExceeded(RuntimeError):
    """Not enough time left to start (or finish) the next step of this request."""


class LambdaContextLike(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


@dataclass(frozen=True)
class Deadline:
    """A point on the ``time.monotonic()`` clock by which the request's work must be done."""

    at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)

    @classmethod
    def for_request(cls, event: Mapping[str, Any], context: LambdaContextLike | None) -> Deadline:
        """The earlier of "the gateway gives up" and "the function times out", minus the response margin."""
        now_wall, now = time.time(), time.monotonic()
        gateway_left = GATEWAY_TIMEOUT_SECONDS
        request_context = event.get("requestContext")
        received_ms = request_context.get("requestTimeEpoch") if isinstance(request_context, Mapping) else None
        if isinstance(received_ms, int) and not isinstance(received_ms, bool):
            waited = now_wall - received_ms / 1000
            # Clocks of two AWS hosts agree to milliseconds; a value outside the window is not a usable timestamp.
            if 0 <= waited <= GATEWAY_TIMEOUT_SECONDS:
                gateway_left -= waited
        left = gateway_left
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        if callable(remaining):
            millis = remaining()
            if isinstance(millis, (int, float)):
                left = min(left, millis / 1000)
        return cls(now + left - RESPONSE_MARGIN_SECONDS)

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def timeout(self, cap: float) -> float:
        """Seconds a network call may take: ``cap``, or less when the deadline is nearer; raises when none left."""
        left = self.remaining()
        if left < MIN_CALL_SECONDS:
            raise DeadlineExceeded(f"the request ran out of time ({left:.3f} s left)")
        return min(cap, left)


def call_timeout(deadline: Deadline | None, cap: float) -> float:
    """``cap`` bounded by ``deadline`` (no deadline: the migration, which has its own function timeout)."""
    return cap if deadline is None else deadline.timeout(cap)
