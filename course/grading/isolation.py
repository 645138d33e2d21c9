"""Narrowing a forked kernel to one submission: namespaces, mounts and capabilities, by system call.

A kernel forked by ``course.grading.kernel_factory`` starts inside the factory's sandbox, which
can see every submission folder of its worker. ``isolate`` makes the child see only its own
folder and connection file, a fresh ``/tmp``, and no capabilities, before it runs anything; it
cannot be undone, because the mounts it inherited are locked and the capabilities it would need
are gone. Written with ctypes: Python 3.11's ``os`` has neither ``unshare`` nor ``mount``.
"""

import ctypes
import os
from pathlib import Path

from course.grading import sandbox

CLONE_NEWNS, CLONE_NEWUSER = 0x00020000, 0x10000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT = 1, 2, 4, 32
MS_BIND, MS_MOVE, MS_REC, MS_PRIVATE = 4096, 8192, 16384, 1 << 18
MNT_DETACH = 2
PR_CAPBSET_DROP, LINUX_CAPABILITY_VERSION_3 = 24, 0x20080522

_libc = ctypes.CDLL(None, use_errno=True)


def _call(name: str, *args: object) -> None:
    if getattr(_libc, name)(*args) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{name}{args!r}: {os.strerror(error)}")


def _mount(source: str | Path | None, target: str | Path, fstype: str | None, flags: int) -> None:
    encode = lambda value: None if value is None else str(value).encode()  # noqa: E731
    _call("mount", encode(source), encode(target), encode(fstype), ctypes.c_ulong(flags), None)


def bind_into(keep: Path, target: Path) -> None:
    """Bind ``keep`` (a folder or a file) at ``target``, creating what the mount point needs."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if keep.is_dir():
        target.mkdir(exist_ok=True)
    else:
        target.touch()
    _mount(keep, target, None, MS_BIND | MS_REC)


def keep_only(folder: Path, keep: Path, stage: Path) -> None:
    """Cover ``folder`` with an empty read-only tmpfs and bind ``keep`` (inside it) back, writable."""
    bind_into(keep, stage)  # reachable through the stage once the cover hides it
    _mount("tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV)
    bind_into(stage, folder / keep.relative_to(folder))
    _mount(None, folder, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    _call("umount2", str(stage).encode(), MNT_DETACH)
    stage.rmdir() if stage.is_dir() else stage.unlink()  # the fresh /tmp keeps no trace of it


def drop_capabilities() -> None:
    """Empty the bounding, permitted, effective and inheritable sets: nothing to regain, even by exec."""
    last = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    for capability in range(last + 1):
        _call("prctl", PR_CAPBSET_DROP, capability, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(LINUX_CAPABILITY_VERSION_3, 0)
    _call("capset", header, (ctypes.c_uint32 * 6)())
    status = Path("/proc/self/status").read_text()
    if "CapEff:\t0000000000000000" not in status or "CapBnd:\t0000000000000000" not in status:
        raise OSError("capabilities are still held after dropping them")


def isolate(workdirs: Path, workdir: Path, runtime: Path, connection_file: Path, sockets: Path) -> None:
    """Narrow this (forked) process to one submission folder and one connection folder; irreversible.

    The connection folder holds the kernel's connection file and its Unix sockets (the sandbox has
    no network): only this kernel's, one folder per kernel under ``runtime``.

    A fresh tmpfs replaces the factory's /tmp at the end. What must stay reachable but lies under
    /tmp (a course in a temporary folder, the worker's scratch) is bound into the fresh one at the
    same path, as bwrap does; what lies elsewhere is covered with ``keep_only``.
    """
    uid, gid = os.getuid(), os.getgid()
    _call("unshare", CLONE_NEWUSER | CLONE_NEWNS)
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
    Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    tmp = Path("/tmp")
    fresh = tmp / f".fresh-{os.getpid()}"  # on the factory's /tmp, shared with it: hence the pid
    fresh.mkdir(exist_ok=True)
    _mount("tmpfs", fresh, "tmpfs", MS_NOSUID | MS_NODEV)
    for stage, (folder, keep) in enumerate(((workdirs, workdir), (runtime, connection_file.parent))):
        if keep.is_relative_to(tmp):
            bind_into(keep, fresh / keep.relative_to(tmp))
        else:
            keep_only(folder, keep, fresh / f".stage-{stage}")
    for path in map(Path, sandbox.READ_ONLY):  # e.g. a course cloned under /tmp, with its .venv
        if path.is_relative_to(tmp) and path != tmp:
            bind_into(path, fresh / path.relative_to(tmp))
            _mount(None, fresh / path.relative_to(tmp), None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    if not sockets.is_relative_to(tmp):
        _mount("tmpfs", sockets, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV)
    _mount(fresh, tmp, None, MS_MOVE)
    drop_capabilities()
