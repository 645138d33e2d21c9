"""The grading kernel: what student code can and cannot reach from inside bubblewrap."""

import os

import pytest
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from course import sandbox
from tests.nbrun import REPO, source_notebooks


def run_sandboxed(folder, *sources: str) -> list[str]:
    """Run code cells in the sandboxed kernel with ``folder`` as the submission folder;
    return each cell's stdout, or its error as 'ERROR <name>: <message>'."""
    sandbox.install()
    notebook = new_notebook(cells=[new_code_cell(s) for s in sources])
    client = NotebookClient(
        notebook, kernel_name=sandbox.KERNEL_NAME, timeout=60, allow_errors=True,
        resources={"metadata": {"path": str(folder)}},
    )  # fmt: skip
    client.execute()
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
    assert out[2].startswith(("ERROR OSError: [Errno 30]", "ERROR FileNotFoundError")) or str(REPO).startswith("/tmp/")
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
    assert found.argv[1:3] == ["-m", "course.sandbox"]
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
