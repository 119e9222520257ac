"""What a worker runs: one function version's configuration, and Lambda's execution environment for it.

``FunctionConfig`` is read from moto's LambdaFunction; two invocations share warm workers only when their configs
are equal. ``worker_environment`` is the worker's complete environment (nothing of the emulator's or the host's
leaks in), ``extract_code`` the function's ZIP on disk (mounted read-only at ``/var/task`` by the sandbox).
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import shutil
import stat
import threading
import zipfile
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

from moto.awslambda.utils import make_function_arn
from moto.core.exceptions import JsonRESTError

from python_stacks.target import TEST_ACCESS_KEY, TEST_SECRET_KEY

SUPPORTED_RUNTIME = "python3.12"
# The session token every worker gets with the emulator's test credentials (the secrets extension checks it).
SESSION_TOKEN = "local-cloud-session-token"
SANDBOX_USER = "nobody"

_code_lock = threading.Lock()


class TooManyRequestsException(JsonRESTError):
    """Lambda's throttle: the function's reserved concurrency is in use."""

    code = 429

    def __init__(self) -> None:
        super().__init__("TooManyRequestsException", "Rate Exceeded.")
        self.description = json.dumps(
            {
                "__type": "TooManyRequestsException",
                "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
                "Type": "User",
                "message": "Rate Exceeded.",
            }
        )


class ServiceException(JsonRESTError):
    """Lambda's own failure (500): here, the emulator cannot start workers at all."""

    code = 500

    def __init__(self, message: str) -> None:
        super().__init__("ServiceException", message)


@dataclass(frozen=True)
class FunctionConfig:
    """What one worker runs; two invocations share workers only when their configs are equal."""

    account_id: str
    region: str
    name: str
    version: str
    runtime: str
    package_type: str
    handler: str
    memory_mb: int
    timeout_s: float
    tmp_mb: int
    env: tuple[tuple[str, str], ...]
    code_sha: str
    layers: tuple[str, ...]
    log_group: str

    @classmethod
    def of(cls, fn: Any) -> FunctionConfig:
        """From moto's LambdaFunction (any version)."""
        return cls(
            account_id=fn.account_id,
            region=fn.region,
            name=fn.function_name,
            version=str(fn.version),
            runtime=str(fn.run_time),
            package_type=str(fn.package_type),
            handler=str(fn.handler),
            memory_mb=int(fn.memory_size),
            timeout_s=float(fn.timeout),
            tmp_mb=int(fn.ephemeral_storage),
            env=tuple(sorted((str(k), str(v)) for k, v in (fn.environment_vars or {}).items())),
            code_sha=str(fn.code_sha_256),
            layers=tuple(layer["Arn"] for layer in fn.layers),
            log_group=str(fn.logs_group_name),
        )

    @property
    def function_key(self) -> tuple[str, str, str]:
        return (self.account_id, self.region, self.name)

    @property
    def arn(self) -> str:
        return make_function_arn(self.region, self.account_id, self.name)


@dataclass(frozen=True)
class RuntimeSettings:
    endpoint: str  # the emulator, as workers reach it (AWS_ENDPOINT_URL)
    work_dir: Path  # extracted code, the bootstrap: inside the emulator's run directory
    support_dir: Path  # lambda_bootstrap.py (+ worker_network.py): /var/rapid in the sandbox
    hide: tuple[str, ...]  # host directories the functions must not see
    uid: int
    gid: int

    @staticmethod
    def sandbox_user() -> tuple[int, int]:
        try:
            entry = pwd.getpwnam(SANDBOX_USER)
        except KeyError:
            return (65534, 65534)
        return (entry.pw_uid, entry.pw_gid)


def error_payload(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


def unsupported(config: FunctionConfig) -> bytes | None:
    """Lambda's answer for what the emulator cannot run, or None."""
    if config.package_type != "Zip":
        return error_payload(
            "Runtime.InvalidEntrypoint", "the local emulator runs ZIP functions only, not container images"
        )
    if config.runtime != SUPPORTED_RUNTIME:
        return error_payload(
            "Runtime.InvalidRuntime",
            f"the local emulator runs {SUPPORTED_RUNTIME} functions only, not {config.runtime}",
        )
    return None


def worker_environment(
    config: FunctionConfig, endpoint: str, log_group: str, log_stream: str, init_type: str
) -> dict[str, str]:
    """The function's variables, then Lambda's own (which a function cannot set), then the emulator's (the
    companions' variables, e.g. the extension's port, are added on top)."""
    env = dict(config.env)
    env.update(
        {
            "_HANDLER": config.handler,
            "AWS_REGION": config.region,
            "AWS_DEFAULT_REGION": config.region,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{config.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": config.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": config.version,
            "AWS_LAMBDA_INITIALIZATION_TYPE": init_type,
            "AWS_LAMBDA_LOG_GROUP_NAME": log_group,
            "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
            "AWS_ACCESS_KEY_ID": TEST_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": TEST_SECRET_KEY,
            "AWS_SESSION_TOKEN": SESSION_TOKEN,
            "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
            "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000",
            "LAMBDA_TASK_ROOT": "/var/task",
            "LAMBDA_RUNTIME_DIR": "/var/runtime",
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "PATH": "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin",
            "LD_LIBRARY_PATH": (
                "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib"
            ),
            "PYTHONPATH": "/var/runtime",
            # Every AWS SDK call of the function goes to the emulator.
            "AWS_ENDPOINT_URL": endpoint,
        }
    )
    return env


def extract_code(work_dir: Path, config: FunctionConfig, code: bytes) -> Path:
    """The function's ZIP, extracted once per content (read-only for the workers by their mount)."""
    key = hashlib.sha256(config.code_sha.encode()).hexdigest()[:24]
    target = work_dir / "code" / key
    with _code_lock:
        if target.is_dir():
            return target
        staging = target.with_name(f".{key}-{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        if code:
            with zipfile.ZipFile(BytesIO(code)) as archive:
                archive.extractall(staging)
        _make_world_readable(staging)
        staging.rename(target)
    return target


def _make_world_readable(root: Path) -> None:
    """The workers run as an unprivileged user: every directory traversable, every file readable."""
    for path in [root, *root.rglob("*")]:
        mode = path.lstat().st_mode
        if stat.S_ISDIR(mode):
            path.chmod(0o755)
        elif stat.S_ISREG(mode):
            path.chmod(0o755 if mode & 0o111 else 0o644)
