"""A bubblewrap sandbox around the kernel that runs students' code during autograding.

The grading kernel sees a nearly empty filesystem: the operating system's programs and
libraries, Python and the course's virtual environment, the ``course`` package, all read-only,
and one writable folder, the submission being graded. The solutions in ``source/``, the gradebook,
the reference records and every other student's work are simply not there. Memory, CPU time and
file size are capped with rlimits set before ``bwrap`` starts, so they hold for everything the
kernel runs.

``python -m course.sandbox install`` writes the kernelspec; nbgrader starts it (see
``course.autograding.SandboxedExecute``) as ``python -m course.sandbox {connection_file}``, with
the working directory set to the submission's folder. Students' own JupyterLab never uses it.

Not isolated: the network namespace (the kernel talks to the grader over loopback TCP) and the
process table (``--unshare-pid`` makes ipykernel believe its parent died).
"""

import json
import os
import resource
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

KERNEL_NAME = "backprop-sandbox"
MEMORY_LIMIT_MB = int(os.environ.get("BACKPROP_SANDBOX_MEMORY_MB", "2048"))
CPU_LIMIT_S = int(os.environ.get("BACKPROP_SANDBOX_CPU_SECONDS", "600"))
FILE_LIMIT_MB = int(os.environ.get("BACKPROP_SANDBOX_FILE_MB", "256"))
COURSE_PACKAGE = Path(__file__).resolve().parent


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot start here, so grading must not run at all."""


def kernelspec() -> dict:
    """The kernel.json of the sandboxed kernel.

    ``interrupt_mode: message``: a timed-out cell is interrupted through the kernel's control
    channel, since bwrap does not forward SIGINT to the kernel.
    """
    return {
        "argv": [sys.executable, "-m", "course.sandbox", "{connection_file}"],
        "display_name": "Python 3 (sandboxed grading)",
        "language": "python",
        "interrupt_mode": "message",
        "metadata": {"debugger": False},
    }


def install() -> Path:
    """Write the kernelspec into this environment's Jupyter data folder (idempotent, atomic)."""
    folder = Path(sys.prefix) / "share" / "jupyter" / "kernels" / KERNEL_NAME
    target = folder / "kernel.json"
    text = json.dumps(kernelspec(), indent=1) + "\n"
    if target.is_file() and target.read_text(encoding="utf-8") == text:
        return target
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f"kernel.json.{os.getpid()}"
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, target)
    return target


def _system_binds() -> list[str]:
    """Read-only binds of the OS, Python and the environment (symlinked /bin etc. kept as links)."""
    args = []
    for top in ("bin", "sbin", "lib", "lib32", "lib64"):
        path = Path("/") / top
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.exists():
            args += ["--ro-bind", str(path), str(path)]
    for path in ("/usr", "/etc", sys.base_prefix, sys.prefix, str(COURSE_PACKAGE)):
        args += ["--ro-bind", path, path]
    return args


def bwrap_command(workdir: Path, connection_file: Path, command: list[str]) -> list[str]:
    """The bwrap invocation that runs ``command`` with only ``workdir`` writable."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SandboxUnavailable("bubblewrap is not installed (Debian: apt-get install bubblewrap)")
    return [
        bwrap,
        "--die-with-parent",
        "--unshare-ipc",
        "--unshare-uts",
        "--tmpfs", "/tmp",  # first: the binds below may lie under /tmp and must not be hidden by it
        *_system_binds(),
        "--proc", "/proc",
        "--dev", "/dev",
        "--bind", str(workdir), str(workdir),
        "--bind", str(connection_file), str(connection_file),
        "--remount-ro", "/",  # the sandbox's own root: no writing beside the bound folders either
        "--setenv", "HOME", "/tmp",
        "--setenv", "IPYTHONDIR", "/tmp/ipython",
        "--setenv", "MPLCONFIGDIR", "/tmp/matplotlib",
        "--setenv", "MPLBACKEND", "Agg",
        "--chdir", str(workdir),
        "--",
        *command,
    ]  # fmt: skip


def _limit_resources() -> None:
    """Cap address space, CPU seconds and file size; inherited by bwrap and the kernel."""
    memory = MEMORY_LIMIT_MB * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_LIMIT_S, CPU_LIMIT_S))
    size = FILE_LIMIT_MB * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))


@cache
def check() -> None:
    """Prove once per process that bwrap can start a process here; raise SandboxUnavailable if not."""
    probe = bwrap_command(Path.cwd(), Path(os.devnull), [sys.executable, "-c", "pass"])
    result = subprocess.run(probe, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise SandboxUnavailable(f"bubblewrap cannot start a sandbox here: {result.stderr.strip()}")


def launch_kernel(connection_file: str) -> None:
    """Replace this process with the sandboxed ipykernel (the kernelspec's entry point)."""
    connection = Path(connection_file).resolve()
    command = [sys.executable, "-m", "ipykernel_launcher", "-f", str(connection)]
    argv = bwrap_command(Path.cwd().resolve(), connection, command)
    _limit_resources()
    os.execv(argv[0], argv)


def main(argv: list[str]) -> int:
    if argv == ["install"]:
        print(install())
        return 0
    if len(argv) == 1 and argv[0].endswith(".json"):
        launch_kernel(argv[0])
    print("usage: python -m course.sandbox install | CONNECTION_FILE.json", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
