"""One grading worker process: nbgrader's autograder on a private gradebook copy, one submission at a time.

Workers are the processes of a ``concurrent.futures.ProcessPoolExecutor`` (``course.grading.pool``):
``initialize`` runs once in each, ``grade`` once per submission. What runs for a submission is
unchanged from ``nbgrader autograde <assignment> --student <student> --force``: nbgrader's
``Autograde`` converter, configured by the course's ``nbgrader_config.py`` (with its sandboxed,
verified preprocessors and timeouts), bound to the app's course directory as nbgrader's own
formgrader API binds it. Only the gradebook differs: each worker writes a private copy of the
course gradebook and returns what autograding wrote (``course.grading.merge``), so the parent
process is the only writer of the real one.
"""

import logging
import os
import shutil
import signal
import sys
import time
import traceback
from dataclasses import dataclass
from multiprocessing.util import Finalize
from pathlib import Path

from nbgrader.apps.autogradeapp import AutogradeApp
from nbgrader.converters import Autograde
from nbgrader.utils import temp_attrs

from course.grading import factory_client, reuse
from course.grading.lifetime import die_with_parent
from course.grading.merge import Recorded, read_recorded
from course.grading.sandbox import SandboxUnavailable
from course.grading.tasks import Task

# BLAS libraries start one thread per core in every kernel; with one kernel per core those
# threads only fight each other (the course's matrices are tiny). Same defaults as joblib/loky.
SINGLE_THREAD_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@dataclass(frozen=True)
class Settings:
    """What every worker of a run needs to start: the course, the gradebook snapshot, a scratch folder."""

    root: Path
    snapshot: Path
    scratch: Path
    parent: int
    warm: bool = True
    preload: tuple[str, ...] = ()  # what the kernel factory imports: the graded notebooks' imports


@dataclass(frozen=True)
class Outcome:
    """A worker's answer for one task: success, what to merge, nbgrader's reason and log if it failed."""

    task: Task
    ok: bool
    seconds: float
    recorded: Recorded | None
    kernels: str = ""  # "warm", or "cold (why)"
    error: str = ""
    log: str = ""

    @property
    def notebooks(self) -> int:
        return self.recorded.notebooks if self.recorded else 0


class StartupFailed(RuntimeError):
    """This worker could not configure nbgrader: no submission can be graded by it."""


class WarmKernels:
    """A worker's kernel factory (``course.grading.kernel_factory``), restarted if a kernel killed it.

    Without one (``warm=False``, or the factory cannot start or isolate its kernels here) every
    kernel starts cold, in a fresh bwrap sandbox, as under serial ``nbgrader autograde``.
    """

    def __init__(self, workdirs: Path, scratch: Path, warm: bool, preload: tuple[str, ...]) -> None:
        self.workdirs, self.scratch, self.warm, self.preload = workdirs, scratch, warm, preload
        self.factory: factory_client.Factory | None = None
        self.state = "cold (--cold-kernels)"
        self.ensure()

    def ensure(self) -> None:
        """Start the factory if it is not running; fall back to cold kernels for good if it cannot start."""
        if not self.warm or (self.factory is not None and self.factory.process.poll() is None):
            return
        os.environ.pop(factory_client.SOCKET_ENV, None)
        try:
            self.factory = factory_client.start(self.workdirs, self.scratch / f"kernels-{os.getpid()}", self.preload)
        except (factory_client.FactoryUnavailable, SandboxUnavailable) as error:
            self.factory, self.state, self.warm = None, f"cold ({error})", False  # no retry on every task
            return
        os.environ.update(self.factory.environment())
        self.state = "warm"

    def stop(self) -> None:
        if self.factory is not None:
            self.factory.stop()


@dataclass
class _Worker:
    app: AutogradeApp
    db_url: str
    kernels: WarmKernels


_worker: _Worker | None = None
_startup_error: str | None = None


def initialize(settings: Settings) -> None:
    """The pool's initializer: detach from the terminal, set up logging, nbgrader and the kernel factory.

    The worker gets a session of its own (Ctrl-C in the terminal reaches only the parent, which
    finishes the submissions in progress) and sends its output to a log file, so that nbgrader's
    log and anything a kernel prints cannot scribble over the parent's progress bar. A failure
    here is kept and reported by ``grade``: a pool whose initializer raises only says "broken".
    """
    global _worker, _startup_error
    die_with_parent(settings.parent)  # an orphan would go on writing autograded/ behind a rerun
    os.setsid()
    signal.signal(signal.SIGINT, signal.default_int_handler)  # forked: not the parent's Ctrl-C counter
    log = os.open(settings.scratch / f"worker-{os.getpid()}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    # nbgrader runs kernels and `alembic` by name, as course.grading.pipeline also arranges.
    os.environ.update(SINGLE_THREAD_ENV, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    try:
        private = settings.scratch / f"gradebook-{os.getpid()}.db"
        shutil.copyfile(settings.snapshot, private)
        db_url = f"sqlite:///{private}"
        os.chdir(settings.root)
        reuse.install()
        reuse.scratch_gradebook(db_url)
        app = AutogradeApp()
        app.initialize([f"--CourseDirectory.db_url={db_url}"])  # reads nbgrader_config.py as the CLI does
        workdirs = Path(app.coursedir.root) / app.coursedir.autograded_directory
        _worker = _Worker(app, db_url, WarmKernels(workdirs, settings.scratch, settings.warm, settings.preload))
        Finalize(_worker, _worker.kernels.stop, exitpriority=10)
    except Exception as error:  # noqa: BLE001 -- reported with the first task
        traceback.print_exc()
        _startup_error = f"{type(error).__name__}: {error}"


class LogRecords(logging.Handler):
    """Keeps the records nbgrader logs while grading one submission, to report a failure from."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def text(self) -> str:
        return "\n".join(self.format(record) for record in self.records)

    def reason(self) -> str | None:
        """nbgrader's first error that says something: the message, or the exception a traceback ends with."""
        for record in self.records:
            message = record.getMessage().strip()
            if record.levelno < logging.ERROR or not message:
                continue
            if message.startswith(("There was an error processing", "Please see")):
                continue  # nbgrader's framing around the real error
            lines = [line.strip() for line in message.splitlines() if line.strip()]
            return lines[-1] if lines[0].startswith("Traceback") else lines[0]
        return None


def grade(task: Task) -> Outcome:
    """Autograde one submission in this worker; every failure becomes a failed ``Outcome``."""
    if _worker is None:
        raise StartupFailed(_startup_error or "the worker was not initialized")
    started = time.perf_counter()
    handler = LogRecords()
    try:
        _worker.kernels.ensure()
        with temp_attrs(_worker.app.coursedir, assignment_id=task.assignment, student_id=task.student):
            converter = Autograde(coursedir=_worker.app.coursedir, parent=_worker.app)
            converter.force = True
            converter.create_student = True
            converter.log.addHandler(handler)
            try:
                converter.start()
            finally:
                converter.log.removeHandler(handler)
        ok, error = True, ""
    except Exception as exception:  # noqa: BLE001 -- nbgrader raises when a submission cannot be graded
        ok = False
        error = handler.reason() or f"{type(exception).__name__}: {exception}"
        handler.records.append(
            logging.makeLogRecord({"levelno": logging.ERROR, "levelname": "ERROR", "msg": traceback.format_exc()})
        )
    recorded = read_recorded(_worker.db_url, task.assignment, task.student)
    return Outcome(
        task, ok, time.perf_counter() - started, recorded, _worker.kernels.state, error, "" if ok else handler.text()
    )
