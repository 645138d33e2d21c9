"""The grader's side of a kernel factory (``course.grading.kernel_factory``): start one, ask it for kernels.

``start`` runs the factory in its sandbox and waits until it is ready; ``request_kernel`` has it
fork a kernel and returns a ``WarmKernel``, which jupyter_client's provisioner manages as it
would a kernel process (``course.grading.kernel_manager.FactoryProvisioner``). The protocol is
described in ``course.grading.kernel_factory``.
"""

from __future__ import annotations

import json
import select
import selectors
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from course.grading import sandbox

SOCKET_ENV = "BACKPROP_KERNEL_FACTORY"  # set in a grading worker's environment: where its factory listens


class FactoryUnavailable(RuntimeError):
    """The factory could not start or cannot isolate its kernels here: kernels start cold instead."""


@dataclass
class Factory:
    """A running factory: its sandboxed process, its socket and the folder for connection files."""

    process: subprocess.Popen[bytes]
    socket: Path
    runtime: Path

    def environment(self) -> dict[str, str]:
        """What the grading worker sets so that its kernels come from this factory."""
        return {SOCKET_ENV: str(self.socket), "JUPYTER_RUNTIME_DIR": str(self.runtime)}

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


def start(workdirs: Path, scratch: Path, preload: Sequence[str] = (), timeout: float = 120.0) -> Factory:
    """Start a factory serving submission folders under ``workdirs``; ``FactoryUnavailable`` if it cannot.

    Returns once a probe child has proved it can isolate itself and the modules ``preload`` names
    (``course.grading.preload``) are loaded.
    """
    workdirs, scratch = workdirs.resolve(), scratch.resolve()
    sockets, runtime = scratch / "socket", scratch / "runtime"
    for folder in (workdirs, sockets, runtime):
        folder.mkdir(parents=True, exist_ok=True)
    address = sockets / "factory.sock"
    command = [sys.executable, "-m", "course.grading.kernel_factory", str(address), str(workdirs), str(runtime)]
    command += preload
    argv = sandbox.bwrap_command(workdirs, command, writable=(sockets, runtime))
    limits = sandbox.limit_resources
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, preexec_fn=limits)
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    ready = selector.select(timeout)
    selector.close()
    line = process.stdout.readline().decode(errors="replace").strip() if ready else "no answer in time"
    process.stdout.close()
    if line != "ready":
        process.kill()
        process.wait()
        raise FactoryUnavailable(line or f"the factory exited with code {process.returncode}")
    return Factory(process, address, runtime)


class WarmKernel:
    """A kernel the factory forked, as jupyter_client's provisioner sees a kernel process (``Popen``'s methods).

    The kernel is in the factory's PID namespace, out of the grader's reach: its ``pid`` is the
    factory's name for it, and the grader's only way to stop it is to close its side of the
    connection, which makes the factory kill the kernel's process group (whatever signal was
    asked for: the course's kernels are interrupted by message, never by SIGINT). The exit code
    comes back on the connection.
    """

    stdin = stdout = stderr = None  # what Popen would have piped: nothing, the kernel got the grader's descriptors

    def __init__(self, connection: socket.socket, pid: int, received: bytes = b"") -> None:
        self.connection, self.pid, self.returncode = connection, pid, None
        self._received = received  # what came after the pid line, if the kernel ended that fast

    def poll(self) -> int | None:
        if self.returncode is None and (self._received or select.select([self.connection], [], [], 0)[0]):
            self._read_exit()
        return self.returncode

    def wait(self) -> int:
        if self.returncode is None:
            self._read_exit()
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            try:
                self.connection.shutdown(socket.SHUT_WR)  # the factory kills the group, then reports the exit
            except OSError:
                pass  # the factory has gone, and the kernel with its PID namespace

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def _read_exit(self) -> None:
        """Block until the factory reports the exit; a factory that died took the kernel with it (SIGKILL)."""
        line = _read_line(self.connection, self._received)[0]
        self.connection.close()
        self.returncode = int(json.loads(line)["exit"]) if line else -signal.SIGKILL


def _read_line(connection: socket.socket, received: bytes = b"") -> tuple[bytes, bytes]:
    """One newline-ended line from ``connection`` (empty if it closed first) and what came after it."""
    while b"\n" not in received:
        piece = connection.recv(4096)
        if not piece:
            return b"", b""
        received += piece
    line, _, rest = received.partition(b"\n")
    return line, rest


def request_kernel(
    address: str, connection_file: str, arguments: list[str], cwd: str, env: dict[str, str], stdio: list[int]
) -> WarmKernel:
    """Have the factory at ``address`` fork a kernel; ``FactoryUnavailable`` if it is unreachable or refuses.

    ``stdio`` are the kernel's stdin, stdout and stderr. After ``FactoryUnavailable`` the caller starts
    a cold sandbox instead.
    """
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    request = {"connection_file": connection_file, "arguments": arguments, "cwd": cwd, "env": env}
    try:
        client.connect(address)
        socket.send_fds(client, [json.dumps(request).encode() + b"\n"], stdio)
        line, rest = _read_line(client)
    except OSError as error:
        client.close()
        raise FactoryUnavailable(f"kernel factory unreachable ({error})") from error
    answer = json.loads(line) if line else {"error": "the factory closed the connection"}
    if "error" in answer:
        client.close()
        raise FactoryUnavailable(f"kernel factory refused: {answer['error']}")
    return WarmKernel(client, int(answer["pid"]), rest)
