"""nbgrader preprocessors that make autograding safe to trust (configured in nbgrader_config.py).

``SandboxedExecute`` runs a submission in the bubblewrap kernel of ``course.grading.sandbox`` and turns a
kernel that dies (``os._exit``, a crash, the memory limit) into a clear error on the cell that
killed it, with every later grade cell scored zero, instead of a notebook nbgrader cannot save.
Its kernel manager (``course.grading.kernel_manager``) is jupyter_client's without the fixed
waits around a kernel's start and stop. It skips the cells tagged ``demo`` (timings, training
runs, plots: read-only cells no grade cell needs, which cost about nine tenths of a notebook's
run), leaving a note in their place.

``VerifyHiddenChecks`` compares, outside the kernel, the records each grade cell displayed
(``course.checks.record``) with the reference solution's (``course.grading.expectations``) and
scores the cell by the share of its hidden checks passed, naming the mistakes it recognises
(``course.grading.scoring``), whatever the student's code did to the kernel.
"""

import shutil
from pathlib import Path

from nbclient.exceptions import DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from nbgrader.utils import is_grade
from traitlets import Bool, default

from course.grading import expectations, sandbox
from course.grading.demos import NOT_RUN_NOTE, is_demo
from course.grading.kernel_manager import PromptKernelManager, private_channels
from course.grading.scoring import error_output, judged_outputs


class SandboxedExecute(Execute):
    """nbgrader's Execute, in the sandboxed kernel, surviving the kernel's death, skipping demonstrations."""

    # After the last cell the kernel holds nothing grading needs: stop it at once instead of asking
    # it to shut down and waiting for it to exit (about 0.2 s a notebook).
    shutdown_kernel = "immediate"

    run_demonstrations = Bool(
        False,
        help="Run the cells tagged 'demo' as well (slower; their outputs then appear in the feedback).",
    ).tag(config=True)

    @default("extra_arguments")
    def _kernel_arguments(self) -> list[str]:
        # What nbgrader and nbclient give a kernel they know to be IPython's (by its name, which
        # this one's hides): its input history in memory, not a SQLite file and a thread that
        # writes every cell to it. The course's traceback caches (course.grading.tracebacks: the
        # same text, 10-30 ms less per error), which a forked kernel has from its factory. And no
        # 0.5 ms pause before each cell's reply, which ipykernel makes for clients that stop
        # reading outputs at the reply: nbclient reads them until the kernel's idle status, which
        # comes after both (0.6 ms a cell).
        return [
            "--HistoryManager.hist_file=:memory:",
            "--IPKernelApp.extensions=course.grading.tracebacks",
            "--Kernel._execute_sleep=0",
        ]

    def __init__(self, *args, **kwargs):
        # nbgrader's Execute sets jupyter_client's AsyncKernelManager the same way; this one is it
        # without its fixed waits (about 0.4 s a notebook).
        kwargs.setdefault("kernel_manager_class", PromptKernelManager)
        super().__init__(*args, **kwargs)

    def preprocess(self, nb, resources, km=None):
        sandbox.check()  # refuse to run student code unsandboxed
        sandbox.install()
        self.kernel_name = sandbox.KERNEL_NAME
        self._died_in: int | None = None
        self._channels: Path | None = None
        try:
            return super().preprocess(nb, resources, km)
        finally:
            if self._channels is not None:
                shutil.rmtree(self._channels, ignore_errors=True)

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        self._channels = private_channels(km)  # no network in the sandbox: Unix sockets
        return km

    def preprocess_cell(self, cell, resources, index):
        if self._died_in is not None:
            if cell.cell_type == "code" and is_grade(cell):
                cell.outputs = [error_output("NotRun", f"not run: the kernel died in cell {self._died_in + 1}")]
            return cell, resources
        if is_demo(cell) and not self.run_demonstrations:
            cell.outputs = [NotebookNode(output_type="stream", name="stdout", text=NOT_RUN_NOTE)]
            cell.execution_count = None
            return cell, resources
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self._died_in = index
            cell.outputs.append(
                error_output(
                    "KernelDied",
                    "the kernel stopped while running this cell (os._exit, a crash, or the "
                    f"{sandbox.MEMORY_LIMIT_MB} MB memory or {sandbox.CPU_LIMIT_S} s CPU limit); "
                    "later cells were not run",
                )
            )
            self.log.warning("Kernel died in cell %d of %s", index + 1, resources["nbgrader"]["notebook"])
            return cell, resources


class VerifyHiddenChecks(NbGraderPreprocessor):
    """Score every grade cell by its hidden checks, judged against the reference solution's records.

    The records a cell displayed are compared, outside the kernel, with the reference's
    (``course.grading.expectations``); the points are shared among the checks passed and each
    failed check names the mistake it shows (``course.grading.scoring``), whatever the student's
    code did to the kernel.
    """

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        root = Path(self.config.CourseDirectory.get("root") or Path.cwd())
        expected = expectations.load(root, info["assignment"], info["notebook"])
        for cell in nb.cells:
            if cell.cell_type != "code" or not is_grade(cell):
                continue
            grade_id = cell.metadata.nbgrader.grade_id
            points = float(cell.metadata.nbgrader.points)
            outputs = judged_outputs(cell.outputs, expected.get(grade_id, []), points)
            if outputs is not None:
                cell.outputs = outputs
                self.log.info("%s/%s %s: judged", info["student"], info["notebook"], grade_id)
        return nb, resources
