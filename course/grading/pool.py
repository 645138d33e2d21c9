"""The worker pool: submissions graded on every core, a worker that dies costs nothing.

A ``concurrent.futures.ProcessPoolExecutor`` of forked processes (``course.grading.worker``)
grades the tasks, at most one per worker in flight, so that an interrupt leaves nothing queued
behind the submissions in progress. If a worker dies (killed, out of memory) the library reports
it as ``BrokenProcessPool`` for every submission in flight; since merging is idempotent, those
submissions are simply graded again in a fresh pool. One that is in flight when two pools break
is reported as failed rather than tried for ever.

The workers are forked, not spawned: they start with nbgrader, nbconvert and SQLAlchemy already
imported by this process, instead of importing them again each (0.7 s and a core per worker,
before the first submission). A worker never touches what else it inherits from this process
(the gradebook's connection, the progress bar): it opens only its own gradebook copy, ends with
``os._exit`` as every multiprocessing child does, and restores Python's Ctrl-C handler.

Ctrl-C stops handing out work, lets the submissions in progress finish (they are yielded and
merged), and marks the report interrupted; a second Ctrl-C stops the workers at once.
"""

import multiprocessing
import signal
import sys
import threading
from collections import Counter, deque
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from course.grading import worker
from course.grading.reporting import Report
from course.grading.tasks import GradingError, Task
from course.grading.worker import Outcome, Settings, StartupFailed

ATTEMPTS = 2  # times a submission is handed to a worker before a dying worker counts as its failure


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

    def __enter__(self) -> "Interrupts":
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def failed(task: Task, error: str) -> Outcome:
    return Outcome(task, ok=False, seconds=0.0, recorded=None, error=error, log=error)


def run(tasks: list[Task], workers: int, settings: Settings, report: Report) -> Iterator[Outcome]:
    """Grade ``tasks`` on ``workers`` processes; yield each outcome as it arrives."""
    queue = deque(tasks)
    attempts: Counter[Task] = Counter()
    with Interrupts() as interrupts:
        while queue:
            broken = False
            pool = ProcessPoolExecutor(workers, multiprocessing.get_context("fork"), worker.initialize, (settings,))
            running: dict[Future[Outcome], Task] = {}
            try:
                while running or (queue and not broken):
                    if interrupts.count and not report.interrupted:
                        report.interrupted = True
                        queue.clear()
                        print(
                            "\ninterrupted: finishing the submissions in progress (Ctrl-C again to abort)",
                            file=sys.stderr,
                            flush=True,
                        )
                    if interrupts.count > 1:
                        raise KeyboardInterrupt
                    while queue and not broken and len(running) < workers:
                        try:
                            future = pool.submit(worker.grade, queue[0])
                        except BrokenProcessPool:  # a worker died since the last wait: a fresh pool takes it
                            broken = True
                            break
                        task = queue.popleft()
                        attempts[task] += 1
                        running[future] = task
                    done, _ = wait(running, timeout=0.2, return_when=FIRST_COMPLETED)
                    for future in done:
                        task = running.pop(future)
                        try:
                            outcome = future.result()
                        except BrokenProcessPool:
                            broken = True
                            if attempts[task] < ATTEMPTS:
                                queue.appendleft(task)
                                report.regraded.append(task)
                            else:
                                yield failed(task, f"a grading worker died while grading it, {ATTEMPTS} times")
                            continue
                        except StartupFailed as error:
                            raise GradingError(f"a grading worker could not start: {error}") from error
                        except Exception as error:  # noqa: BLE001 -- one submission's problem, not the run's
                            outcome = failed(task, f"{type(error).__name__}: {error}")
                        yield outcome
                if broken:
                    report.worker_deaths += 1
            except BaseException:
                for process in multiprocessing.active_children():  # only the pool's: grading starts no others
                    process.kill()
                raise
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
