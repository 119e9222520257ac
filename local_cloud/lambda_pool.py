"""Lambda's execution model on the emulator: warm workers per function version and configuration, the reserved
concurrency cap, provisioned concurrency, and one invocation from event to AWS-shaped result.

- A pool holds the workers of one configuration of one version (code, handler, environment, memory, timeout, …).
  When ``$LATEST`` changes, its old pool is retired: idle workers stop, busy ones stop when they finish, and the
  next invocation gets a fresh worker, as Lambda gives a fresh execution environment after an update.
- Concurrency is counted per function (every version together), as Lambda's reserved concurrency is: beyond it a
  synchronous invocation gets ``TooManyRequestsException`` (429); an asynchronous one waits for a slot (Lambda
  queues those events).
- A worker that times out, crashes, or reports ``MemoryError`` (its RLIMIT_DATA cap, the emulator's stand-in for
  Lambda's memory limit) is discarded; the next invocation starts a fresh one.
- Provisioned concurrency keeps that many initialized workers (``AWS_LAMBDA_INITIALIZATION_TYPE=
  provisioned-concurrency``) of the version it names; invocations of that version use them first.
- On-demand workers idle for ``IDLE_TIMEOUT_S`` are stopped (Lambda, too, reclaims idle environments).

What a worker is configured from (code, environment) is lambda_config.py's.
"""

from __future__ import annotations

import json
import secrets
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.awslambda.utils import get_backend

from local_cloud import lambda_config, lambda_logs
from local_cloud.lambda_config import (
    FunctionConfig,
    RuntimeSettings,
    ServiceException,
    TooManyRequestsException,
    error_payload,
)
from local_cloud.lambda_env import RuntimeEnv, RuntimeEnvError
from local_cloud.lambda_logs import LogStream
from local_cloud.lambda_runtime_api import Invocation
from local_cloud.lambda_worker import Line, Outcome, Worker, WorkerSpec, now_ms
from local_cloud.processes import Supervisor

INIT_TIMEOUT_S = 10.0  # Lambda's limit for an on-demand INIT phase
IDLE_TIMEOUT_S = 600.0
REAP_INTERVAL_S = 30.0
ASYNC_THREADS = 8
LOG_TAIL_BYTES = 4096  # Invoke's LogType=Tail returns the last 4 KB of the invocation's log


@dataclass(frozen=True)
class InvokeResult:
    payload: bytes
    function_error: str | None  # "Unhandled" when the function failed, as X-Amz-Function-Error says
    log: str  # the invocation's log lines (LogType=Tail returns the end of it)
    executed_version: str


@dataclass(eq=False)
class Environment:
    """A worker with its log stream: one of Lambda's execution environments."""

    worker: Worker
    log: LogStream
    provisioned: bool
    init_reported: bool = False


class Pool:
    """The environments of one FunctionConfig."""

    def __init__(self, config: FunctionConfig, code: bytes) -> None:
        self.config = config
        self.code = code  # the ZIP's bytes (moto's fn.code_bytes, from S3 or inline)
        self.idle: list[Environment] = []
        self.members: set[Environment] = set()
        self.retired = False
        self.provisioned_target = 0
        self.filling = False

    def provisioned(self) -> list[Environment]:
        return [env for env in list(self.members) if env.provisioned]  # list(): a snapshot, atomic under the GIL

    def take_idle(self) -> Environment | None:
        # Provisioned environments first; among equals the most recently used (Lambda keeps those warm).
        for want_provisioned in (True, False):
            for index in range(len(self.idle) - 1, -1, -1):
                if self.idle[index].provisioned == want_provisioned:
                    return self.idle.pop(index)
        return None


@dataclass
class ProvisionedConfig:
    """PutProvisionedConcurrencyConfig's state for one qualifier."""

    requested: int
    version: str
    pool: Pool
    status: str = "IN_PROGRESS"
    reason: str | None = None
    last_modified: str = field(default_factory=lambda: f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%S.%f}"[:-3] + "+0000")

    def allocated(self) -> int:
        return min(self.requested, sum(1 for env in self.pool.provisioned() if env.worker.alive))


@dataclass
class _FunctionState:
    active: int = 0
    pools: dict[str, Pool] = field(default_factory=dict)


def _trace_id() -> str:
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};Parent={secrets.token_hex(8)};Sampled=0"


def _error_type(outcome: Outcome) -> str:
    try:
        document = json.loads(outcome.body)
    except ValueError:
        return outcome.error_type
    return str(document.get("errorType") or outcome.error_type) if isinstance(document, dict) else outcome.error_type


class Runtime:
    """Every pool and worker of one emulator."""

    def __init__(
        self,
        settings: RuntimeSettings,
        supervisor: Supervisor,
        runtime_env: Future[RuntimeEnv],
        companions: Callable[[FunctionConfig], tuple[dict[str, str], Callable[[], None] | None]],
    ) -> None:
        self.settings = settings
        self._supervisor = supervisor
        self._runtime_env = runtime_env
        self._companions = companions  # e.g. the secrets extension of a function with its layer
        self._cond = threading.Condition()
        self._functions: dict[tuple[str, str, str], _FunctionState] = {}
        self._provisioned: dict[tuple[str, str, str, str], ProvisionedConfig] = {}
        self._async = ThreadPoolExecutor(max_workers=ASYNC_THREADS, thread_name_prefix="lambda-async")
        self._stopping = threading.Event()
        self._reaper = threading.Thread(target=self._reap_idle, name="lambda-idle-reaper", daemon=True)
        self._reaper.start()

    # --- invocations ----------------------------------------------------------------------------------------------

    def invoke(self, fn: Any, payload: bytes, invoked_arn: str, *, wait_for_slot: bool = False) -> InvokeResult:
        """Run one event through the function version ``fn`` (moto's LambdaFunction); raises on a throttle."""
        config = FunctionConfig.of(fn)
        unsupported = lambda_config.unsupported(config)
        if unsupported is not None:
            return InvokeResult(unsupported, "Unhandled", "", config.version)
        with self._cond:
            state = self._functions.setdefault(config.function_key, _FunctionState())
            while (limit := self._reserved_concurrency(config)) is not None and state.active >= limit:
                if not wait_for_slot or self._stopping.is_set():
                    lambda_logs.lambda_metrics(config.account_id, config.region, config.name, throttled=True)
                    raise TooManyRequestsException()
                self._cond.wait(1.0)
            state.active += 1
            concurrent = state.active
            pool = self._current_pool(state, config, fn.code_bytes)
            env = pool.take_idle()
        try:
            return self._invoke(pool, env, config, payload, invoked_arn, concurrent)
        finally:
            with self._cond:
                state.active -= 1
                self._cond.notify_all()

    def invoke_async(self, fn: Any, payload: bytes, invoked_arn: str) -> None:
        """Lambda's Event invocation: accepted at once, run in the background (errors only reach the log)."""

        def run() -> None:
            try:
                self.invoke(fn, payload, invoked_arn, wait_for_slot=True)
            except Exception as exc:  # nobody waits for an async result
                print(f"local_cloud lambda: async invocation of {fn.function_name} failed: {exc!r}", flush=True)

        self._async.submit(run)

    def _invoke(
        self,
        pool: Pool,
        env: Environment | None,
        config: FunctionConfig,
        payload: bytes,
        invoked_arn: str,
        concurrent: int,
    ) -> InvokeResult:
        request_id = str(uuid.uuid4())
        lines: list[Line] = []
        init_ms: float | None = None
        if env is None:
            env = self._start_environment(pool, provisioned=False)
            failure = env.worker.wait_init(INIT_TIMEOUT_S)
            lines += self._init_lines(env)
            init_ms = env.worker.init_ms
            if failure is not None:
                return self._init_failed(pool, env, config, request_id, failure, lines)
        elif not env.init_reported:
            lines += self._init_lines(env)  # a provisioned environment's INIT output, not yet logged
        lines.append((now_ms(), lambda_logs.start_line(request_id, config.version)))
        invocation = Invocation(
            request_id=request_id,
            payload=payload,
            deadline_ms=now_ms() + int(config.timeout_s * 1000),
            function_arn=invoked_arn,
            trace_id=_trace_id(),
        )
        started = time.perf_counter()
        outcome = env.worker.run(invocation, config.timeout_s)
        duration_ms = (time.perf_counter() - started) * 1000
        worker = env.worker
        status = error_type = None
        keep = outcome.kind in ("ok", "error")
        if outcome.kind == "error" and _error_type(outcome) == "MemoryError":
            keep = False  # the cap was hit: on Lambda the environment is killed
        if not keep:
            max_memory = worker.max_memory_mb()
            worker.stop(kill=True)
        else:
            worker.output.sync()  # type: ignore[union-attr]
            max_memory = worker.max_memory_mb()
        lines += worker.output.take()  # type: ignore[union-attr]
        if outcome.kind == "ok":
            result = InvokeResult(outcome.body, None, "", config.version)
        elif outcome.kind == "error" and keep:
            result = InvokeResult(outcome.body, "Unhandled", "", config.version)
        elif outcome.kind == "timeout":
            status = "timeout"
            lines.append((now_ms(), lambda_logs.timeout_line(request_id, config.timeout_s)))
            message = f"RequestId: {request_id} Error: Task timed out after {config.timeout_s:.2f} seconds"
            result = InvokeResult(error_payload("Sandbox.Timedout", message), "Unhandled", "", config.version)
        else:
            status = "error"
            exit_status = outcome.exit_status if outcome.kind == "exited" else "signal: killed"
            error_type = "Runtime.OutOfMemory" if outcome.kind == "error" else "Runtime.ExitError"
            message = f"RequestId: {request_id} Error: Runtime exited with error: {exit_status}"
            lines.append((now_ms(), f"{message}\n{error_type}"))
            result = InvokeResult(error_payload(error_type, message), "Unhandled", "", config.version)
        lines.append((now_ms(), lambda_logs.end_line(request_id)))
        lines.append(
            (
                now_ms(),
                lambda_logs.report_line(
                    request_id,
                    duration_ms=duration_ms,
                    memory_mb=config.memory_mb,
                    max_memory_mb=max_memory,
                    init_ms=init_ms,
                    status=status,
                    error_type=error_type,
                ),
            )
        )
        env.log.write(lines)
        lambda_logs.lambda_metrics(
            config.account_id,
            config.region,
            config.name,
            duration_ms=duration_ms,
            error=result.function_error is not None,
            concurrent=concurrent,
        )
        self._release(pool, env, keep)
        return InvokeResult(result.payload, result.function_error, "\n".join(m for _, m in lines), config.version)

    def _init_lines(self, env: Environment) -> list[Line]:
        env.init_reported = True
        env.worker.output.sync()  # type: ignore[union-attr]
        started = now_ms() - int(env.worker.init_ms or 0)
        return [(started, lambda_logs.init_start_line()), *env.worker.output.take()]  # type: ignore[union-attr]

    def _init_failed(
        self, pool: Pool, env: Environment, config: FunctionConfig, request_id: str, failure: Outcome, lines: list[Line]
    ) -> InvokeResult:
        worker = env.worker
        init_ms = worker.init_ms or (time.perf_counter_ns() - worker.started_ns) / 1e6
        max_memory = worker.max_memory_mb()
        worker.stop(kill=True)
        lines += worker.output.take()  # type: ignore[union-attr]
        if failure.kind == "init_error":
            payload, error_type = failure.body, _error_type(failure)
        elif failure.kind == "timeout":
            error_type = "Sandbox.Timedout"
            message = f"RequestId: {request_id} Error: Task timed out after {INIT_TIMEOUT_S:.2f} seconds"
            payload = error_payload(error_type, message)
        else:
            error_type = "Runtime.ExitError"
            message = f"RequestId: {request_id} Error: Runtime exited with error: {failure.exit_status}"
            payload = error_payload(error_type, message)
        lines += [
            (now_ms(), lambda_logs.init_report_line(init_ms, error_type)),
            (now_ms(), lambda_logs.start_line(request_id, config.version)),
            (now_ms(), lambda_logs.end_line(request_id)),
            (
                now_ms(),
                lambda_logs.report_line(
                    request_id,
                    duration_ms=init_ms,
                    memory_mb=config.memory_mb,
                    max_memory_mb=max_memory,
                    status="error",
                    error_type=error_type,
                ),
            ),
        ]
        env.log.write(lines)
        lambda_logs.lambda_metrics(config.account_id, config.region, config.name, error=True)
        self._release(pool, env, keep=False)
        return InvokeResult(payload, "Unhandled", "\n".join(m for _, m in lines), config.version)

    def _reserved_concurrency(self, config: FunctionConfig) -> int | None:
        # Reserved concurrency belongs to the function (moto keeps it on $LATEST), whatever version is invoked.
        try:
            value = get_backend(config.account_id, config.region).get_function(config.name).reserved_concurrency
        except Exception:  # deleted meanwhile: no cap
            return None
        return None if value is None else int(value)

    # --- pools and environments -----------------------------------------------------------------------------------

    def _current_pool(self, state: _FunctionState, config: FunctionConfig, code: bytes) -> Pool:
        """The pool for ``config`` (caller holds the lock); a changed configuration retires the old pool."""
        pool = state.pools.get(config.version)
        if pool is not None and pool.config == config:
            return pool
        if pool is not None:
            self._retire(pool)
        pool = state.pools[config.version] = Pool(config, code)
        return pool

    def _retire(self, pool: Pool) -> None:
        pool.retired = True
        idle, pool.idle = pool.idle, []
        for env in idle:
            pool.members.discard(env)
            threading.Thread(target=env.worker.stop, name="lambda-retire", daemon=True).start()

    def _release(self, pool: Pool, env: Environment, keep: bool) -> None:
        refill = False
        with self._cond:
            if keep and not pool.retired and env.worker.alive:
                pool.idle.append(env)
                return
            pool.members.discard(env)
            refill = env.provisioned and not pool.retired
        env.worker.stop(kill=not keep)
        if refill:
            self._fill_provisioned(pool)

    def _start_environment(self, pool: Pool, provisioned: bool) -> Environment:
        config = pool.config
        try:
            runtime_env = self._runtime_env.result()  # built in the background when the emulator started
        except RuntimeEnvError as exc:
            raise ServiceException(f"the emulator's Lambda runtime is unavailable: {exc}") from exc
        code_dir = lambda_config.extract_code(self.settings.work_dir, config, pool.code)
        log = LogStream(config.account_id, config.region, config.log_group, lambda_logs.stream_name(config.version))
        extra_env, stop_companion = self._companions(config)
        spec = WorkerSpec(
            name=f"lambda:{config.name}:{config.version}",
            mounts={
                "task": str(code_dir),
                "runtime": str(runtime_env.packages),
                "lang": str(runtime_env.prefix),
                "rapid": str(self.settings.support_dir),
            },
            interpreter=f"/var/lang/{runtime_env.executable}",
            env={
                **lambda_config.worker_environment(
                    config,
                    self.settings.endpoint,
                    log.group,
                    log.name,
                    "provisioned-concurrency" if provisioned else "on-demand",
                ),
                **extra_env,
            },
            memory_mb=config.memory_mb,
            tmp_mb=config.tmp_mb,
            hide=self.settings.hide,
            uid=self.settings.uid,
            gid=self.settings.gid,
        )
        env = Environment(Worker(spec, self._supervisor, on_stop=stop_companion), log, provisioned)
        with self._cond:
            pool.members.add(env)
        try:
            env.worker.start()
        except BaseException:
            with self._cond:
                pool.members.discard(env)
            env.worker.stop(kill=True)
            raise
        return env

    # --- provisioned concurrency ----------------------------------------------------------------------------------

    def provision(self, fn: Any, qualifier: str, requested: int) -> ProvisionedConfig:
        """Put a provisioned-concurrency config on ``qualifier`` (a version or alias resolved to ``fn``)."""
        config = FunctionConfig.of(fn)
        key = (*config.function_key, qualifier)
        with self._cond:
            state = self._functions.setdefault(config.function_key, _FunctionState())
            pool = self._current_pool(state, config, fn.code_bytes)
            previous = self._provisioned.get(key)
            provisioned = ProvisionedConfig(requested=requested, version=config.version, pool=pool)
            self._provisioned[key] = provisioned
            pool.provisioned_target = requested
            if previous is not None and previous.pool is not pool:
                previous.pool.provisioned_target = 0
        self._trim_provisioned(pool)
        self._fill_provisioned(pool)
        return provisioned

    def provisioned_config(self, account_id: str, region: str, name: str, qualifier: str) -> ProvisionedConfig | None:
        with self._cond:
            return self._provisioned.get((account_id, region, name, qualifier))

    def provisioned_configs(self, account_id: str, region: str, name: str) -> dict[str, ProvisionedConfig]:
        with self._cond:
            return {key[3]: value for key, value in self._provisioned.items() if key[:3] == (account_id, region, name)}

    def deprovision(self, account_id: str, region: str, name: str, qualifier: str) -> bool:
        with self._cond:
            provisioned = self._provisioned.pop((account_id, region, name, qualifier), None)
            if provisioned is None:
                return False
            provisioned.pool.provisioned_target = 0
        self._trim_provisioned(provisioned.pool)
        return True

    def _trim_provisioned(self, pool: Pool) -> None:
        """Stop idle provisioned environments beyond the target; busy ones become on-demand environments."""
        with self._cond:
            surplus = len(pool.provisioned()) - pool.provisioned_target
            stopping = []
            for env in list(pool.idle):
                if surplus <= 0:
                    break
                if env.provisioned:
                    pool.idle.remove(env)
                    pool.members.discard(env)
                    stopping.append(env)
                    surplus -= 1
            for env in pool.provisioned():
                if surplus <= 0:
                    break
                env.provisioned = False
                surplus -= 1
        for env in stopping:
            env.worker.stop()

    def _fill_provisioned(self, pool: Pool) -> None:
        with self._cond:
            if pool.filling:
                return
            pool.filling = True
        threading.Thread(target=self._fill, args=(pool,), name="lambda-provision", daemon=True).start()

    def _fill(self, pool: Pool) -> None:
        try:
            while not self._stopping.is_set():
                with self._cond:
                    missing = pool.provisioned_target - len(pool.provisioned())
                    configs = [c for c in self._provisioned.values() if c.pool is pool]
                    if pool.retired or missing <= 0:
                        for provisioned in configs:
                            provisioned.status, provisioned.reason = "READY", None
                        return
                env = self._start_environment(pool, provisioned=True)
                failure = env.worker.wait_init(INIT_TIMEOUT_S)
                lines = self._init_lines(env)
                if failure is not None:
                    env.log.write([*lines, (now_ms(), f"provisioned concurrency: INIT failed ({failure.kind})")])
                    with self._cond:
                        pool.members.discard(env)
                        for provisioned in configs:
                            provisioned.status = "FAILED"
                            provisioned.reason = "FUNCTION_ERROR_INIT_FAILURE"
                    env.worker.stop(kill=True)
                    return
                env.log.write(lines)
                with self._cond:
                    pool.idle.append(env)
        finally:
            with self._cond:
                pool.filling = False

    # --- cleanup --------------------------------------------------------------------------------------------------

    def forget(self, account_id: str, region: str, name: str) -> None:
        """The function was deleted: its environments go, and so do its provisioned-concurrency configs."""
        with self._cond:
            state = self._functions.pop((account_id, region, name), None)
            for key in [k for k in self._provisioned if k[:3] == (account_id, region, name)]:
                del self._provisioned[key]
            for pool in state.pools.values() if state else ():
                self._retire(pool)

    def _reap_idle(self) -> None:
        while not self._stopping.wait(REAP_INTERVAL_S):
            now = time.monotonic()
            with self._cond:
                pools = [pool for state in self._functions.values() for pool in state.pools.values()]
                stale = []
                for pool in pools:
                    for env in list(pool.idle):
                        if not env.provisioned and now - env.worker.last_used > IDLE_TIMEOUT_S:
                            pool.idle.remove(env)
                            pool.members.discard(env)
                            stale.append(env)
            for env in stale:
                env.worker.stop()

    def stop_all(self) -> None:
        """Stop every environment (moto reset, emulator stop); extracted code goes too."""
        with self._cond:
            states, self._functions = list(self._functions.values()), {}
            self._provisioned.clear()
            members = [env for state in states for pool in state.pools.values() for env in pool.members]
            for state in states:
                for pool in state.pools.values():
                    pool.retired = True
                    pool.idle = []
        for env in members:
            env.worker.stop(kill=True)
        shutil.rmtree(self.settings.work_dir / "code", ignore_errors=True)

    def close(self) -> None:
        self._stopping.set()
        self._async.shutdown(wait=False, cancel_futures=True)
        self.stop_all()

    def workers(self) -> list[dict[str, Any]]:
        """For the status endpoint and tests: every running worker."""
        with self._cond:
            return [
                {
                    "function": pool.config.name,
                    "version": pool.config.version,
                    "pid": env.worker.pid,
                    "provisioned": env.provisioned,
                    "idle": env in pool.idle,
                    "invocations": env.worker.invocations,
                    "log_stream": env.log.name,
                }
                for state in self._functions.values()
                for pool in state.pools.values()
                for env in pool.members
            ]
