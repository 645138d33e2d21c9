"""The grader's side of a grading kernel: jupyter_client's async manager and client, minus fixed waits.

Why: with the demonstration cells skipped and the kernels forked warm, a graded notebook's
cells take 0.05-0.2 s, and jupyter_client spent about 0.4 s more per notebook just waiting
(measured with jupyter_client 8.10, ipykernel 7.4):

* about 0.1 s before the first message: the client connects its ZMQ sockets as soon as the
  kernel process is launched, before the kernel has bound them; a refused ``ipc`` connection is
  retried after ZMQ's reconnect interval, 100 ms by default. Here it is 5 ms.
* 0.2 s after the kernel is ready: ``wait_for_ready`` ends by reading IOPub until it has been
  silent for 0.2 s. The messages it throws away are the start-up ``status`` messages, which
  nbclient ignores anyway (it only takes messages whose parent is the request it sent); here
  the messages already queued are dropped and no silence is waited for.
* 0.1 s after the kernel is killed: the manager polls whether the process has gone every
  0.1 s, and the first poll comes right after the kill. Here it polls every millisecond.
* 0.1 s more when the manager closes: a kill is preceded by an interrupt request on the control
  socket, which a killed kernel never reads, and closing the manager's ZMQ context waits 100 ms
  (the socket's linger) for it to be delivered. Here the socket is closed with no linger once
  the kernel has stopped.
* 10 ms at the end of both starting and stopping a kernel: jupyter_client's ``in_pending_state``
  sleeps there "to ensure tests can capture the state before done". Here it does not.

Everything else -- what is sent, the timeouts, the kill, the clean-up -- is jupyter_client's.
``SandboxedExecute`` uses this manager, so serial ``nbgrader autograde``, the formgrader and
parallel grading all wait less alike.

One thing is added: in a parallel grading worker, whose environment names its kernel factory
(``course.grading.kernel_factory``), the manager's provisioner asks the factory for a warm kernel
itself (``FactoryProvisioner``) instead of starting the kernelspec's launcher to ask it: a Python
process less per notebook (about 20 ms of CPU). Elsewhere, or if the factory refuses, the
kernelspec's command starts a cold sandbox as usual.
"""

import functools
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from queue import Empty
from typing import Any

import zmq
import zmq.asyncio
from jupyter_client import AsyncKernelClient, AsyncKernelManager, KernelManager
from jupyter_client.connect import KernelConnectionInfo
from jupyter_client.manager import _get_future
from jupyter_client.provisioning import LocalProvisioner
from traitlets import DottedObjectName, Type

from course.grading import factory_client

RECONNECT_MS = 5  # ZMQ's default is 100 ms
EXIT_POLL_S = 0.001  # jupyter_client's default is 0.1 s


class PromptKernelClient(AsyncKernelClient):
    """An async kernel client that retries a refused connection at once and waits for no silence."""

    def _context_default(self) -> zmq.asyncio.Context:
        context = super()._context_default()
        context.setsockopt(zmq.RECONNECT_IVL, RECONNECT_MS)  # a default for every socket made from it
        return context

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        """jupyter_client's readiness check, kept: a kernel_info reply on shell and a message on IOPub.

        Only the end differs: the IOPub messages already queued are dropped without waiting for
        0.2 s of silence.
        """
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                reply = None
            if reply is not None and reply["msg_type"] == "kernel_info_reply":
                try:  # IOPub is connected once a message arrives on it; else ask again
                    await self.iopub_channel.get_msg(timeout=0.2)
                except Empty:
                    pass
                else:
                    self._handle_kernel_info_reply(reply)
                    break
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")
        while await self.iopub_channel.msg_ready():
            await self.iopub_channel.get_msg(timeout=0)


def in_pending_state(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """jupyter_client's ``in_pending_state`` decorator (the manager's ``ready`` future), without its sleep."""

    @functools.wraps(method)
    async def wrapper(self: KernelManager, *args: Any, **kwargs: Any) -> Any:
        if self._attempted_start or not self._ready:
            self._ready = _get_future()
        try:
            out = await method(self, *args, **kwargs)
            if self.owns_kernel:
                self._ready.set_result(None)
            return out
        except Exception as error:
            self._ready.set_exception(error)
            self.log.exception(self._ready.exception())
            raise

    return wrapper


def private_channels(km: KernelManager) -> Path:
    """Give ``km``'s kernel Unix-socket channels in a folder of its own; return the folder.

    The sandbox has no network at all (``bwrap --unshare-net``), so the grader talks to the kernel
    over ZMQ's ``ipc`` transport: socket files beside the connection file, in a fresh folder that
    only this kernel's sandbox sees (another kernel's sockets and key stay out of its reach). While
    a factory serves this process's kernels the folder is in the worker's runtime folder, which is
    bound into the factory's sandbox; else it is a new temporary folder, bound into the cold
    sandbox. The caller removes the folder when the kernel has stopped.
    """
    runtime = os.environ["JUPYTER_RUNTIME_DIR"] if os.environ.get(factory_client.SOCKET_ENV) else None
    folder = Path(tempfile.mkdtemp(prefix="k", dir=runtime))
    km.transport = "ipc"
    km.connection_file = str(folder / "kernel.json")
    km.ip = str(folder / "ipc")  # the sockets: ipc-<port>; short, as a socket path has 107 bytes at most
    return folder


class FactoryProvisioner(LocalProvisioner):
    """jupyter_client's local provisioner, which takes the course's kernel from the worker's factory when there is one.

    The kernelspec's command (``python -m course.grading.launcher CONNECTION_FILE [ARG ...]``) is
    not run then: its connection file and arguments go to the factory, with the working directory,
    the environment and the standard descriptors the command would have had. Any other kernel,
    no factory, pipes to make, or a factory that refuses (logged): the command runs, and the
    launcher starts a cold sandbox.
    """

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo:
        env = kwargs.get("env") or dict(os.environ)
        address = env.get(factory_client.SOCKET_ENV)
        ours = cmd[1:3] == ["-m", "course.grading.launcher"]  # [python, -m, launcher, connection file, *arguments]
        streams = [kwargs.get("stdout"), kwargs.get("stderr")]
        if not address or not ours or any(isinstance(stream, int) and stream < 0 for stream in streams):
            return await super().launch_kernel(cmd, **kwargs)  # or pipes to make (subprocess.PIPE): Popen's job
        cwd = os.path.realpath(kwargs.get("cwd") or os.getcwd())
        stdio = [_descriptor(stream, default) for stream, default in zip(streams, (1, 2), strict=True)]
        null = os.open(os.devnull, os.O_RDONLY)  # jupyter_client never lets a kernel read the grader's stdin
        try:
            connection = os.path.realpath(cmd[3])
            self.process = factory_client.request_kernel(address, connection, cmd[4:], cwd, env, [null, *stdio])
        except factory_client.FactoryUnavailable as refusal:
            print(f"{refusal}; starting a cold sandbox", file=sys.stderr, flush=True)
            return await super().launch_kernel(cmd, **kwargs)
        finally:
            os.close(null)
        self.pid, self.pgid, self.cwd = self.process.pid, None, cwd  # no group the grader could signal
        return self.connection_info


def _descriptor(stream: Any, default: int) -> int:
    """The file descriptor a Popen ``stdout``/``stderr`` argument names: a descriptor, a file, or None (inherited)."""
    if stream is None:
        return default
    return stream if isinstance(stream, int) else stream.fileno()


class FactoryKernels:
    """A jupyter_client kernel manager (async or blocking) whose provisioner is a ``FactoryProvisioner``.

    jupyter_client picks a provisioner by the kernelspec's metadata, among those installed as
    package entry points; the course's is set here instead, where the manager makes it.
    """

    provisioner: LocalProvisioner | None
    kernel_id: str | None

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        if self.provisioner is None:
            self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
            spec = self.kernel_spec  # type: ignore[attr-defined]
            self.provisioner = FactoryProvisioner(kernel_id=self.kernel_id, kernel_spec=spec, parent=self)
        return await super()._async_pre_start_kernel(**kw)  # type: ignore[misc]


class PromptKernelManager(FactoryKernels, AsyncKernelManager):
    """An async kernel manager with ``PromptKernelClient``s, which notices an exit within 1 ms and closes at once,
    and takes its kernels from the worker's factory when there is one (``FactoryProvisioner``)."""

    # jupyter_client's own methods, undecorated and decorated again (restart_kernel calls both).
    start_kernel = _async_start_kernel = in_pending_state(KernelManager._async_start_kernel.__wrapped__)
    shutdown_kernel = _async_shutdown_kernel = in_pending_state(KernelManager._async_shutdown_kernel.__wrapped__)

    client_class = DottedObjectName("course.grading.kernel_manager.PromptKernelClient", config=True)
    client_factory = Type(PromptKernelClient, config=True)  # AsyncKernelManager fixes its own default

    async def _async_wait(self, pollinterval: float = EXIT_POLL_S) -> None:
        await super()._async_wait(pollinterval=min(pollinterval, EXIT_POLL_S))

    def _close_control_socket(self) -> None:
        """Called once the kernel has stopped: what is still queued for it can never be delivered."""
        if self._control_socket is not None:
            self._control_socket.close(linger=0)
            self._control_socket = None
