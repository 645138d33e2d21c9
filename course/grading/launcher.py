"""The grading kernelspec's entry point: ``python -m course.grading.launcher CONNECTION_FILE [ARG ...]``.

jupyter_client starts this process as "the kernel" (``course.grading.sandbox.kernelspec``), with
the working directory set to the submission being graded. It becomes the sandboxed kernel in one
of two ways:

* while a parallel grading worker runs a kernel factory (``course.grading.kernel_factory``), the
  worker's environment names the factory's Unix socket (``SOCKET_ENV``): the launcher asks the
  factory to fork a warm kernel for this folder, hands it its stdin, stdout and stderr, and lives
  exactly as long as that kernel, so jupyter_client manages it as it would the kernel itself;
* otherwise, or when the factory is unreachable or refuses, it execs bubblewrap around a fresh
  ``ipykernel_launcher`` (a cold kernel), with the sandbox's resource limits.

Arguments after the connection file are the kernel's own (jupyter_client appends a client's
``extra_arguments`` there) and reach ipykernel either way.

The protocol, client side: one JSON line -- connection file, arguments, working directory, environment --
sent with the three standard descriptors attached (SCM_RIGHTS); the factory answers ``{"pid": N}``
(or ``{"error": ...}``) and, when the kernel ends, ``{"exit": CODE}``.
"""

from __future__ import annotations

# This process starts once per graded notebook, before its kernel: it imports only what asking the
# factory needs (pathlib, uuid and the sandbox module cost about 0.1 s of start-up, paid per notebook).
import json
import os
import socket
import sys
from typing import TYPE_CHECKING

from course.grading.lifetime import die_with_parent

if TYPE_CHECKING:
    from pathlib import Path

    from jupyter_client.manager import KernelManager

SOCKET_ENV = "BACKPROP_KERNEL_FACTORY"


def private_channels(km: KernelManager) -> Path:
    """Give ``km``'s kernel Unix-socket channels in a folder of its own; return the folder.

    The sandbox has no network at all (``bwrap --unshare-net``), so the grader talks to the kernel
    over ZMQ's ``ipc`` transport: socket files beside the connection file, in a fresh folder that
    only this kernel's sandbox sees (another kernel's sockets and key stay out of its reach). While
    a factory serves this process's kernels the folder is in the worker's runtime folder, which is
    bound into the factory's sandbox; else it is a new temporary folder, bound into the cold
    sandbox. The caller removes the folder when the kernel has stopped. Called on the grader's side.
    """
    import tempfile
    from pathlib import Path

    runtime = os.environ["JUPYTER_RUNTIME_DIR"] if os.environ.get(SOCKET_ENV) else None
    folder = Path(tempfile.mkdtemp(prefix="k", dir=runtime))
    km.transport = "ipc"
    km.connection_file = str(folder / "kernel.json")
    km.ip = str(folder / "ipc")  # the sockets: ipc-<port>; short, as a socket path has 107 bytes at most
    return folder


def attach(address: str, connection_file: str, arguments: list[str]) -> int | None:
    """Have the factory at ``address`` fork this kernel; wait for it and return its exit code.

    None if the factory is unreachable or refuses: the caller then starts a cold sandbox.
    """
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    request = {
        "connection_file": connection_file,
        "arguments": arguments,
        "cwd": os.path.realpath(os.getcwd()),
        "env": dict(os.environ),
    }
    try:
        client.connect(address)
        socket.send_fds(client, [json.dumps(request).encode() + b"\n"], [0, 1, 2])
    except OSError as error:
        print(f"kernel factory unreachable ({error}); starting a cold sandbox", file=sys.stderr)
        return None
    answers = client.makefile("rb")
    first = json.loads(answers.readline() or b'{"error": "the factory closed the connection"}')
    if "error" in first:
        print(f"kernel factory refused: {first['error']}; starting a cold sandbox", file=sys.stderr)
        return None
    last = answers.readline()  # blocks for as long as the kernel runs
    return int(json.loads(last)["exit"]) if last else 1


def launch_kernel(connection_file: str, arguments: list[str]) -> None:
    """Become the sandboxed ipykernel: a warm one from the worker's factory, else a cold bwrap sandbox.

    Tied to the grading process that started it (jupyter_client names it in ``JPY_PARENT_PID``):
    a launcher whose grader was killed while it waited for the factory must not go on to exec a
    cold sandbox that nobody would ever stop.
    """
    if os.environ.get("JPY_PARENT_PID", "").isdigit():
        die_with_parent(int(os.environ["JPY_PARENT_PID"]))
    factory = os.environ.get(SOCKET_ENV)
    if factory:
        code = attach(factory, os.path.realpath(connection_file), arguments)
        if code is not None:
            sys.exit(code)
    from pathlib import Path

    from course.grading import sandbox

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
