"""A PostgreSQL gradebook, as on a class server: a real server started by the test (Debian's
PostgreSQL, a Unix socket, an unprivileged account), the course pointed at it by
BACKPROP_GRADEBOOK_URL. The main job, parallel grading, serial `nbgrader autograde`, the
formgrader and `nbgrader export` all use it, and nothing is lost or doubled."""

import csv
import json
import urllib.request
from pathlib import Path

import pytest

from course.grading import pipeline
from course.grading.parallel import grade
from course.grading.scores import gradebook_url, read_scores
from course.grading.tasks import GradingError, plan
from tests.support import postgres
from tests.support.browser import make_recipe, start_jupyter
from tests.support.course import copy_course, partly_solved, submit
from tests.support.gradebooks import gradebook_entries

pytestmark = [
    pytest.mark.slow,  # a database server, nbgrader and real grading kernels
    pytest.mark.skipif(postgres.missing_reason() is not None, reason=str(postgres.missing_reason())),
]

ASSIGNMENT = "04_outer_product"  # the quickest to release and grade
STUDENTS = ("reference", "blank", "half")


@pytest.fixture(scope="module")
def server():
    with postgres.postgres_server() as running:
        yield running


def course_on(server: postgres.Server, folder: Path, database: str, monkeypatch) -> Path:
    """A copy of the course whose gradebook is ``database`` on ``server``, with a half-done student."""
    root = copy_course(folder, [ASSIGNMENT])
    monkeypatch.setenv("BACKPROP_GRADEBOOK_URL", server.database(database))
    pipeline.generate_release(root, ASSIGNMENT)
    pipeline.stage_example_submissions(root, ASSIGNMENT)
    notebooks = sorted((root / "source" / ASSIGNMENT).glob("*.ipynb"))
    half = {p.name: partly_solved(p, root / "release" / ASSIGNMENT / p.name, lambda ids: ids[::2]) for p in notebooks}
    submit(root, "half", ASSIGNMENT, half)
    return root


@pytest.fixture(scope="module")
def graded(server, tmp_path_factory):
    """The same class graded into two databases of the server: in parallel, and by plain nbgrader."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        serial = course_on(server, tmp_path_factory.mktemp("serial"), "serial", monkeypatch)
        pipeline.run_nbgrader(serial, "autograde", ASSIGNMENT, "--force", "--create")
        serial_url = gradebook_url(serial)
    monkeypatch = pytest.MonkeyPatch()
    root = course_on(server, tmp_path_factory.mktemp("parallel"), "parallel", monkeypatch)
    report = grade(root, [ASSIGNMENT], workers=2, progress=False)
    yield root, report, serial_url, monkeypatch
    monkeypatch.undo()


def test_the_course_grades_into_the_server_and_nowhere_else(server, graded):
    root, report, _, _ = graded
    assert not report.failures
    assert gradebook_url(root).startswith("postgresql+psycopg://")
    assert not (root / "gradebook.db").exists(), "an SQLite gradebook was made beside the server's"
    assert server.psql("parallel", "SELECT count(DISTINCT student_id) FROM submitted_assignment") == "3"
    scores = {s.student: s.score for s in read_scores(root, [ASSIGNMENT])}
    full = max(s.max_score for s in read_scores(root, [ASSIGNMENT]))
    assert scores["reference"] == full and scores["blank"] == 0 and 0 < scores["half"] < full


def test_parallel_grading_gives_what_serial_nbgrader_gives_on_the_server(graded):
    root, _, serial_url, _ = graded
    parallel, serial = gradebook_entries(gradebook_url(root)), gradebook_entries(serial_url)
    assert len([k for k in serial if k[3] == "grade"]) >= 3 * 4
    assert parallel == serial  # every student, notebook and cell: scores, comments, timestamps


def test_grading_again_overwrites_and_doubles_nothing(graded):
    root, _, _, _ = graded
    before = gradebook_entries(gradebook_url(root))
    report = grade(root, [ASSIGNMENT], workers=2, progress=False, students=["half"])
    assert len(report.outcomes) == 1 and not report.failures
    assert gradebook_entries(gradebook_url(root)) == before  # raises on a doubled entry


def test_nbgrader_export_reads_the_server(graded):
    root, _, _, _ = graded
    pipeline.run_nbgrader(root, "export", "--to", str(root / "grades.csv"))
    with (root / "grades.csv").open() as exported:
        rows = {row["student_id"]: float(row["score"]) for row in csv.DictReader(exported)}
    scores = {s.student: s.score for s in read_scores(root, [ASSIGNMENT])}
    assert rows == scores and set(rows) == set(STUDENTS)


def test_the_formgrader_lists_the_servers_submissions(graded, tmp_path):
    root, _, _, _ = graded
    (root / ".venv").symlink_to(Path(pipeline.__file__).resolve().parents[2] / ".venv")
    server = start_jupyter(make_recipe("formgrader"), root, tmp_path / "jupyter", tmp_path / "formgrader.log")
    try:
        headers = {"Authorization": f"token {server.token}"}
        request = urllib.request.Request(f"{server.base_url}/formgrader/api/assignments", headers=headers)
        with urllib.request.urlopen(request, timeout=60) as response:
            assignments = {a["name"]: a for a in json.load(response)}
    finally:
        server.stop()
    assert assignments[ASSIGNMENT]["num_submissions"] == len(STUDENTS), server.log_tail()


def test_a_server_that_cannot_be_reached_or_an_empty_database_is_a_clear_error(server, tmp_path, monkeypatch):
    root = copy_course(tmp_path, [ASSIGNMENT])
    monkeypatch.setenv("BACKPROP_GRADEBOOK_URL", server.url("no_such_database"))
    with pytest.raises(GradingError, match='cannot open the gradebook .*database "no_such_database" does not exist'):
        plan(root, None)
    monkeypatch.setenv("BACKPROP_GRADEBOOK_URL", server.database("empty"))
    with pytest.raises(GradingError, match="is empty: run `nbgrader generate_assignment` first"):
        plan(root, None)
    assert server.psql("empty", "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == "0"
