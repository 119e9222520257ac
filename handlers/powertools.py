"""The parts of Powertools the handlers use, loaded without the package ``__init__`` files that import the rest.

``aws_lambda_powertools/event_handler/__init__.py`` imports every resolver (AppSync, Bedrock, VPC Lattice, HTTP,
...) plus asyncio to re-export them, and ``aws_lambda_powertools/__init__.py`` imports the Tracer and botocore
(to tag SDK calls with a user agent). Python executes a package's ``__init__`` before any of its submodules, so
``from aws_lambda_powertools.event_handler.api_gateway import ...`` alone does not avoid that work: about 60 ms
of CPU on a Lambda cold start for code this API never runs (figures in bench/results.md).

``defer_package_init`` registers such a package the way the import system itself starts to: a module object
made from the package's spec (``importlib.util.module_from_spec``), with its ``__path__``, so submodules import
as usual -- but without executing the ``__init__``. The package stays complete for any other caller: a PEP 562
module ``__getattr__`` runs the real ``__init__`` the first time a name is asked for that only the ``__init__``
defines (``from aws_lambda_powertools import Tracer`` still works). The one side effect of the top-level
``__init__`` that matters at run time, the package logger's handler, is applied here.

Import this module before anything else imports Powertools; when Powertools is already imported it changes
nothing.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any


def defer_package_init(name: str) -> None:
    """Make ``name`` importable as a package whose ``__init__`` only runs when one of its own names is used."""
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        raise ImportError(f"{name} is not an importable package")
    package = importlib.util.module_from_spec(spec)
    loader = spec.loader

    def __getattr__(attribute: str) -> Any:
        # A submodule (`from package import submodule`) is imported, not taken from the package's __init__.
        if not attribute.startswith("__") and importlib.util.find_spec(f"{name}.{attribute}") is not None:
            return importlib.import_module(f"{name}.{attribute}")
        del package.__dict__["__getattr__"]  # from now on the package is an ordinary, fully initialised one
        loader.exec_module(package)
        return getattr(package, attribute)

    package.__dict__["__getattr__"] = __getattr__
    sys.modules[name] = package
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, package)


def _load_lean() -> None:
    if "aws_lambda_powertools" in sys.modules:
        return  # already imported the ordinary way: nothing to save, nothing to change
    defer_package_init("aws_lambda_powertools")
    defer_package_init("aws_lambda_powertools.event_handler")
    from aws_lambda_powertools.package_logger import set_package_logger_handler

    set_package_logger_handler()  # what the skipped top-level __init__ does: Powertools' own logs stay quiet


_load_lean()

from aws_lambda_powertools.event_handler import content_types  # noqa: E402
from aws_lambda_powertools.event_handler.api_gateway import APIGatewayRestResolver, Response, Router  # noqa: E402
from aws_lambda_powertools.event_handler.exceptions import NotFoundError  # noqa: E402
from aws_lambda_powertools.logging import correlation_paths  # noqa: E402
from aws_lambda_powertools.logging.logger import Logger  # noqa: E402
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit  # noqa: E402
from aws_lambda_powertools.utilities.typing import LambdaContext  # noqa: E402

# What every route and error handler returns: a JSON object body (the resolver serializes it).
JsonResponse = Response[dict[str, Any]]

__all__ = [
    "APIGatewayRestResolver",
    "EphemeralMetrics",
    "JsonResponse",
    "LambdaContext",
    "Logger",
    "MetricUnit",
    "NotFoundError",
    "Response",
    "Router",
    "content_types",
    "correlation_paths",
    "defer_package_init",
]
