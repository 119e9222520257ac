"""Contract tests between the stack and the handlers, which never import each other (docs/design: they meet in the
shared ZIP, in environment variables and here).

- Routes: every method of the api module (tf_modules/api: its ``aws_api_gateway_resource`` tree and
  ``aws_api_gateway_method`` blocks) has a handler route, and every handler route (the resolver's decorators) is a
  method of the API. The one allowed difference: the handlers also answer HEAD wherever they answer GET.
- Environment: what the synthesized stack sets on each function (``environment.variables`` of every
  ``aws_lambda_function``) against the handler side of contract 1 (``handlers.config.API_ENVIRONMENT`` /
  ``MIGRATION_ENVIRONMENT``): every required variable is set, nothing is set that no one reads, and every
  deployed ``handler`` is a declared entry point. A third test keeps that declaration honest: it names exactly the
  variables ``handlers.config`` reads, and exactly the required ones are refused when missing.
- Trade metrics: the dashboard graphs exactly the metrics the handler's EMF lines name (namespace from the variable
  the stack sets, metric names, the ``service`` dimension), read from a line the handler really prints.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import hcl2
import pytest

from handlers.config import (
    API_ENVIRONMENT,
    MIGRATION_ENVIRONMENT,
    READ_BY_EXTENSION,
    READ_BY_POWERTOOLS,
    ConfigError,
    Environment,
    Settings,
)
from tests.support.stacks import Synthesized

ROOT = Path(__file__).resolve().parents[2]
API_MODULE = ROOT / "tf_modules" / "api"
HANDLER_ENVIRONMENTS = {
    environment.entry_point: environment for environment in (API_ENVIRONMENT, MIGRATION_ENVIRONMENT)
}
_HCL = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)
_REFERENCE = re.compile(r"\$\{([^}]*)\}")
_PLACEHOLDER = re.compile(r"\{[^}/]+\}|<[^>/]+>")  # API Gateway's {name}, Powertools' <name>

Route = tuple[str, str]  # (method, path with placeholders written as {})


# --- routes ------------------------------------------------------------------------------------------------------


def _reference(expression: object) -> str:
    """``aws_api_gateway_resource.trades.id`` from ``${aws_api_gateway_resource.trades.id}``."""
    match = _REFERENCE.fullmatch(str(expression))
    assert match, f"tf_modules/api: expected a reference, found {expression!r}"
    return match.group(1)


def _blocks(parsed: Mapping[str, Any], resource_type: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for block in parsed.get("resource", []):
        yield from block.get(resource_type, {}).items()


def api_routes(module: Path = API_MODULE) -> set[Route]:
    """The (method, path) pairs the api module declares, read from its Terraform files."""
    parsed: dict[str, Any] = {"resource": [], "locals": []}
    for path in sorted(module.glob("*.tf")):
        with path.open() as handle:
            document = hcl2.load(handle, serialization_options=_HCL)
        for key in parsed:
            parsed[key] += document.get(key, [])
    locals_ = {name: value for block in parsed["locals"] for name, value in block.items()}

    parents = {
        f"aws_api_gateway_resource.{name}.id": (_reference(body["parent_id"]), str(body["path_part"]))
        for name, body in _blocks(parsed, "aws_api_gateway_resource")
    }

    def path_of(resource: str) -> str:
        if resource.startswith("aws_api_gateway_rest_api.") and resource.endswith(".root_resource_id"):
            return ""
        assert resource in parents, f"tf_modules/api: {resource} is not a resource of the API"
        parent, part = parents[resource]
        return f"{path_of(parent)}/{part}"

    routes: set[Route] = set()
    for name, body in _blocks(parsed, "aws_api_gateway_method"):
        if "for_each" in body:  # for_each = local.<map>: each.value.<attribute> is that map's entry
            source = _reference(body["for_each"])
            assert source.startswith("local."), f"aws_api_gateway_method.{name}: for_each over {source}"
            entries = list(locals_[source.removeprefix("local.")].values())
        else:
            entries = [body]
        for entry in entries:
            method = str(_attribute(body, entry, "http_method"))
            routes.add((method, _shape(path_of(_reference(_attribute(body, entry, "resource_id"))) or "/")))
    return routes


def _attribute(body: Mapping[str, Any], entry: Mapping[str, Any], attribute: str) -> Any:
    """A method's argument, with ``each.value.<attribute>`` taken from its ``for_each`` entry."""
    raw = body[attribute]
    match = _REFERENCE.fullmatch(str(raw))
    if match and match.group(1) == f"each.value.{attribute}":
        return entry[attribute]
    return raw


def handler_routes() -> set[Route]:
    """The (method, path) pairs the handlers' resolver has routes for (its decorators), built without a database."""
    from handlers.app import create_app
    from handlers.credentials import Credentials
    from handlers.db import Database
    from handlers.observability import trade_metrics
    from handlers.store import TradeStore

    settings = Settings.for_api(
        {
            "DB_SECRET_ARN": "arn:aws:secretsmanager:eu-central-1:123456789012:secret:contract",
            "DB_WRITER_HOST": "writer.invalid",
            "POWERTOOLS_METRICS_NAMESPACE": "contract",
        }
    )

    class NoCredentials:
        def get(self, deadline: object = None) -> Credentials:
            raise AssertionError("building the resolver must not connect")

    database = Database(settings, NoCredentials())
    app = create_app(TradeStore(database), database, trade_metrics("contract"))
    return {(route.method, _shape(route.path)) for route in app._static_routes + app._dynamic_routes}


def _shape(path: str) -> str:
    return _PLACEHOLDER.sub("{}", path)


def route_problems(api: set[Route], handlers: set[Route]) -> list[str]:
    """Routes on one side only; HEAD is the handlers' extra wherever they answer GET (RFC 9110 section 9.3.2)."""
    problems = [f"{method} {path}: in the api module, no handler route" for method, path in sorted(api - handlers)]
    for method, path in sorted(handlers - api):
        if not (method == "HEAD" and ("GET", path) in api):
            problems.append(f"{method} {path}: a handler route the api module does not have")
    return problems


def test_every_api_route_has_a_handler_route_and_vice_versa() -> None:
    api, handlers = api_routes(), handler_routes()
    assert api, "no routes found in tf_modules/api: the parser no longer understands the module"
    assert route_problems(api, handlers) == []


def test_the_resolver_routes_are_the_route_table() -> None:
    # handlers.routes.ROUTES answers 404/405 and the decorators route: they must name the same routes.
    from handlers.routes import ROUTES

    table = {(method, _shape(path)) for path, methods in ROUTES.items() for method in methods}
    assert handler_routes() == table


def test_a_route_on_one_side_only_is_reported(tmp_path: Path) -> None:
    # The comparison can fail: a module with one more method, and a handler route the module lacks.
    for source in API_MODULE.glob("*.tf"):
        (tmp_path / source.name).write_text(source.read_text())
    main = tmp_path / "main.tf"
    main.write_text(main.read_text().replace('http_method        = "GET"', 'http_method        = "DELETE"', 1))
    problems = route_problems(api_routes(tmp_path), handler_routes())
    assert "DELETE /trades/{}: in the api module, no handler route" in problems
    assert "GET /trades/{}: a handler route the api module does not have" in problems
    assert "HEAD /trades/{}: a handler route the api module does not have" in problems


# --- environment variables ---------------------------------------------------------------------------------------


def function_environments(synth: Synthesized) -> dict[str, tuple[str, set[str]]]:
    """Every Lambda function of every synthesized stack: its ``handler`` and the names of its variables."""
    found = {}
    for stack_name in synth.stack_names:
        for name, function in synth.stack(stack_name).resources("aws_lambda_function").items():
            environment = function.get("environment") or {}
            if isinstance(environment, list):  # cdktf renders a single block as an object; accept the list form too
                environment = environment[0] if environment else {}
            found[f"{stack_name} {name}"] = (function["handler"], set(environment.get("variables") or {}))
    assert found, "no aws_lambda_function in any synthesized stack"
    return found


def environment_problems(label: str, handler: str, names: set[str]) -> list[str]:
    declared = HANDLER_ENVIRONMENTS.get(handler)
    if declared is None:
        return [f"{label}: handler {handler!r} is not a declared entry point ({sorted(HANDLER_ENVIRONMENTS)})"]
    problems = [f"{label}: {name} is required by {handler} but not set" for name in sorted(declared.required - names)]
    problems += [f"{label}: {name} is set but {handler} does not read it" for name in sorted(names - declared.names)]
    return problems


@pytest.mark.parametrize("target", ["local", "aws"])
def test_each_function_gets_the_variables_its_handler_reads(
    target: str, synth: Synthesized, synth_aws: Synthesized
) -> None:
    # Every workspace of both targets (the TLS variables differ between them).
    functions = function_environments(synth if target == "local" else synth_aws)
    problems = [
        problem
        for label, (handler, names) in sorted(functions.items())
        for problem in environment_problems(label, handler, names)
    ]
    assert problems == []
    deployed = {handler for handler, _ in functions.values()}
    assert deployed == set(HANDLER_ENVIRONMENTS), "every declared entry point is deployed, and only those"


def test_a_variable_on_one_side_only_is_reported() -> None:
    api = API_ENVIRONMENT
    assert environment_problems("f", api.entry_point, set(api.names)) == []
    assert environment_problems("f", api.entry_point, set(api.names) - {"DB_WRITER_HOST"}) == [
        f"f: DB_WRITER_HOST is required by {api.entry_point} but not set"
    ]
    assert environment_problems("f", api.entry_point, set(api.required) | {"DB_HOST"}) == [
        f"f: DB_HOST is set but {api.entry_point} does not read it"
    ]
    assert environment_problems("f", "handlers.gone.handler", set())[0].startswith("f: handler 'handlers.gone.handler'")


class _Recording(dict[str, str]):
    """An environment that remembers every name looked up in it."""

    def __init__(self) -> None:
        super().__init__()
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.read.add(str(key))
        return super().__contains__(key)


@pytest.mark.parametrize("declared", [API_ENVIRONMENT, MIGRATION_ENVIRONMENT], ids=lambda e: e.entry_point)
def test_the_declared_environment_is_what_the_configuration_reads(declared: Environment) -> None:
    parse = Settings.for_api if declared is API_ENVIRONMENT else Settings.for_migration
    env = _Recording()
    with pytest.raises(ConfigError) as refused:
        parse(env)
    assert env.read == declared.names - READ_BY_POWERTOOLS - READ_BY_EXTENSION
    missing = set(re.findall(r"([A-Z][A-Z0-9_]+) is required", str(refused.value)))
    assert missing == declared.required - READ_BY_POWERTOOLS - READ_BY_EXTENSION


@pytest.mark.parametrize("declared", [API_ENVIRONMENT, MIGRATION_ENVIRONMENT], ids=lambda e: e.entry_point)
def test_each_entry_point_exists(declared: Environment) -> None:
    # Checked on the source: importing an entry point reads its configuration from the environment.
    module, _, function = declared.entry_point.rpartition(".")
    source = ROOT / Path(*module.split(".")).with_suffix(".py")
    assert source.is_file(), f"{declared.entry_point}: no {source.relative_to(ROOT)}"
    tree = ast.parse(source.read_text())
    names = {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    names |= {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert function in names, f"{declared.entry_point}: {source.relative_to(ROOT)} defines no {function}"


# --- trade metrics -------------------------------------------------------------------------------------------------


def emitted_metric(name: str, environment: Mapping[str, str], capsys: pytest.CaptureFixture[str]) -> list[Any]:
    """The metric as the handler's EMF line names it, in the dashboard's line form: namespace, name, dimensions."""
    from handlers.observability import count, trade_metrics

    with pytest.MonkeyPatch.context() as patch:
        for key, value in environment.items():
            patch.setenv(key, value)
        capsys.readouterr()
        count(trade_metrics(environment["POWERTOOLS_METRICS_NAMESPACE"]), name)
        (line,) = [line for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    document = json.loads(line)
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    (dimensions,) = directive["Dimensions"]
    assert [m["Name"] for m in directive["Metrics"]] == [name]
    return [directive["Namespace"], name, *(part for key in dimensions for part in (key, document[key]))]


@pytest.mark.parametrize("workspace", ["dev", "prod"])
def test_the_dashboard_graphs_the_trade_metrics_the_handler_emits(
    workspace: str, synth: Synthesized, capsys: pytest.CaptureFixture[str]
) -> None:
    from handlers.observability import TRADE_CONFLICTS, TRADES_CREATED, TRADES_REPLAYED

    trading = synth.trading(workspace)
    (api_function,) = [
        f for f in trading.resources("aws_lambda_function").values() if f["handler"] == API_ENVIRONMENT.entry_point
    ]
    environment = api_function["environment"]["variables"]
    (dashboard,) = trading.resources("aws_cloudwatch_dashboard").values()
    graphed = [
        line[:-1]  # the last item is the line's display options
        for widget in json.loads(dashboard["dashboard_body"])["widgets"]
        for line in widget.get("properties", {}).get("metrics", [])
        if line[0] == environment["POWERTOOLS_METRICS_NAMESPACE"]
    ]
    emitted = [emitted_metric(name, environment, capsys) for name in (TRADES_CREATED, TRADES_REPLAYED, TRADE_CONFLICTS)]
    assert graphed, "the dashboard graphs the trade metrics of its own namespace"
    assert {tuple(line) for line in graphed} == {tuple(line) for line in emitted}
