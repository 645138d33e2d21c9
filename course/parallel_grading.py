"""Autograde a whole class in parallel, with nbgrader's own grader and one gradebook writer.

Run as ``python -m course.parallel_grading [assignment ...] [--workers N] [--root DIR]``.

Why: ``nbgrader autograde`` grades one notebook after another (nbgrader issue #174), and a
notebook's time is almost all kernel start and cell execution, i.e. one busy core. Grading
students in N worker processes (default: one per core) uses every core. What runs for each
student is unchanged: a worker calls nbgrader's ``Autograde`` converter -- what ``nbgrader
autograde --force`` runs, configured by the course's ``nbgrader_config.py`` with its
preprocessors, sandboxed kernel and timeouts -- for one (assignment, student) at a time, the way
nbgrader's own formgrader API does.

The one thing that cannot be shared is the gradebook: SQLite takes one writer at a time, and
nbgrader's preprocessors commit many small transactions per notebook. So:

* before the workers start, the course gradebook is snapshotted (the assignments' cells and
  checksums from ``generate_assignment`` are all a worker needs);
* every worker grades into its own copy of that snapshot, then reads back what autograding
  wrote for that submission (timestamp, per-cell auto score and "needs manual grade", automatic
  comments, late penalty) and sends it to the parent;
* the parent process is the only writer of the course gradebook: it applies each submission
  with nbgrader's own API, in one transaction per submission, as soon as it arrives.

A merge is all or nothing and goes through nbgrader's ``update_or_create_*`` calls, keyed by
(student, assignment, notebook, cell) under the schema's unique constraints: an interrupted run
keeps every submission merged so far, and a repeated run overwrites instead of adding. Ctrl-C
stops handing out work, lets the submissions in progress finish and be merged, then exits (130);
if the parent is killed outright, its workers notice within 0.2 s and exit too, so nothing keeps
writing ``autograded/`` behind a re-run.

A submission nbgrader fails to grade (an unreadable notebook, say) is left in the gradebook
exactly as serial nbgrader leaves it and reported with nbgrader's reason; it never stops the
other students. A cell that runs over ``Execute.timeout`` is stopped by nbgrader and scores 0.
"""

from __future__ import annotations

import argparse
import glob
import os
import pickle
import selectors
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import warnings
from collections.abc import Iterable, Iterator
from contextlib import closing, suppress
from dataclasses import dataclass, field
from datetime import datetime
from itertools import count, zip_longest
from pathlib import Path
from typing import Any

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.apps.autogradeapp import AutogradeApp
from nbgrader.converters import Autograde
from nbgrader.utils import capture_log, temp_attrs
from sqlalchemy.exc import SAWarning, SQLAlchemyError
from tqdm import tqdm

from course import kernel_factory
from course.sandbox import SandboxUnavailable
from course.scores import NotebookScore, gradebook_url, read_scores

COURSE_ROOT = Path(__file__).resolve().parents[1]

# BLAS libraries start one thread per core in every kernel; with one kernel per core those
# threads only fight each other (the course's matrices are tiny). Same defaults as joblib/loky.
SINGLE_THREAD_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class GradingError(RuntimeError):
    """Grading cannot start (no gradebook, unknown assignment, no submissions)."""


@dataclass(frozen=True, order=True)
class Task:
    """One submission folder ``submitted/<student>/<assignment>``: the unit of work and of merging."""

    assignment: str
    student: str


@dataclass(frozen=True)
class CellResult:
    """What autograding wrote for one grade cell (``grade``) or solution/task cell (``comment``)."""

    notebook: str
    cell: str
    auto_score: float | None = None
    needs_manual_grade: bool = False
    auto_comment: str | None = None


@dataclass(frozen=True)
class Recorded:
    """Everything autograding writes into the gradebook for one submission, read back from a worker's copy."""

    timestamp: datetime | None
    late_penalties: tuple[tuple[str, float | None], ...]
    grades: tuple[CellResult, ...]
    comments: tuple[CellResult, ...]


@dataclass(frozen=True)
class Outcome:
    """A worker's answer for one task: success, nbgrader's log if it failed, what to merge."""

    task: Task
    ok: bool
    seconds: float
    notebooks: int
    recorded: Recorded | None
    error: str = ""
    log: str = ""


@dataclass
class Report:
    """What a run did: outcomes in completion order, wall time, workers, whether it was interrupted."""

    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    workers: int = 0
    interrupted: bool = False
    kernels: set[str] = field(default_factory=set)  # "warm", or "cold (why)", per worker

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def notebooks(self) -> int:
        return sum(o.notebooks for o in self.outcomes)


# --------------------------------------------------------------------------- planning (parent)


def default_workers() -> int:
    """The cores this process may run on (a container's CPU set, not the host's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def sqlite_path(db_url: str) -> Path:
    """The file behind a ``sqlite:///`` gradebook URL; other databases are not supported here."""
    prefix = "sqlite:///"
    if not db_url.startswith(prefix) or db_url == prefix + ":memory:":
        raise GradingError(f"parallel grading needs an SQLite file gradebook, got {db_url!r}")
    return Path(db_url[len(prefix) :])


def released_assignments(db_url: str) -> list[str]:
    """Assignments the gradebook knows, i.e. that ``nbgrader generate_assignment`` has processed."""
    with Gradebook(db_url) as gradebook:
        return sorted(a.name for a in gradebook.assignments)


def find_tasks(root: Path, assignments: Iterable[str], students: Iterable[str] | None = None) -> list[Task]:
    """Every submission nbgrader would grade, in the order the workers take them.

    The same globs as nbgrader (``submitted/*/<assignment>/*.ipynb``, hidden folders excluded),
    so a folder without a notebook is skipped as ``nbgrader autograde`` skips it. The order
    interleaves assignments (first student of each assignment, then the second, ...) so that the
    workers start on different assignments: whatever the course's preprocessors compute once per
    notebook and cache (reference records) is computed once, not by every worker at once.
    """
    wanted = set(students) if students else None
    per_assignment = []
    for assignment in assignments:
        folders = sorted(glob.glob(os.path.join(glob.escape(str(root / "submitted")), "*", glob.escape(assignment))))
        per_assignment.append([
            Task(assignment, Path(folder).parent.name)
            for folder in folders
            if glob.glob(os.path.join(glob.escape(folder), "*.ipynb"))
            and (wanted is None or Path(folder).parent.name in wanted)
        ])
    return [task for rank in zip_longest(*per_assignment) for task in rank if task is not None]


def plan(root: Path, assignments: list[str] | None, students: list[str] | None = None) -> tuple[str, list[Task]]:
    """Check the course can be graded and list the submissions: (gradebook URL, tasks)."""
    db_url = gradebook_url(root)
    if not sqlite_path(db_url).is_file():
        raise GradingError(f"no gradebook at {sqlite_path(db_url)}: run `nbgrader generate_assignment` first")
    known = released_assignments(db_url)
    chosen = assignments or known
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        raise GradingError(
            f"not in the gradebook: {', '.join(unknown)} (run `nbgrader generate_assignment` first; "
            f"known: {', '.join(known) or 'none'})"
        )
    tasks = find_tasks(root, chosen, students)
    if not tasks:
        raise GradingError(f"no submissions in {root / 'submitted'} for {', '.join(chosen)}")
    return db_url, tasks


def snapshot_gradebook(source: Path, target: Path) -> None:
    """A consistent copy of the gradebook, even if another program has it open (SQLite backup API)."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


# --------------------------------------------------------------------------- workers


def init_worker(root: Path, snapshot: Path, scratch: Path) -> tuple[AutogradeApp, str]:
    """nbgrader's autograde app, configured as on the command line but on a private gradebook copy.

    The app reads the course's ``nbgrader_config.py`` (and any user/system nbgrader config) the
    same way ``nbgrader autograde`` run in the course root does; only ``db_url`` is overridden.
    """
    private = scratch / f"gradebook-{os.getpid()}.db"
    shutil.copyfile(snapshot, private)
    db_url = f"sqlite:///{private}"
    os.chdir(root)
    app = AutogradeApp()
    app.initialize([f"--CourseDirectory.db_url={db_url}"])
    return app, db_url


def grade_task(app: AutogradeApp, db_url: str, task: Task) -> Outcome:
    """Autograde one submission with nbgrader's ``Autograde`` converter, in a worker process.

    The same steps as ``nbgrader autograde <assignment> --student <student> --force``, done the
    way nbgrader's own formgrader API does it (``NbGraderAPI.autograde``): a converter bound to
    the app's course directory, with the log captured so a failure can be reported.
    """
    started = time.perf_counter()
    with temp_attrs(app.coursedir, assignment_id=task.assignment, student_id=task.student):
        converter = Autograde(coursedir=app.coursedir, parent=app)
        converter.force = True
        converter.create_student = True
        result: dict[str, Any] = capture_log(converter)
    recorded = read_recorded(db_url, task)
    notebooks = len({c.notebook for c in recorded.grades + recorded.comments}) if recorded else 0
    return Outcome(
        task=task,
        ok=bool(result["success"]),
        seconds=time.perf_counter() - started,
        notebooks=notebooks,
        recorded=recorded,
        error="" if result["success"] else summarize_error(result),
        log="" if result["success"] else result.get("log", "") + result.get("error", ""),
    )


def exit_with_parent(parent: int) -> None:
    """End this worker as soon as the process that started it is gone (killed, even with SIGKILL).

    An orphaned worker would go on writing ``autograded/`` while the instructor re-runs grading
    over the same folders. Its kernel follows it (bwrap's --die-with-parent, ipykernel's parent
    poller).
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(3)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


class WarmKernels:
    """A worker's kernel factory (``course.kernel_factory``), restarted if a kernel killed it.

    Without one (``warm=False``, or the factory cannot start or isolate its kernels here) every
    kernel starts cold, in a fresh bwrap sandbox, as under serial ``nbgrader autograde``.
    """

    def __init__(self, workdirs: Path, scratch: Path, warm: bool) -> None:
        self.workdirs, self.scratch, self.warm = workdirs, scratch, warm
        self.factory: kernel_factory.Factory | None = None
        self.state = "cold (--cold-kernels)"
        self.ensure()

    def ensure(self) -> None:
        """Start the factory if it is not running; fall back to cold kernels for good if it cannot start."""
        if not self.warm or (self.factory is not None and self.factory.process.poll() is None):
            return
        os.environ.pop(kernel_factory.SOCKET_ENV, None)
        try:
            self.factory = kernel_factory.start(self.workdirs, self.scratch / f"kernels-{os.getpid()}")
        except (kernel_factory.FactoryUnavailable, SandboxUnavailable) as error:
            self.factory, self.state, self.warm = None, f"cold ({error})", False  # no retry on every task
            return
        os.environ.update(self.factory.environment())
        self.state = "warm"

    def stop(self) -> None:
        if self.factory is not None:
            self.factory.stop()


def worker_main(root: Path, snapshot: Path, scratch: Path, parent: int, warm: bool = True) -> int:
    """A worker process: read tasks from stdin, answer each with a pickled ``Outcome`` on stdout.

    The protocol keeps private copies of stdin and stdout (not inherited by kernels); fd 1 then
    joins fd 2 in the worker's log file, so that nbgrader's log and anything a kernel prints can
    neither corrupt the protocol nor scribble over the parent's progress bar. One task at a
    time: the parent always knows which submission a worker was grading if it dies.
    """
    exit_with_parent(parent)
    tasks, answers = os.fdopen(os.dup(0), "rb"), os.fdopen(os.dup(1), "wb")
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(2, 1)
    app, db_url = init_worker(root, snapshot, scratch)
    kernels = WarmKernels(Path(app.coursedir.root) / app.coursedir.autograded_directory, scratch, warm)
    pickle.dump(("ready", kernels.state), answers)
    answers.flush()
    while True:
        try:
            task = pickle.load(tasks)
        except EOFError:
            kernels.stop()
            return 0
        try:
            kernels.ensure()
            outcome = grade_task(app, db_url, task)
        except Exception as error:  # noqa: BLE001 -- report it as this submission's failure, keep serving
            outcome = Outcome(task, ok=False, seconds=0.0, notebooks=0, recorded=None,
                              error=f"{type(error).__name__}: {error}", log=traceback.format_exc())
        pickle.dump(outcome, answers)
        answers.flush()


def log_records(log: str) -> list[tuple[str, str]]:
    """(level, message) of each record of a log captured as ``[LEVEL] message`` (messages may span lines)."""
    records: list[tuple[str, str]] = []
    for line in log.splitlines():
        level, _, message = line.partition("] ")
        if line.startswith("[") and level[1:].isupper() and " " not in level:
            records.append((level[1:], message))
        elif records:
            records[-1] = (records[-1][0], records[-1][1] + "\n" + line)
    return records


def summarize_error(result: dict[str, Any]) -> str:
    """The most telling line of a failed nbgrader run: its first error, or the exception a traceback ends with."""
    for level, message in log_records(result.get("log", "")):
        if level == "ERROR" and not message.startswith(("There was an error processing", "Please see")):
            lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
            return lines[-1] if lines[0].startswith("Traceback") else lines[0]
    lines = [line for line in result.get("error", "").strip().splitlines() if line.strip()]
    return lines[-1] if lines else "nbgrader failed without a message"


def read_recorded(db_url: str, task: Task) -> Recorded | None:
    """What autograding wrote for ``task`` in a worker's gradebook; None if it wrote no submission."""
    with Gradebook(db_url) as gradebook:
        try:
            submission = gradebook.find_submission(task.assignment, task.student)
        except MissingEntry:
            return None
        grades, comments, penalties = [], [], []
        for notebook in submission.notebooks:
            penalties.append((notebook.name, notebook.late_submission_penalty))
            for grade in notebook.grades:
                grades.append(CellResult(notebook.name, grade.name, grade.auto_score, grade.needs_manual_grade))
            for comment in notebook.comments:
                comments.append(CellResult(notebook.name, comment.name, auto_comment=comment.auto_comment))
        return Recorded(submission.timestamp, tuple(penalties), tuple(grades), tuple(comments))


# --------------------------------------------------------------------------- the single writer


class _FlushOnCommit:
    """A session stand-in whose ``commit`` only flushes.

    nbgrader's ``update_or_create_*`` methods commit after each change; behind this proxy their
    changes stay in one open transaction that ``merge`` commits (or rolls back) as a whole.
    """

    def __init__(self, session: Any) -> None:
        self._session = session

    def commit(self) -> None:
        self._session.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


def merge(gradebook: Gradebook, task: Task, recorded: Recorded) -> None:
    """Write one submission's autograde results into the course gradebook, all or nothing.

    Student and submission are created with the same nbgrader calls ``nbgrader autograde``
    makes; then exactly the columns autograding sets are copied. Manual scores, manual comments,
    extra credit and flags already in the gradebook are left alone, as serial autograde does.
    """
    session = gradebook.db
    gradebook.db = _FlushOnCommit(session)
    try:
        with warnings.catch_warnings():
            # nbgrader's add_submission builds its rows under autoflush and SQLAlchemy warns
            # ("not in session, add operation ... will not proceed"); serial autograde does the same.
            warnings.simplefilter("ignore", SAWarning)
            _copy_results(gradebook, task, recorded)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        gradebook.db = session


def _copy_results(gradebook: Gradebook, task: Task, recorded: Recorded) -> None:
    """Create student and submission as nbgrader does, then set the columns autograding sets."""
    gradebook.update_or_create_student(task.student)
    submission = gradebook.update_or_create_submission(task.assignment, task.student)
    submission.timestamp = recorded.timestamp
    notebooks = {nb.name: nb for nb in submission.notebooks}
    for name, penalty in recorded.late_penalties:
        notebooks[name].late_submission_penalty = penalty
    grades = {(nb.name, g.name): g for nb in submission.notebooks for g in nb.grades}
    for cell in recorded.grades:
        grade = grades[(cell.notebook, cell.cell)]
        grade.auto_score = cell.auto_score
        grade.needs_manual_grade = cell.needs_manual_grade
    comments = {(nb.name, c.name): c for nb in submission.notebooks for c in nb.comments}
    for cell in recorded.comments:
        comments[(cell.notebook, cell.cell)].auto_comment = cell.auto_comment


# --------------------------------------------------------------------------- running the workers


class WorkerDied(RuntimeError):
    """A worker process exited: the message carries the end of its log."""


@dataclass
class WorkerProcess:
    """The parent's handle on one worker: its process, pipes, log, and the task it is grading."""

    process: subprocess.Popen[bytes]
    log: Path
    task: Task | None = None

    def send(self, task: Task) -> None:
        """Hand the worker a task; ``WorkerDied`` if it is gone (it died while idle)."""
        assert self.process.stdin is not None
        try:
            pickle.dump(task, self.process.stdin)
            self.process.stdin.flush()
        except OSError as error:  # BrokenPipeError
            code = self.process.wait()
            raise WorkerDied(f"worker process exited with code {code}\n{log_tail(self.log)}") from error
        self.task = task

    def receive(self) -> Any:
        """The worker's next answer; ``WorkerDied`` if it exited instead of answering."""
        assert self.process.stdout is not None
        try:
            return pickle.load(self.process.stdout)
        except (EOFError, pickle.UnpicklingError) as error:
            code = self.process.wait()
            raise WorkerDied(f"worker process exited with code {code}\n{log_tail(self.log)}") from error

    def stop(self, kill: bool = False) -> None:
        """Close its task pipe (an idle worker then exits), or kill it outright; ``wait`` reaps it."""
        if kill:
            self.process.kill()
        with suppress(OSError):
            if self.process.stdin:
                self.process.stdin.close()

    def wait(self) -> None:
        self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()


def log_tail(path: Path, lines: int = 20) -> str:
    """The last lines of a worker's log file, for error messages."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def worker_env() -> dict[str, str]:
    """The environment workers (and so their kernels) get: this venv's scripts first, one BLAS thread."""
    # nbgrader runs kernels and `alembic` by name, as course.pipeline also arranges.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return {**os.environ, **SINGLE_THREAD_ENV, "PATH": path}


def start_worker(root: Path, snapshot: Path, scratch: Path, index: int, warm: bool) -> WorkerProcess:
    """Start a worker process (in its own session: Ctrl-C in the terminal reaches only the parent)."""
    log = scratch / f"worker-{index}.log"
    command = [sys.executable, "-m", "course.parallel_grading", "--worker", "--parent", str(os.getpid()),
               "--root", str(root), "--snapshot", str(snapshot), "--scratch", str(scratch)]
    if not warm:
        command.append("--cold-kernels")
    with open(log, "wb") as stderr:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                                   env=worker_env(), cwd=COURSE_ROOT, start_new_session=True)
    return WorkerProcess(process, log)


def wait_ready(worker: WorkerProcess, report: Report) -> WorkerProcess:
    """Wait until nbgrader is loaded and configured in ``worker``; a worker that cannot start stops the run."""
    try:
        _, kernels = worker.receive()
        report.kernels.add(kernels)
    except WorkerDied as error:
        raise GradingError(f"a grading worker could not start: {error}") from error
    return worker


class Interrupts:
    """Counts Ctrl-C presses instead of raising KeyboardInterrupt wherever the parent happens to be.

    A KeyboardInterrupt in the middle of a merge or of collecting results would drop submissions
    that workers had already graded; the grading loop checks this counter at safe points instead.
    """

    def __init__(self) -> None:
        self.count = 0
        self._previous: Any = None

    def _handle(self, signum: int, frame: Any) -> None:
        self.count += 1

    def __enter__(self) -> Interrupts:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def died(task: Task, error: WorkerDied) -> Outcome:
    """A failed outcome for the task a worker was grading when its process died."""
    first = str(error).splitlines()[0]
    return Outcome(task, ok=False, seconds=0.0, notebooks=0, recorded=None, error=first, log=str(error))


def run_workers(
    root: Path, snapshot: Path, scratch: Path, tasks: list[Task], workers: int, report: Report, warm: bool = True
) -> Iterator[Outcome]:
    """Grade ``tasks`` on ``workers`` processes, one task per worker at a time; yield outcomes as they come.

    On Ctrl-C no new task is handed out, the ones in progress finish and are yielded, and
    ``report.interrupted`` is set; a second Ctrl-C kills the workers. A worker that dies costs
    only the submission it was grading (reported as failed); a fresh worker takes its place.
    """
    queue = list(reversed(tasks))
    idle: list[WorkerProcess] = []
    busy: dict[int, WorkerProcess] = {}
    selector = selectors.DefaultSelector()
    numbers = count()

    def add_worker() -> WorkerProcess:
        idle.append(start_worker(root, snapshot, scratch, next(numbers), warm))
        return idle[-1]

    with Interrupts() as interrupts:
        try:
            for worker in [add_worker() for _ in range(workers)]:  # they all load nbgrader at once
                wait_ready(worker, report)
            while queue or busy:
                if interrupts.count and not report.interrupted:
                    report.interrupted = True
                    queue.clear()
                    print("\ninterrupted: finishing the submissions in progress (Ctrl-C again to abort)",
                          file=sys.stderr, flush=True)
                if interrupts.count > 1:
                    raise KeyboardInterrupt
                while queue and idle:
                    worker = idle.pop()
                    try:
                        worker.send(queue[-1])
                    except WorkerDied:  # died while idle; the task never started: a fresh worker takes it
                        wait_ready(add_worker(), report)
                        continue
                    queue.pop()
                    assert worker.process.stdout is not None
                    busy[worker.process.stdout.fileno()] = worker
                    selector.register(worker.process.stdout, selectors.EVENT_READ)
                for key, _ in selector.select(timeout=0.2):
                    worker = busy.pop(key.fd)
                    selector.unregister(key.fileobj)
                    task = worker.task
                    assert task is not None
                    try:
                        outcome = worker.receive()
                    except WorkerDied as error:
                        yield died(task, error)
                        if queue:
                            wait_ready(add_worker(), report)
                        continue
                    worker.task = None
                    idle.append(worker)
                    yield outcome
        finally:
            selector.close()
            for worker in idle:
                worker.stop()
            for worker in busy.values():  # only after an error or a second Ctrl-C
                worker.stop(kill=True)
            for worker in [*idle, *busy.values()]:
                worker.wait()


def grade(
    root: Path,
    assignments: list[str] | None = None,
    workers: int | None = None,
    students: list[str] | None = None,
    progress: bool = True,
    warm: bool = True,
) -> Report:
    """Autograde every submission of ``assignments`` (default: all released) into the course gradebook."""
    root = root.resolve()
    db_url, tasks = plan(root, assignments, students)
    workers = max(1, min(workers or default_workers(), len(tasks)))
    report = Report(workers=workers)
    started = time.perf_counter()
    single = len({t.assignment for t in tasks}) == 1
    with tempfile.TemporaryDirectory(prefix="parallel-grading-") as scratch_dir:
        scratch = Path(scratch_dir)
        snapshot = scratch / "snapshot.db"
        snapshot_gradebook(sqlite_path(db_url), snapshot)
        bar = tqdm(total=len(tasks), unit="student" if single else "submission", desc="autograde",
                   disable=not progress, file=sys.stderr, dynamic_ncols=True)
        with bar, Gradebook(db_url) as gradebook:
            for outcome in run_workers(root, snapshot, scratch, tasks, workers, report, warm):
                if outcome.recorded is not None:
                    try:
                        merge(gradebook, outcome.task, outcome.recorded)
                    except SQLAlchemyError as error:
                        raise GradingError(
                            f"could not write {outcome.task.student}/{outcome.task.assignment} to the gradebook "
                            f"({error}); the {len(report.outcomes)} submissions before it are saved: run again"
                        ) from error
                report.outcomes.append(outcome)
                bar.update(1)
                if not outcome.ok:
                    bar.set_postfix(failed=len(report.failures))
                    task = outcome.task
                    bar.write(f"FAILED {task.student}/{task.assignment}: {outcome.error}", file=sys.stderr)
    report.seconds = time.perf_counter() - started
    return report


# --------------------------------------------------------------------------- proof helpers

EntryKey = tuple[str, str, str, str, str]


def gradebook_entries(db_url: str) -> dict[EntryKey, tuple[Any, ...]]:
    """Every autograding result in a gradebook, keyed by (student, assignment, notebook, kind, cell).

    Kinds: ``submission`` (timestamp), ``notebook`` (score, max score, late penalty), ``grade``
    (auto and manual score, max score, needs manual grade) and ``comment`` (auto and manual
    comment). Database ids are left out: they are random per run. Raises ``ValueError`` if a key
    occurs twice, i.e. an entry was doubled; compare two runs' dicts to find lost entries.
    """
    entries: dict[EntryKey, tuple[Any, ...]] = {}

    def add(key: EntryKey, value: tuple[Any, ...]) -> None:
        if key in entries:
            raise ValueError(f"doubled gradebook entry: {key}")
        entries[key] = value

    with Gradebook(db_url) as gradebook:
        for assignment in gradebook.assignments:
            for sub in assignment.submissions:
                student = sub.student.id
                add((student, assignment.name, "", "submission", ""), (sub.timestamp,))
                for nb in sub.notebooks:
                    add((student, assignment.name, nb.name, "notebook", ""),
                        (nb.score, nb.max_score, nb.late_submission_penalty))
                    for g in nb.grades:
                        add((student, assignment.name, nb.name, "grade", g.name),
                            (g.auto_score, g.manual_score, g.max_score, g.needs_manual_grade))
                    for c in nb.comments:
                        add((student, assignment.name, nb.name, "comment", c.name), (c.auto_comment, c.manual_comment))
    return entries


def autograded_outline(root: Path) -> dict[str, list[tuple[str, tuple[str, ...], tuple[str, ...]]]]:
    """Per autograded notebook and cell: grade id (or index), its outputs in order, its streams.

    What the feedback HTML is built from, minus what legitimately differs between two runs of
    the same notebook: timings, kernel temp-file paths in tracebacks, and how printed text falls
    into stream chunks (a progress bar on stderr interleaves with stdout as the clock decides),
    so streams count only by name. Errors are named.
    """
    outline = {}
    for path in sorted((root / "autograded").glob("*/*/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        cells = []
        for index, cell in enumerate(nb.cells):
            name = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", str(index))
            outputs = cell.get("outputs", [])
            kinds = tuple(o.get("ename") or o["output_type"] for o in outputs if o["output_type"] != "stream")
            streams = tuple(sorted({o["name"] for o in outputs if o["output_type"] == "stream"}))
            cells.append((name, kinds, streams))
        outline[str(path.relative_to(root / "autograded"))] = cells
    return outline


# --------------------------------------------------------------------------- reporting


def summary_rows(report: Report, scores: list[NotebookScore]) -> list[tuple[str, ...]]:
    """Per assignment: submissions graded and failed, notebooks, mean score, mean time per student."""
    rows = []
    graded = {(o.task.student, o.task.assignment) for o in report.outcomes}
    for assignment in sorted({o.task.assignment for o in report.outcomes}):
        mine = [o for o in report.outcomes if o.task.assignment == assignment]
        totals: dict[str, tuple[float, float]] = {}
        for s in scores:
            if s.assignment == assignment and (s.student, assignment) in graded:
                score, maximum = totals.get(s.student, (0.0, 0.0))
                totals[s.student] = (score + s.score, maximum + s.max_score)
        mean = sum(t[0] for t in totals.values()) / len(totals) if totals else 0.0
        maximum = max((t[1] for t in totals.values()), default=0.0)
        rows.append((
            assignment,
            str(len(mine)),
            str(sum(o.ok for o in mine)),
            str(sum(not o.ok for o in mine)),
            str(sum(o.notebooks for o in mine)),
            f"{mean:.1f} / {maximum:g}",
            f"{sum(o.seconds for o in mine) / len(mine):.1f} s",
        ))
    return rows


def format_summary(report: Report, scores: list[NotebookScore]) -> str:
    """The end-of-run table, the throughput line, and every failure with nbgrader's reason."""
    header = ("assignment", "submissions", "graded", "failed", "notebooks", "mean score", "time/student")
    rows = summary_rows(report, scores)
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows)]
    render = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    lines = [render(header), render(tuple("-" * w for w in widths)), *map(render, rows)]
    rate = report.notebooks / report.seconds if report.seconds else 0.0
    lines.append(
        f"{len(report.outcomes)} submissions, {report.notebooks} notebooks in {report.seconds:.1f} s "
        f"with {report.workers} workers ({rate:.2f} notebooks/s), {', '.join(sorted(report.kernels))} kernels"
    )
    if report.interrupted:
        lines.append("INTERRUPTED: the submissions above are graded and saved; run again to grade the rest")
    return "\n".join(lines + failure_lines(report))


def failure_lines(report: Report) -> list[str]:
    """One line per submission nbgrader failed to grade (who, which assignment, nbgrader's reason), and how to retry."""
    failures = sorted(report.failures, key=lambda o: o.task)
    lines = [f"FAILED {o.task.student}/{o.task.assignment}: {o.error}" for o in failures]
    for assignment in sorted({o.task.assignment for o in failures}):
        students = " ".join(f"--student {o.task.student}" for o in failures if o.task.assignment == assignment)
        lines.append(f"  to grade them again: python -m course.parallel_grading {assignment} {students}")
    return lines


def failure_logs(report: Report, tail: int = 25) -> str:
    """The last lines of nbgrader's log for every failed submission (the traceback is there)."""
    parts = []
    for outcome in sorted(report.failures, key=lambda o: o.task):
        lines = outcome.log.strip().splitlines()[-tail:]
        parts.append(f"--- {outcome.task.student}/{outcome.task.assignment} ---\n" + "\n".join(lines))
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", help="assignments to grade (default: every one in the gradebook)")
    parser.add_argument("--workers", type=int, default=None, help="parallel workers (default: the number of cores)")
    parser.add_argument("--root", type=Path, default=COURSE_ROOT, help="course directory (default: %(default)s)")
    parser.add_argument("--student", action="append", dest="students", help="grade only this student (repeatable)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--cold-kernels", action="store_true",
                        help="start every kernel in a fresh sandbox, as serial nbgrader does (slower)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--snapshot", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--scratch", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--parent", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker_main(args.root, args.snapshot, args.scratch, args.parent, warm=not args.cold_kernels)
    try:
        report = grade(args.root, args.assignments or None, args.workers, args.students, not args.no_progress,
                       warm=not args.cold_kernels)
    except GradingError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("aborted: workers stopped; submissions merged so far are kept, run again to finish", file=sys.stderr)
        return 130
    scores = read_scores(args.root.resolve(), sorted({o.task.assignment for o in report.outcomes}))
    if report.failures:
        print(failure_logs(report), file=sys.stderr)
    print(format_summary(report, scores))
    return 130 if report.interrupted else (1 if report.failures else 0)


if __name__ == "__main__":
    # Run the importable module, not this __main__ copy: what crosses the worker pipes is pickled
    # as course.parallel_grading.Task/Outcome, which both ends can import.
    from course import parallel_grading

    sys.exit(parallel_grading.main())
