"""The grading kernelspec's entry point: ``python -m course.grading.launcher CONNECTION_FILE [ARG ...]``.

jupyter_client starts this process as "the kernel" (``course.grading.sandbox.kernelspec``), with
the working directory set to the submission being graded, and it execs bubblewrap around a fresh
``ipykernel_launcher`` (a cold kernel) with the sandbox's resource limits. Arguments after the
connection file are the kernel's own (jupyter_client appends a client's ``extra_arguments``
there) and reach ipykernel.

In a parallel grading worker this command is not run: the course's kernel manager takes a warm
kernel from the worker's factory instead (``course.grading.kernel_manager.FactoryProvisioner``),
and runs it only when the factory refuses.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from course.grading import sandbox
from course.grading.lifetime import die_with_parent


def launch_kernel(connection_file: str, arguments: list[str]) -> None:
    """Become the sandboxed ipykernel, in a fresh bwrap sandbox.

    Tied to the grading process that started it (jupyter_client names it in ``JPY_PARENT_PID``):
    a launcher whose grader was killed must not go on to exec a sandbox that nobody would ever stop.
    """
    if os.environ.get("JPY_PARENT_PID", "").isdigit():
        die_with_parent(int(os.environ["JPY_PARENT_PID"]))
    connection = Path(connection_file).resolve()
    command = [sys.executable, "-m", "ipykernel_launcher", "-f", str(connection), *arguments]
    argv = sandbox.bwrap_command(Path.cwd().resolve(), command, writable=(connection.parent,))
    sandbox.limit_resources()
    os.execv(argv[0], argv)


def main(argv: list[str]) -> int:
    if argv and argv[0].endswith(".json") and all(arg.startswith("--") for arg in argv[1:]):
        launch_kernel(argv[0], argv[1:])
    print("usage: python -m course.grading.launcher CONNECTION_FILE.json [--KERNEL-OPTION=VALUE ...]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
