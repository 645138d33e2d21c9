"""Warm grading kernels: a sandboxed, pre-loaded Python that forks a fresh kernel for each notebook.

Why: most of the CPU time of grading one of the course's notebooks goes into starting its
kernel, not into the student's cells: Python, ipykernel, numpy, matplotlib (with a font cache
built anew in every fresh sandbox), sympy, scipy. A parallel grading worker keeps
one *factory*: a Python process in a bubblewrap sandbox built like ``course.grading.sandbox``'s that
imports those modules once (and formats one traceback: ``course.grading.tracebacks``) and never
runs anyone's code. For each notebook it forks; the child shares the loaded modules
copy-on-write, narrows its own view to that one submission and becomes an ipykernel. Every
kernel is still a new process that no other submission touched.

What a forked kernel can reach: the factory's sandbox is ``course.grading.sandbox``'s -- read-only
system and environment, no capabilities, its own user and PID namespaces, the same rlimits --
except that the whole ``autograded/`` folder, the worker's connection-file folder and the
factory's socket folder are writable, since the factory serves every submission of the worker.
Before it reads its connection file, the child narrows that to its own submission folder, its
own connection file and a fresh ``/tmp``, and drops every capability (``course.grading.isolation``).

Two things differ from a fresh sandbox: a forked kernel shares the factory's PID namespace, so
it can see and signal the factory and its siblings (it cannot read them: they are in another
user namespace); a killed factory only makes the next kernels start cold. And numpy's global
random state, created when the factory imported numpy.random, is reseeded in every child
(Python's own ``random`` reseeds itself at fork).

The grader starts a factory and asks it for kernels through ``course.grading.factory_client``
(used by the provisioner of ``course.grading.kernel_manager`` when a worker's environment names
the factory's socket): one
JSON line -- connection file, kernel arguments, working directory, environment -- sent with the
kernel's stdin, stdout and stderr attached (SCM_RIGHTS). The factory answers ``{"pid": N}`` (or
``{"error": ...}``) and, when the kernel ends, ``{"exit": CODE}``. If the grader closes its end
(it is stopping the kernel, or it died), the factory kills the kernel's whole process group.
"""

from __future__ import annotations

import importlib
import json
import os
import selectors
import signal
import socket
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from course.grading import isolation, sandbox, tracebacks


def become_kernel(request: dict, fds: list[int], report: int, workdirs: Path, runtime: Path, sockets: Path) -> None:
    """In the forked child: isolate, take the grader's stdio and environment, run ipykernel. Never returns.

    ``report`` is a pipe to the factory: "ok" once isolated, else why not (then this child ends
    before running anything, and the grader starts a cold sandbox instead).
    """
    code = 1
    try:
        os.setsid()  # the kernel and whatever it starts form one group, killed together
        signal.set_wakeup_fd(-1)  # the factory's, about to be closed: the kernel sets up its own
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        workdir, connection = Path(request["cwd"]), Path(request["connection_file"])
        try:
            isolation.isolate(workdirs, workdir, runtime, connection, sockets)
        except OSError as error:
            os.write(report, f"cannot isolate the kernel: {error}".encode())
            os._exit(1)
        os.write(report, b"ok")
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        os.closerange(3, 65536)
        os.chdir(workdir)
        os.environ.clear()
        os.environ.update({k: v for k, v in request["env"].items() if k not in sandbox.UNSET})
        os.environ.update(sandbox.ENVIRONMENT)
        if "numpy.random" in sys.modules:  # numpy creates its global random state when numpy.random is imported
            sys.modules["numpy.random"].seed()
        if sys.path and sys.path[0] in ("", str(workdirs)):
            del sys.path[0]  # as ipykernel_launcher does; IPython puts the kernel's own folder back
        from ipykernel import kernelapp

        main = str(Path(kernelapp.__file__).with_name("__main__.py"))
        sys.argv = [main, "-f", str(connection), *request["arguments"]]  # checked by refusal()
        kernelapp.launch_new_instance()
        code = 0
    except SystemExit as exit:
        code = exit.code if isinstance(exit.code, int) else 1
    except BaseException:  # noqa: BLE001 -- report, then end this child whatever happened
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def refusal(request: dict, workdirs: Path, runtime: Path) -> str | None:
    """Why a request must not be served: a working directory or connection file outside the factory's,
    or kernel arguments that are not ``--Option=value`` settings."""
    workdir, connection = Path(request["cwd"]), Path(request["connection_file"])
    arguments = request.get("arguments")
    if not isinstance(arguments, list) or not all(isinstance(a, str) and a.startswith("--") for a in arguments):
        return f"kernel arguments must be a list of --options, not {arguments!r}"
    if not workdir.is_relative_to(workdirs) or workdir == workdirs or not workdir.is_dir():
        return f"{workdir} is not a submission folder under {workdirs}"
    if connection.parent.parent != runtime or not connection.is_file():
        return f"{connection} is not a connection file in a folder of {runtime}"
    return None


def probe(sockets: Path) -> str | None:
    """Fork a child that isolates itself as a kernel would; None if it worked, else why not."""
    folder = sockets / "probe"
    (folder / "work" / "student").mkdir(parents=True, exist_ok=True)
    (folder / "runtime" / "kernel").mkdir(parents=True, exist_ok=True)
    (folder / "runtime" / "kernel" / "kernel.json").touch()
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(reader)
        try:
            work, runtime = folder / "work", folder / "runtime"
            isolation.isolate(work, work / "student", runtime, runtime / "kernel" / "kernel.json", sockets)
            missing = [path for path in sandbox.READ_ONLY if not Path(path).is_dir()]
            os.write(writer, f"FileNotFoundError: {missing} hidden".encode() if missing else b"ok")
        except BaseException as error:  # noqa: BLE001
            os.write(writer, f"{type(error).__name__}: {error}".encode())
        os._exit(0)
    os.close(writer)
    with os.fdopen(reader, "rb") as answer:
        message = answer.read().decode(errors="replace")
    os.waitpid(pid, 0)
    return None if message == "ok" else f"a kernel cannot isolate itself here: {message}"


def serve(address: Path, workdirs: Path, runtime: Path, preload: Sequence[str]) -> int:
    """The factory's main loop: prove isolation works, preload, then fork a kernel per request."""
    sockets = address.parent
    problem = probe(sockets)  # first: a factory that cannot isolate says so before seconds of imports
    if problem:
        print(problem, flush=True)
        return 1
    for module in preload:
        try:
            importlib.import_module(module)
        except ImportError:
            pass  # only speed is lost: the kernel imports it itself (and reports what is missing)
    tracebacks.warm()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(address))
    listener.listen(8)
    print("ready", flush=True)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)

    wakeup_read, wakeup_write = os.pipe()
    os.set_blocking(wakeup_write, False)
    signal.set_wakeup_fd(wakeup_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "accept")
    selector.register(wakeup_read, selectors.EVENT_READ, "children")
    kernels: dict[int, socket.socket] = {}  # pid -> the grader's connection
    while True:
        for key, _ in selector.select():
            if key.data == "accept":
                connection, _ = listener.accept()
                message, fds, _, _ = socket.recv_fds(connection, 1 << 16, 3)
                while not message.endswith(b"\n"):  # a long environment may come in several pieces
                    piece = connection.recv(1 << 16)
                    if not piece:
                        break
                    message += piece
                request = json.loads(message)
                problem = refusal(request, workdirs, runtime) if len(fds) == 3 else "expected stdin, stdout, stderr"
                if problem:
                    connection.sendall(json.dumps({"error": problem}).encode() + b"\n")
                    connection.close()
                else:
                    reader, writer = os.pipe()
                    pid = os.fork()
                    if pid == 0:
                        become_kernel(request, fds, writer, workdirs, runtime, sockets)
                    os.close(writer)
                    with os.fdopen(reader, "rb") as answer:
                        isolated = answer.read(4096).decode(errors="replace")
                    if isolated == "ok":
                        kernels[pid] = connection
                        connection.sendall(json.dumps({"pid": pid}).encode() + b"\n")
                        selector.register(connection, selectors.EVENT_READ, pid)
                    else:
                        connection.sendall(json.dumps({"error": isolated or "the kernel died"}).encode() + b"\n")
                        connection.close()
                for fd in fds:
                    os.close(fd)
            elif key.data == "children":
                os.read(wakeup_read, 4096)
                while True:
                    try:
                        pid, status = os.waitpid(-1, os.WNOHANG)
                    except ChildProcessError:
                        break
                    if pid == 0:
                        break
                    connection = kernels.pop(pid, None)
                    if connection is not None:
                        if connection.fileno() in selector.get_map():  # not when the grader closed its end first
                            selector.unregister(connection)
                        with_code = json.dumps({"exit": os.waitstatus_to_exitcode(status)}).encode() + b"\n"
                        try:
                            connection.sendall(with_code)
                        except OSError:
                            pass
                        connection.close()
            else:  # the grader closed its end (stopping the kernel, or it died): the kernel goes, with all it started
                if key.fileobj.recv(1):
                    continue
                selector.unregister(key.fileobj)  # its end stays readable: no busy loop until the kernel is reaped
                for kill in (os.killpg, os.kill):  # the group, or the child if it has not made one yet
                    try:
                        kill(key.data, signal.SIGKILL)
                    except ProcessLookupError:
                        pass


if __name__ == "__main__":
    sys.exit(serve(*map(Path, sys.argv[1:4]), sys.argv[4:]))
