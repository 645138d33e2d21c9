"""Every source notebook keeps the course's conventions: nbgrader metadata, cleared outputs,
one Polish and one English version of every markdown cell."""

import ast
import re
from collections import Counter
from pathlib import Path

import nbformat
import pytest

from course.grading.demos import DEMO_TAG, is_demo
from tests.support.cellnames import borrowed_names, needed_cells
from tests.support.nbrun import nbgrader_meta, source_notebooks

NOTEBOOKS = source_notebooks()
ids = lambda p: p.parent.name  # noqa: E731

GRADE_ID = re.compile(r"^[a-z0-9_]+$")
DISPLAY_MATH = re.compile(r"\$\$(.+?)\$\$", re.DOTALL)
INLINE_MATH = re.compile(r"(?<!\$)\$(?!\$)(.+?)(?<!\$)\$(?!\$)")
CODE_SPAN = re.compile(r"`([^`]+)`")
POLISH_LETTERS = set("ąćęłńóśźżĄĆĘŁŃÓŚŹŻ")
POLISH_WORDS = {"i", "w", "z", "na", "do", "dla", "jest", "się", "to", "oraz", "zadanie", "czy", "nie"}


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def test_there_are_notebooks():
    assert NOTEBOOKS, "source/ holds no notebook"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_valid_nbformat_with_python_kernel(path):
    nb = read(path)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_outputs_are_cleared(path):
    dirty = [c.get("id") for c in read(path).cells if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"cells with stored outputs: {dirty}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_no_magics_or_shell_lines(path):
    """Code cells are plain Python, so tests can run them in-process and ruff can lint them."""
    for cell in read(path).cells:
        if cell.cell_type == "code":
            bad = [line for line in cell.source.splitlines() if line.lstrip().startswith(("%", "!"))]
            assert not bad, f"cell {cell.get('id')}: {bad}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_nbgrader_metadata_is_schema_3_and_complete(path):
    for cell in read(path).cells:
        meta = nbgrader_meta(cell)
        if not meta:
            continue
        where = f"cell {meta.get('grade_id', cell.get('id'))}"
        assert meta.get("schema_version") == 3, where
        assert {"grade", "solution", "locked", "grade_id"} <= set(meta), where
        assert GRADE_ID.match(meta["grade_id"]), f"{where}: grade_id must be lowercase a-z, 0-9, _"
        if meta["grade"]:
            assert cell.cell_type == "code" and not meta["solution"], f"{where}: a grade cell is a test cell"
            assert meta["locked"], f"{where}: grade cells must be locked"
            assert isinstance(meta.get("points"), int) and meta["points"] > 0, f"{where}: needs positive points"
            assert "### BEGIN HIDDEN TESTS" in cell.source, f"{where}: no hidden tests"
            visible = cell.source.split("### BEGIN HIDDEN TESTS")[0]
            assert "assert" in visible, f"{where}: no visible test before the hidden ones"
            assert_hidden_tests_only_record(cell.source, where)
        if meta["solution"]:
            assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source, where


def hidden_block(source: str) -> str:
    return source.split("### BEGIN HIDDEN TESTS", 1)[1].split("### END HIDDEN TESTS", 1)[0]


def assert_hidden_tests_only_record(source: str, where: str) -> None:
    """Hidden tests call the student's functions on unseen inputs and `record` the results; the
    verdict is reached outside the kernel (course/autograding.py). An assertion or an expected
    value computed in the kernel could be switched off or read by student code, so none is allowed."""
    hidden = hidden_block(source)
    calls = {
        node.func.id
        for node in ast.walk(ast.parse(hidden))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert "record" in calls, f"{where}: hidden tests must record() what the student's functions return"
    assert "assert" not in hidden, f"{where}: hidden tests must not assert in the kernel; record() values instead"
    assert "numerical_gradient" not in hidden, f"{where}: expected values are not computed in hidden tests"


def test_grade_ids_are_unique_across_the_course():
    all_ids = [nbgrader_meta(c)["grade_id"] for p in NOTEBOOKS for c in read(p).cells if nbgrader_meta(c)]
    repeated = [grade_id for grade_id, n in Counter(all_ids).items() if n > 1]
    assert not repeated, f"grade_ids used twice: {repeated}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_every_exercise_is_graded(path):
    """Each solution cell is followed by at least one grade cell before the next solution cell."""
    kinds = [
        "solution" if nbgrader_meta(c).get("solution") else "grade" if nbgrader_meta(c).get("grade") else None
        for c in read(path).cells
    ]
    sequence = [k for k in kinds if k]
    assert "solution" in sequence
    for here, after in zip(sequence, sequence[1:] + [None]):
        assert not (here == "solution" and after != "grade"), f"an exercise in {path.name} has no grade cell"


def counts(cell: nbformat.NotebookNode) -> bool:
    """A cell grading exists for: a grade cell or a solution cell."""
    return bool(nbgrader_meta(cell).get("grade") or nbgrader_meta(cell).get("solution"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_demonstration_cells_are_read_only_and_earn_nothing(path):
    """Grading skips them, so a student must not be able to move solution code into one."""
    for cell in read(path).cells:
        if DEMO_TAG in cell.get("metadata", {}).get("tags", []):
            assert is_demo(cell), f"cell {cell.get('id')} is tagged {DEMO_TAG!r} but is not a read-only code cell"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_exactly_the_cells_no_grade_cell_needs_are_demonstrations(path):
    """A code cell is tagged demo if and only if no grade or solution cell reads what it binds:
    untagged cells that only demonstrate would cost every grading run, tagged ones that are
    needed would fail every student."""
    cells = read(path).cells
    needed = needed_cells(cells, counts)
    code = {i for i, c in enumerate(cells) if c.cell_type == "code"}
    demo = {i for i in code if is_demo(cells[i])}
    assert not demo & needed, f"needed by a grade or solution cell: {[cells[i].get('id') for i in demo & needed]}"
    untagged = code - needed - demo
    assert not untagged, f"only demonstrate, tag them {DEMO_TAG!r}: {[cells[i].get('id') for i in sorted(untagged)]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_cells_run_when_grading_read_no_name_from_a_demonstration(path):
    """Every name a setup, solution or grade cell reads was last bound by a cell grading runs."""
    assert borrowed_names(read(path).cells, is_demo) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_the_name_check_sees_a_skipped_setup_cell(path):
    """The check above can fail: skip the setup cell too and the names it imports go missing."""
    cells = read(path).cells
    setup = next(c for c in cells if c.cell_type == "code")
    problems = borrowed_names(cells, lambda cell: cell is setup or is_demo(cell))
    assert any(f"only the skipped cell {setup.get('id')} binds" in p for p in problems)


def markdown_pairs(path: Path) -> list[tuple[nbformat.NotebookNode, nbformat.NotebookNode]]:
    cells = [c for c in read(path).cells if c.cell_type == "markdown"]
    langs = [c.metadata.get("lang") for c in cells]
    assert langs == ["pl", "en"] * (len(cells) // 2), (
        f"markdown cells must come as Polish/English pairs (metadata lang), found {langs}"
    )
    return list(zip(cells[::2], cells[1::2]))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_polish_and_english_cells_come_in_adjacent_pairs(path):
    cells = read(path).cells
    for i, cell in enumerate(cells):
        if cell.cell_type == "markdown" and cell.metadata.get("lang") == "pl":
            nxt = cells[i + 1] if i + 1 < len(cells) else None
            twin = nxt is not None and nxt.metadata.get("lang") == "en"
            assert twin, f"Polish cell {cell.get('id')} has no English twin after it"


def heading_levels(text: str) -> list[int]:
    return [len(line) - len(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_polish_and_english_cells_say_the_same_things(path):
    """The twins carry identical formulas, code spans and heading structure, and are in their language."""
    for pl, en in markdown_pairs(path):
        where = f"{path.name}: {pl.get('id')} / {en.get('id')}"
        assert DISPLAY_MATH.findall(pl.source) == DISPLAY_MATH.findall(en.source), f"{where}: display math differs"
        pl_inline = INLINE_MATH.findall(DISPLAY_MATH.sub("", pl.source))
        en_inline = INLINE_MATH.findall(DISPLAY_MATH.sub("", en.source))
        assert sorted(pl_inline) == sorted(en_inline), f"{where}: inline math differs"
        assert sorted(CODE_SPAN.findall(pl.source)) == sorted(CODE_SPAN.findall(en.source)), f"{where}: code differs"
        assert heading_levels(pl.source) == heading_levels(en.source), f"{where}: headings differ"
        assert pl.source.strip() != en.source.strip(), f"{where}: not translated"
        words = set(re.findall(r"\w+", pl.source.lower()))
        assert POLISH_LETTERS & set(pl.source) or POLISH_WORDS & words, f"{where}: the 'pl' cell does not look Polish"
        assert not POLISH_LETTERS & set(en.source), f"{where}: the 'en' cell contains Polish letters"


# An exercise's heading, in the Polish cell and in its English twin: "### Zadanie 3 (2 pkt)" /
# "### Exercise 3 (2 points)" ("1 point" for one), optionally followed by ": a title".
EXERCISE_HEADING = {
    "pl": re.compile(r"^(#+) Zadanie (\d+) \((\d+) pkt\)(?:: \S.*)?$"),
    "en": re.compile(r"^(#+) Exercise (\d+) \((\d+) (points?)\)(?:: \S.*)?$"),
}
EXERCISE_WORD = {"pl": re.compile(r"^#+\s*Zadani"), "en": re.compile(r"^#+\s*Exercise")}


def exercises(path: Path) -> list[dict]:
    """The notebook's exercises in order: number, points, heading level and the grade cells each owns.

    An exercise owns the grade cells after its heading up to the next exercise heading or the next
    heading of the same or a higher level (a new section); a grade cell no exercise owns is an error.
    """
    found: list[dict] = []
    current = None
    for cell in read(path).cells:
        if cell.cell_type == "markdown":
            lang = cell.metadata.get("lang")
            for line in cell.source.splitlines():
                if not line.startswith("#") or lang not in EXERCISE_HEADING:
                    continue
                where = f"{path.name}, cell {cell.get('id')}: {line!r}"
                match = EXERCISE_HEADING[lang].match(line)
                assert match or not EXERCISE_WORD[lang].match(line), f"{where}: not the form of an exercise heading"
                if match and lang == "en":
                    number, points = int(match[2]), int(match[3])
                    assert match[4] == ("point" if points == 1 else "points"), f"{where}: 1 point, 2 points"
                    twin = found[-1] if found else None
                    assert twin and (twin["number"], twin["points"]) == (number, points), (
                        f"{where}: the Polish twin's heading says Zadanie {twin and twin['number']} "
                        f"({twin and twin['points']} pkt)"
                    )
                    twin["english"] = True
                elif match:
                    current = {"number": int(match[2]), "points": int(match[3]), "level": len(match[1])}
                    current |= {"grades": {}, "english": False, "where": where}
                    found.append(current)
                elif lang == "pl" and current is not None and heading_levels(line)[0] <= current["level"]:
                    current = None
        meta = nbgrader_meta(cell)
        if meta.get("grade"):
            assert current is not None, (
                f"{path.name}: grade cell {meta['grade_id']} follows no exercise heading (### Zadanie N (P pkt))"
            )
            current["grades"][meta["grade_id"]] = meta["points"]
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_every_exercise_has_a_heading_with_its_points(path):
    """Each grade cell belongs to one exercise whose Polish and English headings state its number and
    the sum of its grade cells' points; exercises are numbered 1, 2, 3... in order."""
    found = exercises(path)
    assert found, f"{path.name} has no exercise heading"
    assert [e["number"] for e in found] == list(range(1, len(found) + 1)), (
        f"{path.name}: exercises numbered out of order"
    )
    for exercise in found:
        where = exercise["where"]
        assert exercise["english"], f"{where}: its English twin has no 'Exercise N (P points)' heading"
        assert exercise["grades"], f"{where}: no grade cell follows this exercise heading in its section"
        total = sum(exercise["grades"].values())
        assert total == exercise["points"], f"{where}: its grade cells {exercise['grades']} are worth {total} points"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_the_title_cells_link_the_notation_sheet(path):
    """Both title cells (Polish and English) link CONVENTIONS.md, as the student package lays it out:
    the sheet at the package's root, one folder above the notebook."""
    title_pl, title_en = markdown_pairs(path)[0]
    for cell in (title_pl, title_en):
        assert "[CONVENTIONS.md](../CONVENTIONS.md)" in cell.source, f"{path.name}: {cell.metadata['lang']} title cell"
    assert (Path(__file__).parents[1] / "CONVENTIONS.md").is_file()


def message_text(node: ast.expr) -> str | None:
    """The text of a string or f-string literal, each placeholder as {}; None for anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(part.value if isinstance(part, ast.Constant) else "{}" for part in node.values)
    return None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_visible_test_messages_are_in_polish_and_english(path):
    """A failing visible test's message (an ``err_msg``, an assert's) is what a student reads first:
    'PL: ... / EN: ...'."""
    checked, wrong = 0, []
    for cell in read(path).cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.keyword) and node.arg == "err_msg":
                message = node.value
            elif isinstance(node, ast.Assert) and node.msg is not None:
                message = node.msg
            else:
                continue
            checked += 1
            text = message_text(message) or ""
            polish, _, english = text.removeprefix("PL: ").partition(" / EN: ")
            if not (text.startswith("PL: ") and polish.strip() and english.strip()):
                wrong.append(ast.unparse(message))
    assert checked, "no visible test with a message"
    assert not wrong, f"{len(wrong)} of {checked} messages not 'PL: ... / EN: ...': {wrong[:5]}"
