"""The instructor's main job, end to end in a temporary copy of the course."""

from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from course.grading import pipeline
from course.grading.demos import NOT_RUN_NOTE, is_demo
from course.grading.scores import gradebook_url, read_scores
from tests.support.course import copy_course
from tests.support.nbrun import REPO, source_notebooks

pytestmark = pytest.mark.slow  # real kernels, sandboxes, nbgrader runs or a browser

NOTEBOOKS = {(p.parent.name, p.stem) for p in source_notebooks()}


def test_every_notebook_of_both_examples_is_graded(graded_course):
    root, _ = graded_course
    scores = read_scores(root, pipeline.list_assignments(root))
    graded = {(s.student, s.assignment, s.notebook) for s in scores}
    expected = {(student, a, n) for student in pipeline.EXAMPLE_SUBMISSIONS for a, n in NOTEBOOKS}
    assert graded == expected
    assert len(scores) == len(graded), "a notebook was recorded twice in the gradebook"


def test_reference_gets_full_marks_and_blank_gets_zero(graded_course):
    root, _ = graded_course
    for score in read_scores(root, pipeline.list_assignments(root)):
        assert score.max_score > 0, f"{score.notebook} has no graded points"
        if score.student == "reference":
            assert score.score == score.max_score, f"reference lost points in {score.notebook}: {score}"
        else:
            assert score.score == 0, f"the blank release earned points in {score.notebook}: {score}"


def test_every_grade_cell_of_the_reference_passes(graded_course):
    """Full marks cell by cell, read from the gradebook the formgrader and `nbgrader export` use."""
    root, _ = graded_course
    checked = 0
    with Gradebook(gradebook_url(root)) as gradebook:
        for assignment in pipeline.list_assignments(root):
            for submission in gradebook.find_assignment(assignment).submissions:
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        expected = grade.max_score if submission.student.id == "reference" else 0
                        where = f"{submission.student.id}/{notebook.name}/{grade.name}"
                        assert grade.auto_score == expected, f"{where}: {grade.auto_score} of {grade.max_score}"
                        checked += 1
    assert checked > 0


def test_demonstrations_were_skipped_and_say_so(graded_course):
    """Full marks above were earned with every demo cell skipped; each shows the note and nothing else,
    and every other code cell of the reference ran."""
    root, _ = graded_course
    skipped = 0
    for assignment, name in NOTEBOOKS:
        nb = nbformat.read(root / "autograded" / "reference" / assignment / f"{name}.ipynb", as_version=4)
        for cell in (c for c in nb.cells if c.cell_type == "code"):
            if is_demo(cell):
                assert [o.get("text") for o in cell.outputs] == [NOT_RUN_NOTE], f"{name} {cell.get('id')}"
                skipped += 1
            else:
                assert cell.execution_count is not None, f"{name} {cell.get('id')} was not run"
    assert skipped >= len(NOTEBOOKS), "every notebook has demonstrations to skip"


def test_score_table_lists_each_student_and_total(graded_course):
    _, table = graded_course
    lines = table.splitlines()
    assert lines[0].split() == ["student", "assignment", "notebook", "score"]
    for student in pipeline.EXAMPLE_SUBMISSIONS:
        assert any(line.split()[:2] == [student, "TOTAL"] for line in lines), table


def test_rerunning_the_main_job_keeps_one_entry_per_notebook(graded_course):
    root, _ = graded_course
    assignment = "04_outer_product"  # the quickest to release and grade again
    pipeline.run(root, [assignment])
    scores = read_scores(root, [assignment])
    keys = [(s.student, s.notebook) for s in scores]
    assert len(keys) == len(set(keys)) == len(pipeline.EXAMPLE_SUBMISSIONS) * sum(a == assignment for a, _ in NOTEBOOKS)


def test_unknown_assignment_is_a_clear_error(graded_course):
    root, _ = graded_course
    with pytest.raises(pipeline.PipelineError, match="no such assignment in source/: 99_nope"):
        pipeline.run(root, ["99_nope"])


def test_folder_without_source_is_a_clear_error(tmp_path, capsys):
    assert pipeline.main(["--root", str(tmp_path)]) == 1
    assert "has no source/ folder" in capsys.readouterr().err


def test_a_broken_source_notebook_stops_with_nbgraders_message(tmp_path):
    root = copy_course(tmp_path, ["04_outer_product"])
    broken = sorted((root / "source").glob("*/*.ipynb"))[0]
    broken.write_text("{ this is not json", encoding="utf-8")
    with pytest.raises(pipeline.PipelineError, match="generate_assignment .* failed"):
        pipeline.run(root, [broken.parent.name])


def committed_files(root: Path) -> dict[str, bytes]:
    release = root / "release"
    return {
        str(p.relative_to(release)): p.read_bytes()
        for p in sorted(release.rglob("*"))
        if p.is_file() and ".ipynb_checkpoints" not in p.parts
    }


def test_the_regenerated_release_is_the_committed_one(graded_course):
    """release/ is current: regenerating it in a copy of the course gives exactly the committed files."""
    root, _ = graded_course
    fresh, committed = committed_files(root), committed_files(REPO)
    assert sorted(fresh) == sorted(committed), "release/ has missing or extra files: run `make release`"
    stale = [name for name in committed if committed[name] != fresh[name]]
    assert not stale, f"release/ is out of date for {stale}: run `make release` and commit release/"
