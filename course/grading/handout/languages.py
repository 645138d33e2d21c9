"""A released notebook in one language: the other language's markdown twins left out.

Every markdown cell of the course is a Polish cell followed by its English twin (metadata
``lang``), so a student reading one language scrolls past the other half of every notebook. A
one-language copy keeps every code cell, and so every nbgrader cell, exactly as released: the
gradebook grades it like the two-language notebook (nbgrader tracks only its own cells, and no
markdown cell of the course is one). Its title cell says where the other language's version is.
"""

import copy

import nbformat

LANGUAGES = ("pl", "en")
BOTH = "both"
CHOICES = (*LANGUAGES, BOTH)

# The package each language's version is in (package.package_name gives the same names), said
# in the language of the notebook that points there.
OTHER_VERSION = {
    "pl": "*Wersja angielska tego notatnika ma tę samą nazwę i jest w pakiecie `{other}` "
    "(oraz w `{both}`, z obydwoma językami).*",
    "en": "*The Polish version of this notebook has the same name and is in the package `{other}` "
    "(and in `{both}`, with both languages).*",
}


class LanguageError(ValueError):
    """A language the course is not written in, or a notebook not written as Polish/English twins."""


def one_language(notebook: nbformat.NotebookNode, lang: str, package_names: dict[str, str]) -> nbformat.NotebookNode:
    """A copy of ``notebook`` without the markdown cells of the language that is not ``lang``.

    ``package_names`` maps ``pl``, ``en`` and ``both`` to the names of the student packages, for
    the title cell's pointer to the other version. The notebook passed in is left unchanged.
    """
    if lang not in LANGUAGES:
        raise LanguageError(f"no notebook language {lang!r}: the course is written in {' and '.join(LANGUAGES)}")
    markdown = [cell for cell in notebook.cells if cell.cell_type == "markdown"]
    unmarked = [i for i, cell in enumerate(markdown) if cell.metadata.get("lang") not in LANGUAGES]
    if not markdown or unmarked:
        raise LanguageError(
            f"markdown cells {unmarked} (counted from 0) carry no language (metadata lang pl or en)"
            if unmarked
            else "the notebook has no markdown cell to choose a language from"
        )
    kept = copy.deepcopy(notebook)
    kept.cells = [cell for cell in kept.cells if cell.cell_type != "markdown" or cell.metadata["lang"] == lang]
    title = next(cell for cell in kept.cells if cell.cell_type == "markdown")
    other = next(other for other in LANGUAGES if other != lang)
    pointer = OTHER_VERSION[lang].format(other=package_names[other], both=package_names[BOTH])
    title.source = f"{title.source.rstrip()}\n\n{pointer}"
    return kept
