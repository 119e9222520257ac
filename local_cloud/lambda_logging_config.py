"""A function's logging configuration, which moto 5.2.5 drops.

moto ignores ``LoggingConfig`` on CreateFunction and UpdateFunctionConfiguration and never returns it, so every plan
after an apply wants to set it again; for a function with ``publish = true`` that update publishes a new version and
moves its alias on every deploy. This stores the configuration (``LogFormat`` ``Text`` and ``LogGroup``
``/aws/lambda/<name>`` by default, as Lambda reports them; log levels as given, none for the ``Text`` format),
returns it, and points the function's log group at it, so the emulator's runtime writes where the function asks.
tests/unit/test_moto_fixes.py proves the gap and the fix; drop this when moto stores the configuration.
"""

from __future__ import annotations

from typing import Any

from moto.awslambda.models import LambdaFunction

_init = LambdaFunction.__init__
_update_configuration = LambdaFunction.update_configuration
_get_configuration = LambdaFunction.get_configuration


def _normalized(function_name: str, requested: dict[str, Any] | None, current: dict[str, Any] | None) -> dict[str, Any]:
    config = {**(current or {}), **(requested or {})}
    config.setdefault("LogFormat", "Text")
    config.setdefault("LogGroup", f"/aws/lambda/{function_name}")
    if config["LogFormat"] != "JSON":  # Lambda keeps log levels only for the JSON format
        config.pop("ApplicationLogLevel", None)
        config.pop("SystemLogLevel", None)
    return config


def _set(fn: Any, requested: dict[str, Any] | None) -> None:
    fn.logging_config = _normalized(fn.function_name, requested, getattr(fn, "logging_config", None))
    fn.logs_group_name = fn.logging_config["LogGroup"]


def init(self: Any, account_id: str, spec: dict[str, Any], *args: Any, **kwargs: Any) -> None:
    _init(self, account_id, spec, *args, **kwargs)
    _set(self, spec.get("LoggingConfig"))


def update_configuration(self: Any, config_updates: dict[str, Any]) -> dict[str, Any]:
    if "LoggingConfig" in config_updates:
        _set(self, config_updates["LoggingConfig"])
    return _update_configuration(self, config_updates)


def get_configuration(self: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    configuration = _get_configuration(self, *args, **kwargs)
    if hasattr(self, "logging_config"):
        configuration["LoggingConfig"] = dict(self.logging_config)
    return configuration


def apply() -> None:
    LambdaFunction.__init__ = init  # type: ignore[method-assign]
    LambdaFunction.update_configuration = update_configuration  # type: ignore[method-assign]
    LambdaFunction.get_configuration = get_configuration  # type: ignore[method-assign]
