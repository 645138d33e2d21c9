"""The grading kernel: what student code can and cannot reach from inside bubblewrap."""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from course.grading import pipeline, sandbox
from course.grading.kernel_manager import private_channels
from tests.support.course import copy_course, submit
from tests.support.nbrun import REPO, source_notebooks
from tests.support.network import REACH, listening

pytestmark = pytest.mark.slow  # real kernels, sandboxes, nbgrader runs or a browser


def run_sandboxed(folder, *sources: str) -> list[str]:
    """Run code cells in the sandboxed kernel with ``folder`` as the submission folder;
    return each cell's stdout, or its error as 'ERROR <name>: <message>'."""
    sandbox.install()
    notebook = new_notebook(cells=[new_code_cell(s) for s in sources])
    km = KernelManager(kernel_name=sandbox.KERNEL_NAME)
    channels = private_channels(km)  # the sandbox has no network: Unix sockets, as grading uses
    client = NotebookClient(
        notebook, km=km, timeout=60, allow_errors=True, resources={"metadata": {"path": str(folder)}}
    )
    try:
        client.execute()
    finally:
        shutil.rmtree(channels, ignore_errors=True)
    results = []
    for cell in notebook.cells:
        errors = [o for o in cell.outputs if o.output_type == "error"]
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        results.append(f"ERROR {errors[0].ename}: {errors[0].evalue}" if errors else text.strip())
    return results


def test_student_code_runs_with_the_course_package_in_its_own_folder(tmp_path):
    out = run_sandboxed(
        tmp_path,
        "import os; print(os.getcwd())",
        "from course.networks import example_network; import numpy as np; print(len(example_network()))",
        "open('notes.txt', 'w').write('mine'); print(open('notes.txt').read())",
    )
    assert out == [str(tmp_path), "3", "mine"]
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_solutions_and_the_gradebook_are_out_of_reach(tmp_path):
    solution = source_notebooks()[0]
    gradebook = REPO / "gradebook.db"
    before = gradebook.read_bytes() if gradebook.exists() else None
    out = run_sandboxed(
        tmp_path,
        f"print(open({str(solution)!r}).read()[:50])",
        f"import os; print(sorted(os.listdir({str(REPO)!r})))",
        f"open({str(gradebook)!r}, 'ab').write(b'x')",
        f"open({str(REPO / 'planted.txt')!r}, 'w').write('x')",
    )
    assert out[0].startswith("ERROR FileNotFoundError"), out[0]
    assert out[1] == "['.venv', 'course']", "only the environment and the course package are visible"
    # Outside its folder the sandbox is read-only, except a private /tmp that vanishes with it
    # (where a course cloned under /tmp sees its own paths): either way nothing real changes.
    if REPO.is_relative_to("/tmp"):
        assert out[2] == "", "the course's own path lies on the sandbox's private, writable /tmp"
    else:
        assert out[2].startswith("ERROR OSError: [Errno 30] Read-only file system"), out[2]
    assert not (REPO / "planted.txt").exists()
    assert (gradebook.read_bytes() if gradebook.exists() else None) == before


def test_memory_is_capped(tmp_path):
    gigabytes = sandbox.MEMORY_LIMIT_MB // 1024 + 1
    out = run_sandboxed(tmp_path, f"import numpy as np; x = np.ones({gigabytes} * 2**27); x[:] = 2", "print('alive')")
    assert out[0].startswith("ERROR MemoryError"), out[0]
    assert out[1] == "alive", "the kernel survives a refused allocation"


def test_missing_bubblewrap_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    with pytest.raises(sandbox.SandboxUnavailable, match="bubblewrap is not installed"):
        sandbox.check.__wrapped__()


def test_kernelspec_is_installed_in_this_environment():
    sandbox.install()
    found = KernelSpecManager().get_kernel_spec(sandbox.KERNEL_NAME)
    assert found.argv[1:3] == ["-m", "course.grading.launcher"]
    assert found.interrupt_mode == "message"


def test_no_capabilities_and_no_view_of_the_graders_processes(tmp_path):
    grader = os.getpid()
    package = str(sandbox.COURSE_PACKAGE).encode()
    out = run_sandboxed(
        tmp_path,
        "print(open('/proc/self/status').read().split('CapEff:')[1].split()[0])",
        f"import ctypes; print(ctypes.CDLL(None).mount(b'tmpfs', {package!r}, b'tmpfs', 0, None))",
        f"import os; os.listdir('/proc/{grader}/root')",
        f"import os; os.kill({grader}, 0)",
        "import os; print(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()) < [10])",
    )
    # Even when grading runs as root: no capability to mount over the read-only binds ...
    assert out[:2] == ["0000000000000000", "-1"], out
    # ... and the grader is not there to read through /proc/<pid>/root or to signal.
    assert out[2].startswith("ERROR FileNotFoundError"), out[2]
    assert out[3].startswith("ERROR ProcessLookupError"), out[3]
    assert out[4] == "True", "only the sandbox's own processes are visible"


def test_no_network_not_even_the_graders_loopback(tmp_path):
    with listening() as addresses:
        (out,) = run_sandboxed(tmp_path, REACH.format(addresses=addresses))
    interfaces, reached = json.loads(out)
    assert interfaces == ["lo"] and len(reached) == len(addresses) >= 1, out
    assert "connected" not in reached, f"a grading kernel reached {addresses}: {out}"


@pytest.fixture(scope="module")
def foreign_python(tmp_path_factory) -> Path:
    """A Python with nbgrader and every library, but not the course: a virtual environment that
    borrows the course environment's site-packages without its backprop_course.pth (a .pth file
    in a borrowed folder is not read), as an instructor's other environment would be."""
    venv = tmp_path_factory.mktemp("foreign") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def test_grading_from_a_python_without_the_course_says_what_to_do(foreign_python, tmp_path):
    root = copy_course(tmp_path / "course")
    shutil.copytree(REPO / "course", root / "course", ignore=shutil.ignore_patterns("__pycache__"))  # a checkout
    assignment = "04_outer_product"
    pipeline.generate_release(root, assignment)
    submit(root, "ada", assignment, from_folder="source")
    result = subprocess.run(
        [foreign_python, "-m", "nbgrader", "autograde", assignment, "--create"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"this Python ({foreign_python}) cannot import the course package" in output, output[-2000:]
    assert "Grade from the course's virtual environment" in output
    assert "Kernel died before replying" not in output
