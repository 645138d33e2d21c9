"""Warm kernels (course.grading.kernel_factory): as isolated as a fresh sandbox, and they fall back to one.

A factory serves the submission folders under ``autograded/``; each test starts kernels the way
nbgrader does (jupyter_client, the course's kernelspec) in one student's folder and checks what
the student's code can reach.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil
import pytest
from jupyter_client.manager import KernelManager

from course.grading import factory_client, sandbox
from course.grading.autograding import SandboxedExecute
from course.grading.kernel_manager import FactoryKernels, private_channels
from course.grading.preload import KERNEL_MODULES
from tests.support.network import REACH, listening

pytestmark = pytest.mark.slow  # real kernels, sandboxes, nbgrader runs or a browser

OUTSIDE_TMP = "/var/tmp"  # on the root filesystem, like a checkout in a home folder
# numpy marks a warm kernel (ipykernel never imports it); numpy.random (imported lazily, but by
# scikit-learn and scipy in the course's factories) holds a global random state that each kernel must
# not inherit; a module that does not exist must only be skipped.
PRELOAD = (*KERNEL_MODULES, "numpy.random", "a_module_nobody_installed")


def course_folder(where: str, tmp_path: Path) -> Path:
    """Where the test course lives: under /tmp (pytest's tmp_path, a course cloned under /tmp) or
    outside it, as in a normal checkout, where kernels are narrowed by covering folders instead."""
    if where == "under /tmp":
        return tmp_path
    folder = Path(tempfile.mkdtemp(prefix="backprop-factory-test-", dir=OUTSIDE_TMP))
    assert not folder.resolve().is_relative_to("/tmp")
    return folder


LOCATIONS = pytest.mark.parametrize("course", ["under /tmp", "outside /tmp"], indirect=True)


@pytest.fixture
def course(request, tmp_path, monkeypatch):
    """``autograded/`` with two students' folders, a factory serving it, and its environment set."""
    root = course_folder(getattr(request, "param", "under /tmp"), tmp_path)
    workdirs = root / "autograded"
    for student in ("ada", "bob"):
        (workdirs / student / "a1").mkdir(parents=True)
    (workdirs / "bob" / "a1" / "answers.txt").write_text("bob's work")
    factory = factory_client.start(workdirs, root / "scratch", PRELOAD)
    for name, value in factory.environment().items():
        monkeypatch.setenv(name, value)
    sandbox.install()
    yield workdirs, factory
    factory.stop()
    if root != tmp_path:
        shutil.rmtree(root)


class BlockingFactoryKernelManager(FactoryKernels, KernelManager):
    """jupyter_client's blocking manager with the course's provisioner (the grader's manager is async)."""


class Kernel:
    """A kernel started as nbgrader starts one (``SandboxedExecute``: connection file from the factory)."""

    def __init__(self, folder: Path, arguments: tuple[str, ...] = (), **popen: object) -> None:
        self.km = BlockingFactoryKernelManager(kernel_name=sandbox.KERNEL_NAME)
        self.channels = private_channels(self.km)
        self.km.start_kernel(cwd=str(folder), extra_arguments=list(arguments), **popen)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)

    def run(self, code: str) -> str:
        """stdout of ``code``, or 'ERROR <name>' if it raised."""
        out: list[str] = []

        def collect(message: dict) -> None:
            content = message["content"]
            if message["msg_type"] == "stream":
                out.append(content["text"])
            elif message["msg_type"] == "error":
                out.append(f"ERROR {content['ename']}")

        self.kc.execute_interactive(code, timeout=60, output_hook=collect)
        return "".join(out).strip()

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)
        shutil.rmtree(self.channels, ignore_errors=True)

    def __enter__(self) -> "Kernel":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@LOCATIONS
def test_a_forked_kernel_is_warm_and_sees_only_its_own_folder(course):
    workdirs, factory = course
    with Kernel(workdirs / "ada" / "a1") as kernel:
        assert kernel.run("import os, sys; print(os.getcwd())") == str(workdirs / "ada" / "a1")
        assert kernel.run("print('numpy' in sys.modules)") == "True", "not warm: numpy was not preloaded"
        assert kernel.run("open('mine.txt', 'w').write('x'); print(sorted(os.listdir('.')))") == "['mine.txt']"
        # The other student's folder, the factory's socket, and capabilities to undo any of it: gone.
        assert kernel.run(f"print(sorted(os.listdir({str(workdirs)!r})))") == "['ada']"
        assert kernel.run(f"open({str(workdirs / 'bob' / 'a1' / 'answers.txt')!r}).read()") == "ERROR FileNotFoundError"
        under_tmp = workdirs.is_relative_to("/tmp")
        # The factory's socket: absent from the kernel's fresh /tmp, or covered by an empty folder.
        sockets = kernel.run(f"print(os.listdir({str(factory.socket.parent)!r}))")
        assert sockets == ("ERROR FileNotFoundError" if under_tmp else "[]")
        # Beside its folder: the kernel's own throw-away /tmp (a course under /tmp), else a read-only cover.
        planted = kernel.run(f"open({str(workdirs / 'planted.txt')!r}, 'w')")
        assert planted == ("" if under_tmp else "ERROR OSError")
        assert kernel.run("print(open('/proc/self/status').read().split('CapBnd:')[1].split()[0])") == "0" * 16
        assert kernel.run(f"import ctypes; print(ctypes.CDLL(None).umount2({str(workdirs).encode()!r}, 2))") == "-1"
        # Under /tmp the kernel sees, besides its fresh files, the top folders of what is bound from
        # the grader's /tmp: this course, and the environment and package when the checkout is there.
        bound = [workdirs, *map(Path, sandbox.READ_ONLY)]
        top = sorted({p.relative_to("/tmp").parts[0] for p in bound if p.is_relative_to("/tmp")})
        own = sorted(Path(v).name for v in sandbox.ENVIRONMENT.values() if v.startswith("/tmp/"))  # ipython...
        assert kernel.run(f"print(sorted(set(os.listdir('/tmp')) - set({own!r})))") == str(top), "not a fresh /tmp"
        assert kernel.run("os.listdir(f'/proc/{os.getppid()}/root')") == "ERROR PermissionError"
    assert (workdirs / "ada" / "a1" / "mine.txt").read_text() == "x"
    assert not (workdirs / "planted.txt").exists()


def test_a_forked_kernel_has_no_network(course):
    workdirs, _ = course
    with listening() as addresses, Kernel(workdirs / "ada" / "a1") as kernel:
        assert kernel.run("import sys; print('numpy' in sys.modules)") == "True", "not a forked kernel"
        out = kernel.run(REACH.format(addresses=addresses))
    interfaces, reached = json.loads(out)
    assert interfaces == ["lo"] and len(reached) == len(addresses) >= 1, out
    assert "connected" not in reached, f"a forked grading kernel reached {addresses}: {out}"


@LOCATIONS
def test_each_kernel_is_a_fresh_process_with_its_own_random_state(course):
    workdirs, _ = course
    seen = []
    for student in ("ada", "bob"):
        with Kernel(workdirs / student / "a1") as kernel:
            assert kernel.run("print(globals().get('leftover'))") == "None"
            kernel.run("leftover = 1")
            seen.append(kernel.run("import numpy as np; print(np.random.rand())"))
    assert seen[0] != seen[1], "numpy's global random state was not reseeded after the fork"


@pytest.mark.parametrize("warm", [True, False], ids=["warm", "cold"])
def test_a_kernels_own_arguments_reach_it_warm_or_cold(course, monkeypatch, warm):
    """What SandboxedExecute passes (history in memory, traceback caches, no pause) reaches ipykernel either way."""
    workdirs, _ = course
    if not warm:
        monkeypatch.delenv(factory_client.SOCKET_ENV)  # no factory: the launcher starts a fresh sandbox
    shell = "get_ipython()"
    settings = f"{shell}.history_manager.hist_file, {shell}.kernel._execute_sleep, inspect.getmodule.__name__"
    with Kernel(workdirs / "ada" / "a1", tuple(SandboxedExecute().extra_arguments)) as kernel:
        assert kernel.run("import sys; print('numpy' in sys.modules)") == str(warm)
        assert kernel.run(f"import inspect; print({settings})") == ":memory: 0.0 remembering"
        assert kernel.run("print('course.grading.tracebacks' in get_ipython().extension_manager.loaded)") == "True"
    if not warm:  # without the arguments, IPython's defaults (a forked kernel has its factory's caches)
        with Kernel(workdirs / "ada" / "a1") as kernel:
            history, pause, getmodule = kernel.run(f"import inspect; print({settings})").split()
            assert history != ":memory:" and (pause, getmodule) == ("0.0005", "getmodule")


def test_the_launcher_refuses_what_is_not_a_kernel_option():
    result = subprocess.run(
        [sys.executable, "-m", "course.grading.launcher", "kernel.json", "rm -rf"], capture_output=True, text=True
    )
    assert result.returncode == 2 and "usage" in result.stderr


def test_a_folder_outside_the_factorys_is_refused_and_started_cold(course, tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    connection = private_channels(KernelManager()) / "kernel.json"
    connection.write_text("{}")
    address, stdio = os.environ[factory_client.SOCKET_ENV], [0, 1, 2]
    with pytest.raises(factory_client.FactoryUnavailable, match="is not a submission folder under"):
        factory_client.request_kernel(address, str(connection), [], str(elsewhere), {}, stdio)
    with Kernel(elsewhere) as kernel:  # the kernelspec's launcher starts a fresh bwrap sandbox instead
        assert kernel.run("import sys; print('numpy' in sys.modules)") == "False"
        assert kernel.run("import os; print(os.getcwd())") == str(elsewhere)


def test_a_kernel_whose_output_is_piped_starts_cold(course, capfd):
    """Pipes are Popen's to make: the kernelspec's launcher starts that kernel, in a fresh sandbox,
    without troubling the factory (which would fail on descriptor -1 and log a refusal)."""
    workdirs, _ = course
    with Kernel(workdirs / "ada" / "a1", stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as kernel:
        assert kernel.run("import sys; print('numpy' in sys.modules)") == "False"
        assert kernel.km.provisioner.process.stdout is not None
    assert "kernel factory" not in capfd.readouterr().err


def test_a_kernel_that_kills_its_factory_only_makes_the_next_one_cold(course):
    workdirs, factory = course
    with Kernel(workdirs / "ada" / "a1") as kernel:
        # No waiting for the reply: the kernel dies with its factory's PID namespace, often before it answers.
        kernel.kc.execute("import os, signal; os.kill(os.getppid(), signal.SIGKILL)")
        factory.process.wait(timeout=30)
    with Kernel(workdirs / "bob" / "a1") as kernel:
        answer = kernel.run("import os, sys; print(os.getcwd(), 'numpy' in sys.modules)")
        assert answer == f"{workdirs / 'bob' / 'a1'} False", "not started cold in its own folder"


GRADER = """
import sys, time
from tests.test_kernel_factory import Kernel
kernel = Kernel(sys.argv[1])
print("answer", kernel.run("print(1 + 1)"), flush=True)  # the kernel writes to this stdout too
time.sleep(600)
"""


def forked_kernels(factory: factory_client.Factory) -> set[psutil.Process]:
    """The kernels the factory forked and what they started (a fork keeps the factory's command line)."""
    inside = psutil.Process(factory.process.pid).children(recursive=True)  # bwrap's: the factory, and its forks
    server = next(process for process in inside if process.cmdline()[1:3] == ["-m", "course.grading.kernel_factory"])
    return set(server.children(recursive=True))


def test_a_stopped_kernel_is_gone_and_its_exit_reported(course):
    workdirs, factory = course
    kernel = Kernel(workdirs / "ada" / "a1")
    warm = kernel.km.provisioner.process
    assert isinstance(warm, factory_client.WarmKernel), "not taken from the factory"
    forked = forked_kernels(factory)
    assert forked and warm.poll() is None
    kernel.close()  # nbgrader's way: shutdown_kernel(now=True)
    assert warm.returncode == -signal.SIGKILL
    _, alive = psutil.wait_procs(forked, timeout=10)
    assert not alive and not forked_kernels(factory)


def test_a_grader_that_dies_takes_its_kernel_with_it(course):
    workdirs, factory = course
    grader = subprocess.Popen(
        [sys.executable, "-c", GRADER, str(workdirs / "ada" / "a1")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert "answer 2\n" in iter(grader.stdout.readline, "")
        forked = forked_kernels(factory)
        assert forked, "no kernel was forked by the factory"
    finally:
        grader.kill()
        grader.wait()
    _, alive = psutil.wait_procs(forked, timeout=10)
    assert not alive, "the kernel outlived its grader"


def test_a_factory_that_cannot_isolate_kernels_refuses_to_start(tmp_path, monkeypatch):
    """Where nested namespaces are not allowed the factory says why, and workers grade cold."""
    real = sandbox.bwrap_command

    def no_nested_namespaces(*args, **kwargs) -> list[str]:
        bwrap, *rest = real(*args, **kwargs)
        return [bwrap, "--disable-userns", *rest]

    monkeypatch.setattr(factory_client.sandbox, "bwrap_command", no_nested_namespaces)
    with pytest.raises(factory_client.FactoryUnavailable, match="cannot isolate"):
        factory_client.start(tmp_path / "autograded", tmp_path / "scratch", PRELOAD)
