"""Build the shared Lambda ZIP: every handler entry point, PyMySQL and Powertools, byte-for-byte reproducible.

Usage: ``python -m tools.package [--output dist/lambda.zip] [--no-bytecode] [--python PY312] [--ca-bundle PEM]``
Without ``--ca-bundle`` the ZIP ships the CA bundle of its target (``target_ca_bundle``): ``RDS_CA_BUNDLE``, or the
local emulator's own CA for ``TARGET=local`` (the default).
Prints the path, the size and the SHA-256 (hex, and base64 as Lambda's ``CodeSha256`` shows it).

- Dependencies come from ``handlers/requirements.lock`` (all pinned), installed with pip for the Lambda
  platform (manylinux2014_x86_64, CPython 3.12, wheels only) into ``.cache/lambda-deps/<key>``, where the key
  hashes the lock file and the pip target options: a rebuild with unchanged pins does not run pip.
- Left out: Powertools' Swagger UI bundle (static JS/CSS served only by ``enable_swagger()``, unused here).
- Reproducible: entries sorted, timestamps 1980-01-01, modes 0644, no installer metadata (RECORD, INSTALLER,
  console scripts with the build machine's shebang), no stray ``__pycache__``.
- Bytecode: Lambda's /var/task is read-only, so without .pyc files every cold start compiles the imported
  modules again (about 100 ms here). The modules the handlers import at cold start are compiled by a CPython
  3.12 (the runtime's version) as unchecked-hash .pyc files with relative source paths, which depend only on
  the source bytes. The rest of Powertools stays source-only to keep the ZIP small.
- The ZIP is written to a temporary file next to the output and renamed over it.
"""

from __future__ import annotations

import argparse
import base64
import fnmatch
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from python_stacks.aws.lambda_package import CA_BUNDLE_PATH
from python_stacks.project import CACHE_DIR, ROOT

HANDLERS = ROOT / "handlers"
REQUIREMENTS = HANDLERS / "requirements.txt"
LOCK = HANDLERS / "requirements.lock"
DEFAULT_OUTPUT = ROOT / "dist" / "lambda.zip"
RUNTIME_VERSION = "3.12"
PIP_TARGET_OPTIONS = (
    "--platform",
    "manylinux2014_x86_64",
    "--python-version",
    RUNTIME_VERSION,
    "--implementation",
    "cp",
    "--only-binary=:all:",
)
ENTRY_MODULES = ("handlers.api", "handlers.migrate")
# What the entry modules need to import at all (they validate their environment at import time).
PLACEHOLDER_ENV = {
    "DB_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:placeholder-AbCdEf",
    "DB_APP_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:placeholder-app-AbCdEf",
    "DB_WRITER_HOST": "placeholder.invalid",
    "POWERTOOLS_METRICS_NAMESPACE": "placeholder",
}
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
MAX_SIZE_BYTES = 1_572_864  # 1.5 MiB: the size budget of the artifact

# Installer byproducts that differ between machines or runs and are useless at run time.
_SKIP_NAMES = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}
# Static assets no handler can reach: Powertools serves its Swagger UI bundle (~440 KB compressed, a third of
# the ZIP) only after ``app.enable_swagger()``, which this API never calls. Python modules are never pruned.
_EXCLUDED_ASSETS = (
    "aws_lambda_powertools/event_handler/openapi/swagger_ui/*.min.js",
    "aws_lambda_powertools/event_handler/openapi/swagger_ui/*.min.css",
)
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)")


class PackageError(RuntimeError):
    """The artifact cannot be built as asked; the message says what to do."""


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(path: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = _PIN.match(line)
        if not match:
            raise PackageError(f"{path.relative_to(ROOT)}: not an exact pin: {line!r}")
        pins[normalize(match.group(1))] = match.group(2)
    return pins


def check_lock() -> dict[str, str]:
    """The lock's pins, after checking that it agrees with handlers/requirements.txt."""
    direct, locked = read_pins(REQUIREMENTS), read_pins(LOCK)
    drift = {name: (version, locked.get(name)) for name, version in direct.items() if locked.get(name) != version}
    if drift:
        raise PackageError(f"handlers/requirements.lock disagrees with requirements.txt: {drift}")
    return locked


def dependencies(locked: dict[str, str]) -> Path:
    """The installed dependency tree for the Lambda platform, from the cache or freshly installed."""
    key_source = json.dumps({"lock": LOCK.read_text(), "options": PIP_TARGET_OPTIONS}, sort_keys=True)
    key = hashlib.sha256(key_source.encode()).hexdigest()[:16]
    target = CACHE_DIR / "lambda-deps" / key
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=target.parent))
    try:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-compile",
                "--target",
                str(staging),
                *PIP_TARGET_OPTIONS,
                "-r",
                str(LOCK),
            ],
            check=True,
        )
        installed = dict(path.name.removesuffix(".dist-info").rsplit("-", 1) for path in staging.glob("*.dist-info"))
        installed = {normalize(name): version for name, version in installed.items()}
        if installed != locked:
            raise PackageError(
                f"pip installed {installed}, the lock pins {locked}: add the missing pins to handlers/requirements.lock"
            )
        try:
            staging.rename(target)  # atomic publish; a concurrent build may have won the race
        except OSError:
            if not target.is_dir():
                raise
    except subprocess.CalledProcessError as exc:
        raise PackageError(f"pip install for the Lambda platform failed ({exc.returncode})") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def collect(deps: Path, ca_bundle: Path | None) -> dict[str, Path]:
    """Archive name -> source file, for the handlers package and the dependency tree."""
    files: dict[str, Path] = {}
    for path in sorted(HANDLERS.rglob("*.py")):
        if "__pycache__" not in path.parts:
            files[f"handlers/{path.relative_to(HANDLERS).as_posix()}"] = path
    for path in sorted(deps.rglob("*")):
        relative = path.relative_to(deps)
        parts = relative.parts
        if not path.is_file() or parts[0] == "bin" or "__pycache__" in parts or path.suffix == ".pyc":
            continue
        if parts[0].endswith(".dist-info") and path.name in _SKIP_NAMES:
            continue
        if any(fnmatch.fnmatchcase(relative.as_posix(), pattern) for pattern in _EXCLUDED_ASSETS):
            continue
        files[relative.as_posix()] = path
    if ca_bundle is not None:
        files[CA_BUNDLE_PATH] = ca_bundle
    return files


def find_runtime_python(explicit: str | None) -> str:
    """A CPython 3.12 to compile bytecode with: --python, $LAMBDA_PYTHON, python3.12 on PATH, or pyenv's."""
    pyenv_root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates = [explicit, os.environ.get("LAMBDA_PYTHON"), shutil.which(f"python{RUNTIME_VERSION}")]
    candidates += sorted(glob.glob(f"{pyenv_root}/versions/{RUNTIME_VERSION}.*/bin/python"), reverse=True)
    for candidate in candidates:
        if not candidate:
            continue
        probe = subprocess.run(
            [candidate, "-c", "import sys; print(sys.implementation.name, '%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0 and probe.stdout.split() == ["cpython", RUNTIME_VERSION]:
            return candidate
        if candidate in (explicit, os.environ.get("LAMBDA_PYTHON")):
            raise PackageError(f"{candidate} is not CPython {RUNTIME_VERSION}")
    raise PackageError(
        f"no CPython {RUNTIME_VERSION} found for the bytecode (the Lambda runtime's version): pass --python, "
        f"set LAMBDA_PYTHON, or build with --no-bytecode"
    )


def imported_at_cold_start(tree: Path) -> list[str]:
    """Archive names of the .py files the entry modules import, found by importing them from ``tree``.

    Runs in this interpreter (it has boto3, which the Lambda runtime provides but the tree does not) with
    placeholder settings; only the module list is used.
    """
    script = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(tree)!r})\n"
        f"for name in {list(ENTRY_MODULES)!r}:\n"
        "    __import__(name)\n"
        "files = [getattr(m, '__file__', None) for m in list(sys.modules.values())]\n"
        f"print(json.dumps(sorted(f for f in files if f and f.startswith({str(tree) + os.sep!r}))))\n"
    )
    env = {**os.environ, **PLACEHOLDER_ENV, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    result = subprocess.run(
        [sys.executable, "-I", "-B", "-c", script], env=env, capture_output=True, text=True, cwd=tree, check=False
    )
    if result.returncode != 0:
        raise PackageError(f"importing the handlers from the staged tree failed:\n{result.stderr}")
    return [Path(path).relative_to(tree).as_posix() for path in json.loads(result.stdout)]


def compile_bytecode(python: str, tree: Path, sources: Iterable[str]) -> dict[str, Path]:
    """Compile ``sources`` (archive names under ``tree``) to unchecked-hash .pyc; return archive name -> file."""
    names = sorted(sources)
    script = (
        "import py_compile, sys, json\n"
        "for name in json.loads(sys.stdin.read()):\n"
        "    py_compile.compile(name, dfile=name, doraise=True,\n"
        "                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)\n"
    )
    subprocess.run(
        [python, "-I", "-c", script],
        input=json.dumps(names),
        text=True,
        cwd=tree,
        check=True,
        env={"PATH": os.environ.get("PATH", ""), "SOURCE_DATE_EPOCH": "315532800"},
    )
    tag = f"cpython-{RUNTIME_VERSION.replace('.', '')}"
    compiled: dict[str, Path] = {}
    for name in names:
        source = Path(name)
        pyc = source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc"
        compiled[pyc.as_posix()] = tree / pyc
    return compiled


def stage(files: dict[str, Path], tree: Path) -> None:
    for name, source in files.items():
        destination = tree / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)


def write_zip(files: dict[str, Path], output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent)
    os.close(handle)
    try:
        with zipfile.ZipFile(temporary, "w") as archive:
            for name in sorted(files):
                info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
                info.create_system = 3  # Unix, so external_attr carries the mode
                info.external_attr = 0o100644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, files[name].read_bytes(), compresslevel=9)
        os.chmod(temporary, 0o644)
        os.replace(temporary, output)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def target_ca_bundle(env: Mapping[str, str] | None = None) -> Path | None:
    """The CA bundle the ZIP ships for the target it is built for, so the functions verify the database server
    (the stack then sets DB_TLS=verify_identity): ``RDS_CA_BUNDLE`` (on AWS, the RDS global bundle, docs/deploy.md),
    else for ``TARGET=local`` the emulator's own CA (local_cloud/tls.py), else none (DB_TLS=required)."""
    env = os.environ if env is None else env
    explicit = (env.get("RDS_CA_BUNDLE") or "").strip()
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise PackageError(f"RDS_CA_BUNDLE={explicit} is not a file: point it at the RDS CA bundle (PEM)")
        return path
    if (env.get("TARGET") or "local").strip() == "local":
        from local_cloud.tls import ca_path

        return ca_path()
    return None


def ca_bundle_mismatch(zip_path: Path, env: Mapping[str, str] | None = None) -> str | None:
    """Why the ZIP at ``zip_path`` does not carry the CA bundle of the current target (built for another), or None.

    A ZIP built for the emulator would make the functions trust only the emulator's CA on AWS, and one built for AWS
    would leave them unverified locally.
    """
    expected = target_ca_bundle(env)
    with zipfile.ZipFile(zip_path) as archive:
        shipped = archive.read(CA_BUNDLE_PATH) if CA_BUNDLE_PATH in archive.namelist() else None
    if shipped == (expected.read_bytes() if expected is not None else None):
        return None
    return f"its CA bundle is not the one for TARGET={(env or os.environ).get('TARGET') or 'local'}"


def zip_for(target: str, output: Path, env: Mapping[str, str] | None = None) -> Path:
    """A ZIP built for ``target`` at ``output`` (by this interpreter, which has boto3 to find the modules the handlers
    import), for tools that synthesize another target than the one ``dist/lambda.zip`` serves: they pass it as
    ``TRADING_LAMBDA_ZIP``, so ``dist/lambda.zip`` is not rebuilt back and forth (its CA bundle differs by target)."""
    build_env = {**(os.environ if env is None else env), "TARGET": target}
    result = subprocess.run(
        [sys.executable, "-m", "tools.package", "--output", str(output)],
        cwd=ROOT,
        env=build_env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise PackageError(f"building the shared ZIP for TARGET={target} failed:\n{result.stdout}{result.stderr}")
    return output


def build(
    output: Path = DEFAULT_OUTPUT, bytecode: bool = True, python: str | None = None, ca_bundle: Path | None = None
) -> dict[str, object]:
    """Build the ZIP at ``output``; return its path, size, hashes and entry count."""
    locked = check_lock()
    files = collect(dependencies(locked), ca_bundle)
    compiled_count = 0
    with tempfile.TemporaryDirectory(prefix="lambda-zip-") as temporary:
        if bytecode:
            runtime_python = find_runtime_python(python)
            tree = Path(temporary)
            stage(files, tree)
            compiled = compile_bytecode(runtime_python, tree, imported_at_cold_start(tree))
            compiled_count = len(compiled)
            files.update(compiled)
        write_zip(files, output)
    data = output.read_bytes()
    digest = hashlib.sha256(data).digest()
    return {
        "path": str(output),
        "size_bytes": len(data),
        "sha256": digest.hex(),
        "sha256_base64": base64.b64encode(digest).decode(),
        "entries": len(files),
        "bytecode_modules": compiled_count,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.package", description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where to write the ZIP")
    parser.add_argument("--no-bytecode", action="store_true", help="ship sources only (no CPython 3.12 needed)")
    parser.add_argument("--python", help=f"the CPython {RUNTIME_VERSION} that compiles the bytecode")
    parser.add_argument("--ca-bundle", type=Path, help=f"a PEM bundle to ship as {CA_BUNDLE_PATH}")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    if args.ca_bundle is not None and not args.ca_bundle.is_file():
        parser.error(f"--ca-bundle {args.ca_bundle} is not a file")
    try:
        ca_bundle = args.ca_bundle if args.ca_bundle is not None else target_ca_bundle()
        result = build(args.output.resolve(), not args.no_bytecode, args.python, ca_bundle)
    except PackageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(result["path"])
        print(f"size: {result['size_bytes']} bytes")
        print(f"sha256: {result['sha256']}")
        print(f"sha256 (base64, as Lambda's CodeSha256): {result['sha256_base64']}")
        print(f"entries: {result['entries']} ({result['bytecode_modules']} compiled for CPython {RUNTIME_VERSION})")
    if int(result["size_bytes"]) > MAX_SIZE_BYTES:  # type: ignore[call-overload]
        print(f"error: the ZIP exceeds its {MAX_SIZE_BYTES}-byte budget", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
