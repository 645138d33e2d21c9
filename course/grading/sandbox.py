"""A bubblewrap sandbox around the kernel that runs students' code during autograding.

The grading kernel sees a nearly empty filesystem: the operating system's programs and
libraries, Python and the course's virtual environment, the ``course`` package, all read-only,
and one writable folder, the submission being graded. The solutions in ``source/``, the gradebook,
the reference records and every other student's work are simply not there. Memory, CPU time and
file size are capped with rlimits set before ``bwrap`` starts, so they hold for everything the
kernel runs.

``install()`` writes the kernelspec (``SandboxedExecute`` does it before every run); nbgrader starts
the kernel as ``python -m course.grading.launcher {connection_file}`` (``course.grading.launcher``),
with the working directory set to the submission's folder. Students' own JupyterLab never uses it.

The kernel runs in its own user and PID namespaces with every capability dropped. This matters
most when grading runs as root: without them the sandbox's root kept CAP_SYS_ADMIN (it could
mount over the read-only binds) and could reach the grader's files through
``/proc/<grader pid>/root`` and signal the grader. In its own PID namespace the kernel sees only
its own processes. ipykernel's parent poller is switched off (``JPY_PARENT_PID`` unset): it would
mistake bwrap, PID 1 in there, for a dead parent; ``--die-with-parent`` ends the kernel instead.

The kernel has its own, empty network namespace: no interface but a loopback of its own, so no
connection to anything, a gradebook server on the grader's loopback included. The grader talks to
it over ZMQ's ``ipc`` transport, Unix sockets in the kernel's connection folder
(``course.grading.kernel_manager.private_channels``).
"""

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path

from course.checks import REFERENCE_RUN

KERNEL_NAME = "backprop-sandbox"
MEMORY_LIMIT_MB = int(os.environ.get("BACKPROP_SANDBOX_MEMORY_MB", "2048"))
CPU_LIMIT_S = int(os.environ.get("BACKPROP_SANDBOX_CPU_SECONDS", "600"))
FILE_LIMIT_MB = int(os.environ.get("BACKPROP_SANDBOX_FILE_MB", "256"))
COURSE_PACKAGE = Path(__file__).resolve().parents[1]  # the whole `course` package: helpers and grading


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot start here, so grading must not run at all."""


class WrongEnvironment(RuntimeError):
    """The Python grading runs in cannot import the course: every kernel it starts would die at once."""


def kernelspec() -> dict:
    """The kernel.json of the sandboxed kernel.

    ``interrupt_mode: message``: a timed-out cell is interrupted through the kernel's control
    channel, since bwrap does not forward SIGINT to the kernel.
    """
    return {
        "argv": [sys.executable, "-m", "course.grading.launcher", "{connection_file}"],
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
    for path in READ_ONLY:
        args += ["--ro-bind", path, path]
    return args


# Bound read-only into every sandbox: the OS, Python, the virtual environment, the course package.
READ_ONLY = ("/usr", "/etc", sys.base_prefix, sys.prefix, str(COURSE_PACKAGE))


# What every sandboxed kernel's environment says, whatever the grader's: IPython and matplotlib
# get their writable folders on the sandbox's private /tmp, figures render off-screen.
ENVIRONMENT = {"HOME": "/tmp", "IPYTHONDIR": "/tmp/ipython", "MPLCONFIGDIR": "/tmp/matplotlib", "MPLBACKEND": "Agg"}
UNSET = ("JPY_PARENT_PID", REFERENCE_RUN)  # REFERENCE_RUN: a student's kernel never declares mistakes
# Not root inside, even when grading runs as root: whatever the kernel creates still belongs to
# the grader's user outside, and a kernel forked by course.grading.kernel_factory can map its own user
# into a nested namespace (mapping root there would need CAP_SETFCAP).
UID = 1000


def bwrap_command(workdir: Path, command: list[str], writable: tuple[Path, ...] = ()) -> list[str]:
    """The bwrap invocation that runs ``command`` in ``workdir`` with only it and ``writable`` writable."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SandboxUnavailable("bubblewrap is not installed (Debian: apt-get install bubblewrap)")
    binds = [arg for path in (workdir, *writable) for arg in ("--bind", str(path), str(path))]
    environment = [arg for name, value in ENVIRONMENT.items() for arg in ("--setenv", name, value)]
    return [
        bwrap,
        "--die-with-parent",
        "--unshare-user",
        "--uid", str(UID), "--gid", str(UID),
        "--unshare-pid",
        "--cap-drop", "ALL",
        "--unshare-net",  # no network at all: not the gradebook server, not the grader's loopback
        "--unshare-ipc",
        "--unshare-uts",
        "--tmpfs", "/tmp",  # first: the binds below may lie under /tmp and must not be hidden by it
        *_system_binds(),
        "--proc", "/proc",
        "--dev", "/dev",
        *binds,
        "--remount-ro", "/",  # the sandbox's own root: no writing beside the bound folders either
        *[arg for name in UNSET for arg in ("--unsetenv", name)],
        *environment,
        "--chdir", str(workdir),
        "--",
        *command,
    ]  # fmt: skip


def limit_resources() -> None:
    """Cap address space, CPU seconds and file size; inherited by bwrap and the kernel."""
    memory = MEMORY_LIMIT_MB * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_LIMIT_S, CPU_LIMIT_S))
    size = FILE_LIMIT_MB * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))


@cache
def check() -> None:
    """Prove once per process that grading kernels can start here; raise the reason if not.

    Two probes, both from an empty folder (from the course root, ``course`` would import from the
    working directory and hide the problem): the kernelspec's launcher must import in this
    Python, and bwrap must start a Python that imports the helpers and ipykernel. Without them
    nbclient only reports "Kernel died before replying to kernel_info".
    """
    with tempfile.TemporaryDirectory(prefix="sandbox-check-") as empty:
        launcher = subprocess.run(
            [sys.executable, "-c", "import course.grading.launcher"], cwd=empty, capture_output=True, text=True
        )
        if launcher.returncode != 0:
            reason = (launcher.stderr.strip().splitlines() or ["no message"])[-1]
            raise WrongEnvironment(
                f"this Python ({sys.executable}) cannot import the course package ({reason}), so no grading "
                f"kernel could start. Grade from the course's virtual environment: `make release`, "
                f"`.venv/bin/nbgrader autograde ...` or `.venv/bin/python -m course.grading.parallel`."
            )
        probe = bwrap_command(Path(empty), [sys.executable, "-c", "import course.checks, ipykernel"])
        result = subprocess.run(probe, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise SandboxUnavailable(f"bubblewrap cannot start a grading kernel here: {result.stderr.strip()}")
