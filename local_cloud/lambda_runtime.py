"""The emulator's Lambda runtime: deployed functions run, without Docker (docs/decisions/0015-lambda-runtime.md).

Every way moto invokes a function ends in ``LambdaFunction.invoke`` → ``LambdaFunction._invoke_lambda``: the Invoke
API (synchronous, ``Event``, ``DryRun``), Terraform's ``aws_lambda_invocation``, event sources, and the execute-api
front (through ``LambdaBackend.invoke`` with the integration's qualifier). This module replaces both with calls
into lambda_pool.Runtime, which runs the function's ZIP in a sandboxed CPython 3.12 worker under AWS's Runtime
Interface Client, and answers in Lambda's shape:

- a function error: ``X-Amz-Function-Error: Unhandled`` and ``{"errorMessage", "errorType", "stackTrace"}``;
- a timeout: ``Sandbox.Timedout`` with "Task timed out after N.00 seconds"; the worker is killed;
- beyond reserved concurrency: ``TooManyRequestsException`` (429);
- ``Event``: 202 at once, the function runs in the background;
- ``LogType: Tail``: the end of the invocation's log in ``X-Amz-Log-Result``; ``X-Amz-Executed-Version``.

``LambdaBackend.invoke`` is wrapped to remember the ARN the caller invoked (alias or version), which the function
sees as ``context.invoked_function_arn``; ``LambdaBackend.delete_function`` to stop a deleted function's workers.
``LambdaResponse.invoke`` is wrapped because moto 5.2.5 reads the Invoke API's qualifier as ``qualifier`` (the
query string says ``Qualifier``; moto finds the lower-case key only in the event, when the event has one): without
the fix every ``Qualifier=`` invocation runs ``$LATEST``.
``GET /_local_cloud/lambda/workers`` lists the running workers (tests, debugging).
"""

from __future__ import annotations

import base64
import json
import shutil
import threading
from collections.abc import Iterable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, cast

from moto.awslambda.models import LambdaBackend, LambdaFunction
from moto.awslambda.responses import LambdaResponse
from moto.core.exceptions import JsonRESTError

from local_cloud import lambda_api, lambda_bootstrap, lambda_env
from local_cloud.front import Environ, StartResponse
from local_cloud.lambda_config import SESSION_TOKEN, FunctionConfig, RuntimeSettings
from local_cloud.lambda_env import RuntimeEnv
from local_cloud.lambda_pool import LOG_TAIL_BYTES, Runtime
from python_stacks.project import CACHE_DIR, ROOT

WORKER_NETWORK = Path(__file__).with_name("worker_network.py")  # the rds-network helper's module, when present

_runtime: Runtime | None = None
_call = threading.local()  # the ARN the caller invoked, set by the LambdaBackend.invoke wrapper


class InvalidRequestContentException(JsonRESTError):
    code = 400

    def __init__(self, detail: str) -> None:
        super().__init__("InvalidRequestContentException", f"Could not parse request body into json: {detail}")


def _header(headers: Any, name: str) -> str | None:
    if not headers:
        return None
    value = headers.get(name)
    return cast("str | None", value if value is not None else headers.get(name.lower()))


def _payload(body: Any) -> bytes:
    """The event as the runtime gets it: the caller's JSON bytes, ``{}`` when empty; Lambda rejects non-JSON."""
    if body is None or body == "" or body == b"":
        return b"{}"
    raw = body if isinstance(body, bytes) else str(body).encode()
    try:
        json.loads(raw)
    except ValueError as exc:
        raise InvalidRequestContentException(str(exc)) from exc
    return raw


def _invoked_arn(fn: LambdaFunction) -> str:
    return getattr(_call, "invoked_arn", None) or fn.function_arn


def _current() -> Runtime:
    assert _runtime is not None, "local_cloud.lambda_runtime is not installed"
    return _runtime


def invoke(self: LambdaFunction, body: Any, request_headers: Any, response_headers: Any) -> bytes:
    """Replaces ``LambdaFunction.invoke`` (same signature; moto's response code does the rest)."""
    invocation_type = _header(request_headers, "X-Amz-Invocation-Type") or "RequestResponse"
    payload = _payload(body)
    if invocation_type == "DryRun":
        return b""
    if invocation_type == "Event":
        _current().invoke_async(self, payload, _invoked_arn(self))
        return b""
    result = _current().invoke(self, payload, _invoked_arn(self))
    if result.function_error:
        response_headers["x-amz-function-error"] = result.function_error
    tail = result.log.encode()[-LOG_TAIL_BYTES:]
    response_headers["x-amz-log-result"] = base64.b64encode(tail).decode()
    response_headers["x-amz-executed-version"] = result.executed_version
    return result.payload


def _invoke_lambda(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
    """Replaces ``LambdaFunction._invoke_lambda``: (payload, errored, logs), as moto's Docker version returns."""
    result = _current().invoke(self, json.dumps({} if event is None else event).encode(), _invoked_arn(self))
    return result.payload.decode("utf-8", "replace"), result.function_error is not None, result.log


def _arn_as_invoked(backend: LambdaBackend, function_name: str, qualifier: str | None) -> str | None:
    if function_name.startswith("arn:"):
        # arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]
        return function_name if function_name.count(":") >= 7 or not qualifier else f"{function_name}:{qualifier}"
    name, _, embedded = function_name.partition(":")
    qualifier = embedded or qualifier
    try:
        base = FunctionConfig.of(backend.get_function(name)).arn
    except Exception:  # unknown function: moto's own invoke raises the proper error
        return None
    return f"{base}:{qualifier}" if qualifier else base


def install(ctx: Any) -> None:
    """Apply the Lambda runtime to this emulator (local_cloud.server's extension interface)."""
    global _runtime
    work_dir = ctx.run_dir / "lambda"
    support_dir = work_dir / "rapid"
    support_dir.mkdir(parents=True)
    shutil.copy2(lambda_bootstrap.__file__, support_dir / "lambda_bootstrap.py")
    if WORKER_NETWORK.is_file():
        shutil.copy2(WORKER_NETWORK, support_dir / "worker_network.py")
    for path in (work_dir, support_dir, *support_dir.iterdir()):
        path.chmod(0o755 if path.is_dir() else 0o644)

    runtime_env: Future[RuntimeEnv] = Future()

    def build() -> None:
        try:
            runtime_env.set_result(lambda_env.ensure(progress=lambda line: print(line, flush=True)))
        except Exception as exc:  # each invocation reports it
            print(f"local_cloud lambda: {exc}", flush=True)
            runtime_env.set_exception(exc)

    threading.Thread(target=build, name="lambda-runtime-env", daemon=True).start()
    hide = tuple(dict.fromkeys(str(path) for path in (ROOT, CACHE_DIR, ctx.run_dir.parent)))
    uid, gid = RuntimeSettings.sandbox_user()
    settings = RuntimeSettings(
        endpoint=ctx.endpoint, work_dir=work_dir, support_dir=support_dir, hide=hide, uid=uid, gid=gid
    )
    extensions = lambda_api.SecretsExtensions(ctx.endpoint, SESSION_TOKEN)
    _runtime = Runtime(settings, ctx.processes, runtime_env, extensions.start_for)
    _apply_hooks()
    lambda_api.install(_runtime)
    ctx.on_reset(_runtime.stop_all)
    ctx.on_shutdown(_runtime.close)
    ctx.front.add_internal("lambda", _workers_app)


def _apply_hooks() -> None:
    if getattr(LambdaFunction.invoke, "_local_cloud", False):
        return
    original_backend_invoke = LambdaBackend.invoke
    original_delete = LambdaBackend.delete_function
    original_response_invoke = LambdaResponse.invoke

    def response_invoke(self: LambdaResponse) -> Any:
        _call.api_qualifier = (self.querystring.get("Qualifier") or [None])[0]
        _call.from_api = True
        try:
            return original_response_invoke(self)
        finally:
            _call.from_api = False

    def backend_invoke(
        self: LambdaBackend, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
    ) -> Any:
        if getattr(_call, "from_api", False):
            qualifier, _call.from_api = _call.api_qualifier, False
        _call.invoked_arn = _arn_as_invoked(self, function_name, qualifier)
        try:
            return original_backend_invoke(self, function_name, qualifier, body, headers, response_headers)
        finally:
            _call.invoked_arn = None

    def delete_function(self: LambdaBackend, function_name: str, qualifier: str | None = None) -> None:
        fn = self.get_function(function_name, qualifier)
        original_delete(self, function_name, qualifier)
        if not qualifier and ":" not in function_name.split(":function:")[-1]:
            _current().forget(fn.account_id, fn.region, fn.function_name)

    invoke._local_cloud = True  # type: ignore[attr-defined]
    LambdaFunction.invoke = invoke  # type: ignore[method-assign]
    LambdaFunction._invoke_lambda = _invoke_lambda  # type: ignore[method-assign]
    LambdaBackend.invoke = backend_invoke  # type: ignore[method-assign]
    LambdaResponse.invoke = response_invoke  # type: ignore[method-assign]
    LambdaBackend.delete_function = delete_function  # type: ignore[method-assign]


def _workers_app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    body = json.dumps({"workers": _current().workers()}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
