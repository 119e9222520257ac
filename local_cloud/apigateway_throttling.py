"""Throttling as API Gateway applies it: token buckets for the account (per region) and for each deployed method.

A bucket holds ``burst`` tokens and refills at ``rate`` tokens per second; a request takes one, and without one it
gets 429 ``Too Many Requests``. Method buckets use the stage's method settings: the method's own entry
(``~1trades~1{id}/GET``, the resource path with ``/`` written ``~1``) if there is one, else the stage default
``*/*``, which API Gateway applies to *each* method separately. The account bucket uses the account's limits
(moto: 10,000 requests/s, burst 5,000, as a new AWS account). Settings are read on every request, so a changed stage
applies at once, as on AWS. Usage plans (per API key quotas) are not emulated.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

STAGE_DEFAULT_KEY = "*/*"


@dataclass(frozen=True)
class Limits:
    rate: float  # tokens per second
    burst: int  # bucket size


class TokenBucket:
    def __init__(self, limits: Limits, now: float) -> None:
        self.limits = limits
        self.tokens = float(limits.burst)
        self.updated = now

    def take(self, limits: Limits, now: float) -> bool:
        if limits != self.limits:  # the stage was changed: keep what is left, within the new size
            self.limits = limits
            self.tokens = min(self.tokens, float(limits.burst))
        self.tokens = min(float(limits.burst), self.tokens + (now - self.updated) * limits.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


def method_settings_key(resource_path: str, http_method: str) -> str:
    """API Gateway's method path of a stage's method settings, e.g. ``~1trades~1{id}/GET``."""
    return f"{resource_path.replace('/', '~1')}/{http_method}"


def method_limits(method_settings: dict[str, Any], resource_path: str, http_method: str) -> Limits | None:
    settings = method_settings.get(method_settings_key(resource_path, http_method)) or method_settings.get(
        STAGE_DEFAULT_KEY
    )
    if not settings:
        return None
    rate, burst = settings.get("throttlingRateLimit"), settings.get("throttlingBurstLimit")
    if rate is None or burst is None:
        return None
    return Limits(rate=float(rate), burst=int(burst))


def account_limits(account: Any) -> Limits:
    settings = account.throttle_settings
    return Limits(rate=float(settings["rateLimit"]), burst=int(settings["burstLimit"]))


class Throttles:
    """Every bucket of the emulator, created on first use."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[tuple[str, ...], TokenBucket] = {}
        self._lock = threading.Lock()

    def admit(self, checks: list[tuple[tuple[str, ...], Limits]]) -> bool:
        """Take a token from each (key, limits) bucket; all or nothing."""
        with self._lock:
            now = self._clock()
            buckets = []
            for key, limits in checks:
                bucket = self._buckets.get(key)
                if bucket is None:
                    bucket = self._buckets[key] = TokenBucket(limits, now)
                buckets.append((bucket, limits))
            taken: list[TokenBucket] = []
            for bucket, limits in buckets:
                if not bucket.take(limits, now):
                    for earlier in taken:  # a refused request costs no token elsewhere
                        earlier.tokens += 1.0
                    return False
                taken.append(bucket)
            return True

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()
