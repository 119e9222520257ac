"""Stage one of a Lambda worker: build the sandbox a function runs in, then start the runtime inside it.

The emulator starts this file as ``python -I -S lambda_sandbox.py`` (standard library only, as root) with a JSON
spec on stdin. It gives the worker Lambda's file system and limits, in a mount namespace of its own:

- ``/var/task``    the function's code, read-only (a read-only bind mount: refused even to root, EROFS);
- ``/var/runtime`` boto3 and awslambdaric, ``/var/lang`` the CPython 3.12 installation, ``/var/rapid`` the worker
  bootstrap, all read-only; ``/opt`` empty and read-only (layers' contents are not emulated);
- ``/tmp``         a private tmpfs of the function's ephemeral-storage size, the only writable place;
- the project checkout (and the emulator's cache) hidden under an empty read-only tmpfs;
- memory: RLIMIT_DATA at the function's MemorySize (heap and thread stacks; code pages are not counted);
- then it drops to an unprivileged user (``nobody``), so file modes and the process table are as strict as for a
  Lambda sandbox user, re-arms the parent-death signal (a credential change clears it) and executes the runtime
  interpreter on ``/var/rapid/lambda_bootstrap.py`` with exactly the environment the spec gives.

Without root it uses an unprivileged user namespace for the same mounts and keeps the caller's user.
Any failure is one line on stderr (it lands in the function's log) and exit status 70.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import sys
from typing import Any

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 0x1, 0x2, 0x4, 0x8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 0x20, 0x1000, 0x4000, 0x40000
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 0x400, 0x800, 0x200000
CLONE_NEWNS, CLONE_NEWUSER = 0x00020000, 0x10000000
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38
EXIT_SANDBOX_FAILED = 70

# statvfs flags -> mount flags: a remount inside a user namespace must keep the flags the original mount locks.
_KEPT_FLAGS = (
    (os.ST_NOSUID, MS_NOSUID),
    (os.ST_NODEV, MS_NODEV),
    (os.ST_NOEXEC, MS_NOEXEC),
    (os.ST_NOATIME, MS_NOATIME),
    (os.ST_NODIRATIME, MS_NODIRATIME),
    (os.ST_RELATIME, MS_RELATIME),
)

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]


class SandboxError(RuntimeError):
    pass


def _call(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise SandboxError(f"{what}: {os.strerror(errno)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    def encode(value: str | None) -> bytes | None:
        return value.encode() if value is not None else None

    _call(_libc.mount(encode(source), encode(target), encode(fstype), flags, encode(data)), f"mount {target}")


def _kept_flags(path: str) -> int:
    flags = os.statvfs(path).f_flag
    return MS_NOSUID | MS_NODEV | sum(mount_flag for st_flag, mount_flag in _KEPT_FLAGS if flags & st_flag)


def bind_readonly(source: str, target: str) -> None:
    os.makedirs(target, exist_ok=True)
    _mount(source, target, None, MS_BIND | MS_REC)
    _mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | _kept_flags(target))


def tmpfs(target: str, options: str, readonly: bool = False) -> None:
    os.makedirs(target, exist_ok=True)
    _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, options)
    if readonly:
        _mount(None, target, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, options)


def _enter_namespace() -> bool:
    """A mount namespace of our own; returns True when we are real root (and so can change user)."""
    if os.geteuid() == 0:
        _call(_libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
        return True
    uid, gid = os.geteuid(), os.getegid()
    _call(_libc.unshare(CLONE_NEWUSER | CLONE_NEWNS), "unshare(CLONE_NEWUSER|CLONE_NEWNS) (user namespaces)")
    with open("/proc/self/setgroups", "w") as f:
        f.write("deny")
    with open("/proc/self/uid_map", "w") as f:
        f.write(f"{uid} {uid} 1")
    with open("/proc/self/gid_map", "w") as f:
        f.write(f"{gid} {gid} 1")
    return False


def build(spec: dict[str, Any]) -> None:
    is_root = _enter_namespace()
    # Our mounts must not propagate back to the host's namespace.
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    tmpfs("/var", "size=1m,mode=0755")
    for name, source in spec["mounts"].items():
        bind_readonly(source, f"/var/{name}")
    _mount(None, "/var", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
    tmpfs("/opt", "size=4k,mode=0755", readonly=True)
    tmpfs("/tmp", f"size={int(spec['tmp_mb'])}m,mode=1777")
    for path in spec["hide"]:
        if os.path.isdir(path):
            tmpfs(path, "size=4k,mode=0755", readonly=True)
    memory = int(spec["memory_mb"]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_DATA, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))  # Lambda's file-descriptor quota
    if is_root:
        os.setgroups([])
        os.setgid(int(spec["gid"]))
        os.setuid(int(spec["uid"]))
    _call(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")
    # A change of user clears the parent-death signal the emulator's spawner set: set it again.
    _call(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")
    if os.getppid() != int(spec["parent"]):
        raise SandboxError("the emulator went away while the sandbox was being built")


def main() -> None:
    spec = json.loads(sys.stdin.buffer.read())
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    try:
        build(spec)
        os.chdir("/var/task")
        os.execve(spec["argv"][0], spec["argv"], spec["env"])
    except (OSError, SandboxError) as exc:
        print(f"local_cloud sandbox: {exc}", file=sys.stderr, flush=True)
        os._exit(EXIT_SANDBOX_FAILED)


if __name__ == "__main__":
    main()
