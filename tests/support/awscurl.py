"""awscurl (PyPI, the signing client the README shows) as a test client: status, headers and body of one call."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from python_stacks.target import TEST_ACCESS_KEY, TEST_SECRET_KEY

AWSCURL = Path(sys.executable).parent / "awscurl"


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def awscurl(
    url: str,
    *,
    method: str = "GET",
    data: str | None = None,
    headers: dict[str, str] | None = None,
    access_key: str = TEST_ACCESS_KEY,
    secret_key: str = TEST_SECRET_KEY,
    region: str = "us-east-1",
) -> Answer:
    command = [
        str(AWSCURL),
        "--service",
        "execute-api",
        "--region",
        region,
        "--access_key",
        access_key,
        "--secret_key",
        secret_key,
        "-X",
        method,
        "-i",
        "-v",
    ]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    if data is not None:
        command += ["-d", data]
    done = subprocess.run([*command, url], capture_output=True, timeout=120, check=False)
    stderr = done.stderr.decode("utf-8", "replace")
    # -v logs "Response code: N" on stderr; -i prints the response headers (a dict's repr) before the body.
    status = re.search(r"Response code: (\d+)", stderr)
    if status is None:
        raise AssertionError(f"awscurl failed (exit {done.returncode}): {stderr[-2000:]}")
    head, _, body = done.stdout.partition(b"\n\n")
    text = head.decode().strip()
    # requests' CaseInsensitiveDict repr holds a plain dict's.
    parsed = ast.literal_eval(text if text.startswith("{'") else text[text.index("{") :])
    return Answer(int(status.group(1)), {str(k): str(v) for k, v in parsed.items()}, body)
