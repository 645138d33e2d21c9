"""Everything grading wrote, in a form two runs can be compared by: the proof that parallel
grading gives what serial ``nbgrader autograde`` gives, nothing lost and nothing doubled."""

from pathlib import Path
from typing import Any

import nbformat
from nbgrader.api import Gradebook

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
                    add(
                        (student, assignment.name, nb.name, "notebook", ""),
                        (nb.score, nb.max_score, nb.late_submission_penalty),
                    )
                    for g in nb.grades:
                        add(
                            (student, assignment.name, nb.name, "grade", g.name),
                            (g.auto_score, g.manual_score, g.max_score, g.needs_manual_grade),
                        )
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
