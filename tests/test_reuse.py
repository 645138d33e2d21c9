"""What a grading worker keeps across notebooks (course.grading.reuse) changes no verdict of nbgrader's.

Gradebooks graded with it equal serial nbgrader's in tests/test_parallel_grading.py; here, the
metadata check alone, on metadata a student may have broken.
"""

import json
import os
import sys
from pathlib import Path

import jsonschema
import nbgrader.api
import nbgrader.nbgraderformat
import pytest
from nbformat.v4 import new_code_cell
from nbgrader.api import Gradebook
from nbgrader.nbgraderformat.v3 import MetadataValidatorV3
from sqlalchemy import text

from course.grading import reuse

SCHEMA = json.loads((Path(nbgrader.nbgraderformat.__file__).parent / "v3.json").read_text())
GOOD = {"schema_version": 3, "grade": True, "solution": False, "locked": True, "grade_id": "t1", "points": 2}
BROKEN = [
    {**GOOD, "points": "two"},
    {**GOOD, "grade": "yes"},
    {key: value for key, value in GOOD.items() if key != "locked"},
    {**GOOD, "grade_id": 7, "points": -1},
]


def message(check, instance) -> str | None:
    try:
        check(instance, SCHEMA)
    except jsonschema.ValidationError as error:
        return error.message
    return None


@pytest.mark.parametrize("metadata", BROKEN, ids=range(len(BROKEN)))
def test_broken_metadata_gets_jsonschemas_own_error(metadata):
    expected = message(jsonschema.validate, metadata)
    assert expected is not None
    assert message(reuse.validate, metadata) == expected


def test_valid_metadata_passes_every_time():
    assert message(reuse.validate, GOOD) is None
    assert message(reuse.validate, GOOD) is None


def test_nbgraders_validator_uses_it_once_installed_and_still_refuses_broken_cells(monkeypatch):
    monkeypatch.setattr(reuse.common, "jsonschema", reuse.common.jsonschema)  # undone after the test
    monkeypatch.setattr(reuse.api, "create_engine", reuse.api.create_engine)
    reuse.install()
    assert reuse.common.jsonschema.validate is reuse.validate
    validator = MetadataValidatorV3()
    validator.validate_cell(new_code_cell(metadata={"nbgrader": GOOD}))
    with pytest.raises(jsonschema.ValidationError, match="'two' is not of type 'number'"):
        validator.validate_cell(new_code_cell(metadata={"nbgrader": BROKEN[0]}))


def test_a_workers_scratch_gradebook_commits_without_syncing_and_the_course_gradebook_still_syncs(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("PATH", os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))  # alembic
    monkeypatch.setattr(nbgrader.api, "create_engine", nbgrader.api.create_engine)  # undone after the test
    reuse.share_gradebook_engines()
    scratch, course = f"sqlite:///{tmp_path / 'worker.db'}", f"sqlite:///{tmp_path / 'gradebook.db'}"
    reuse.scratch_gradebook(scratch)
    reuse.scratch_gradebook(scratch)  # idempotent: one listener
    for url, expected in ((scratch, (0, "memory")), (course, (2, "delete"))):  # 2: FULL, SQLite's default
        with Gradebook(url) as gradebook:  # nbgrader's own engine, as the converters open it
            gradebook.add_student("ada")
            pragmas = tuple(
                gradebook.db.execute(text(f"PRAGMA {name}")).scalar() for name in ("synchronous", "journal_mode")
            )
        assert pragmas == expected, url
        with Gradebook(url) as gradebook:  # and what was committed is there
            assert [student.id for student in gradebook.students] == ["ada"]
