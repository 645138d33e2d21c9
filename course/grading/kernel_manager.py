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
"""

import functools
import time
from collections.abc import Awaitable, Callable
from queue import Empty
from typing import Any

import zmq
import zmq.asyncio
from jupyter_client import AsyncKernelClient, AsyncKernelManager, KernelManager
from jupyter_client.manager import _get_future
from traitlets import DottedObjectName, Type

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


class PromptKernelManager(AsyncKernelManager):
    """An async kernel manager with ``PromptKernelClient``s, which notices an exit within 1 ms and closes at once."""

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
