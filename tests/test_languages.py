"""A released notebook in one language (course.grading.handout.languages): the other language's
markdown twins go, every code cell and nbgrader cell stays exactly as released."""

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from course.grading.handout.languages import LANGUAGES, LanguageError, one_language
from tests.support.nbrun import REPO, nbgrader_meta

NAMES = {"pl": "pkg-pl", "en": "pkg-en", "both": "pkg"}
RELEASED = sorted((REPO / "release").glob("*/*.ipynb"))


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("path", RELEASED, ids=lambda p: p.parent.name)
def test_one_language_keeps_every_code_cell_and_drops_the_twins(path, lang):
    released = nbformat.read(path, as_version=4)
    kept = one_language(released, lang, NAMES)
    code = [cell for cell in released.cells if cell.cell_type == "code"]
    assert [cell for cell in kept.cells if cell.cell_type == "code"] == code  # same source, metadata, ids
    markdown = [cell for cell in kept.cells if cell.cell_type == "markdown"]
    assert {cell.metadata["lang"] for cell in markdown} == {lang}
    twins = [cell for cell in released.cells if cell.cell_type == "markdown" and cell.metadata["lang"] == lang]
    assert [cell.source for cell in markdown[1:]] == [cell.source for cell in twins[1:]]
    assert markdown[0].source.startswith(twins[0].source)
    assert not any(nbgrader_meta(cell) for cell in released.cells if cell not in code)  # nothing graded is dropped
    nbformat.validate(kept)


def test_the_title_points_to_the_other_language_in_its_own_language():
    released = nbformat.read(RELEASED[0], as_version=4)
    polish = one_language(released, "pl", NAMES).cells[0].source
    english = one_language(released, "en", NAMES).cells[0].source
    assert "Wersja angielska" in polish and "`pkg-en`" in polish and "`pkg`" in polish
    assert "Polish version" in english and "`pkg-pl`" in english


def test_the_notebook_given_is_left_unchanged():
    released = nbformat.read(RELEASED[0], as_version=4)
    before = nbformat.writes(released)
    one_language(released, "en", NAMES)
    assert nbformat.writes(released) == before


def test_an_unknown_language_or_an_unmarked_cell_is_a_clear_error():
    with pytest.raises(LanguageError, match="no notebook language 'de'"):
        one_language(nbformat.read(RELEASED[0], as_version=4), "de", NAMES)
    unmarked = new_notebook(cells=[new_markdown_cell("# Tytuł", metadata={"lang": "pl"}), new_markdown_cell("# ?")])
    with pytest.raises(LanguageError, match=r"markdown cells \[1\].*carry no language"):
        one_language(unmarked, "pl", NAMES)
    with pytest.raises(LanguageError, match="no markdown cell"):
        one_language(new_notebook(cells=[new_code_cell("1")]), "pl", NAMES)
