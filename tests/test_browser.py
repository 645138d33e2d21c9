"""The student's and the instructor's flow in a real browser: JupyterLab 4 + nbgrader, headless Chromium.

`make lab` and `make formgrader` run exactly as the Makefile writes them (the line `make -n` prints,
through the shell) in a temporary copy of the course. The student opens the released notebook,
reads the bilingual text and its rendered formulas, types the solution of one exercise into its
cell, restarts and runs the notebook, sees that exercise's visible tests pass and the others fail,
and presses nbgrader's Validate button; the instructor opens the formgrader and finds every
assignment of source/.

Chromium (Debian's) is installed with apt-get when missing and the tests run as root; the tests are
skipped, with the reason, only where it cannot be installed or launched. Screenshots of every step
(and of the page where a test failed) go to test-artifacts/browser/, with the servers' logs.
"""

import re
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.support import browser as browser_support
from tests.support.browser import chromium, fresh_artifacts, make_recipe, start_jupyter
from tests.support.course import copy_course
from tests.support.nbrun import REPO, nbgrader_meta

pytestmark = pytest.mark.slow  # real kernels, sandboxes, nbgrader runs or a browser

ARTIFACTS = REPO / "test-artifacts" / "browser"
# The notebook with the fewest cells and exercises: every failing exercise costs the test a run of
# the cells below it. The exercise the student solves: its visible tests call nothing but the
# student's own function (a later exercise's tests may call an earlier one's function too).
NOTEBOOK = "04_outer_product/outer_product.ipynb"
EXERCISE = "outer_loops"
STUB_FIRST_LINE = "# YOUR CODE HERE"  # nbgrader_config.py's ClearSolutions.code_stub
VIEWPORT = {"width": 1400, "height": 900}
ERROR_OUTPUT = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
TIMEOUT = 30_000  # ms for any one wait; longer where a kernel or nbgrader does the work
expect.set_options(timeout=TIMEOUT)

# Index of the first code cell at or after `start` whose run raised (a traceback in its output), or
# the number of cells if every code cell from `start` on ran cleanly; null while cells still run or
# wait to run. JupyterLab stops a run at the first error: the cells queued after it stay `[ ]:`.
RUN_OUTCOME_JS = """
([start, errorSelector]) => {
    const cells = Array.from(document.querySelectorAll('.jp-Notebook .jp-Cell'));
    const prompt = cell => (cell.querySelector('.jp-InputPrompt') || {}).textContent || '';
    if (cells.some(cell => prompt(cell).includes('*'))) return null;
    for (let i = start; i < cells.length; i++) {
        if (!cells[i].classList.contains('jp-CodeCell')) continue;
        if (!/\\[\\d+\\]/.test(prompt(cells[i]))) return null;
        const errors = Array.from(cells[i].querySelectorAll(errorSelector));
        if (errors.some(output => output.textContent.includes('Traceback'))) return i;
    }
    return cells.length;
}
"""


@pytest.fixture(scope="module")
def artifacts() -> Path:
    return fresh_artifacts(ARTIFACTS)


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium driven by Playwright; installs Chromium first if it can."""
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """A copy of the course with the repository's .venv, which the Makefile's commands name."""
    root = copy_course(tmp_path_factory.mktemp("browser-course"))
    (root / ".venv").symlink_to(REPO / ".venv", target_is_directory=True)
    return root


def _server(target: str, course: Path, tmp_path_factory, artifacts: Path):
    server = start_jupyter(
        make_recipe(target), course, tmp_path_factory.mktemp(f"jupyter-{target}"), artifacts / f"make-{target}.log"
    )
    yield server
    server.stop()


# The servers take `browser` so that a machine without Chromium skips before starting them.
@pytest.fixture(scope="module")
def lab_server(browser, course, tmp_path_factory, artifacts):
    """`make lab`: the student's JupyterLab on release/."""
    yield from _server("lab", course, tmp_path_factory, artifacts)


@pytest.fixture(scope="module")
def formgrader_server(browser, course, tmp_path_factory, artifacts):
    """`make formgrader`: the instructor's JupyterLab in the course root, opening on the formgrader."""
    yield from _server("formgrader", course, tmp_path_factory, artifacts)


@pytest.fixture
def page(browser, request, artifacts):
    """A fresh browser tab; if the test fails, a screenshot of where it stopped."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    failed_before = request.session.testsfailed
    yield page
    if request.session.testsfailed > failed_before:
        page.screenshot(path=artifacts / f"FAILED-{request.node.name}.png")
    context.close()


def shoot(page: Page, artifacts: Path, name: str) -> None:
    page.screenshot(path=artifacts / f"{name}.png")


def scroll_to_top(cell: Locator) -> None:
    """Bring ``cell`` to the top of the notebook, again once the cells it passed have been laid out."""
    cell.evaluate(
        """async element => {
            const frame = () => new Promise(resolve => requestAnimationFrame(resolve));
            for (let i = 0; i < 3; i++) {
                element.scrollIntoView({block: 'start'});
                await frame();
                await frame();
            }
        }"""
    )


def editor_text(cell: Locator) -> str:
    return cell.evaluate(
        "cell => Array.from(cell.querySelectorAll('.cm-line')).map(line => line.textContent).join('\\n')"
    )


def grade_cells(notebook: nbformat.NotebookNode) -> dict[str, int]:
    """grade_id -> cell index."""
    return {nbgrader_meta(c)["grade_id"]: i for i, c in enumerate(notebook.cells) if nbgrader_meta(c).get("grade_id")}


def solution_body(source: nbformat.NotebookNode, grade_id: str) -> list[str]:
    """The lines between BEGIN SOLUTION and END SOLUTION of a source notebook's solution cell, as indented there."""
    cell = source.cells[grade_cells(source)[grade_id]]
    return cell.source.split("### BEGIN SOLUTION\n", 1)[1].split("### END SOLUTION", 1)[0].rstrip().splitlines()


def twin_pair(notebook: nbformat.NotebookNode, wanted) -> tuple[int, int]:
    """Indices of the first Polish markdown cell satisfying ``wanted`` and of its English twin."""
    for i, cell in enumerate(notebook.cells):
        if cell.cell_type == "markdown" and cell.metadata.get("lang") == "pl" and wanted(cell.source):
            twin = notebook.cells[i + 1]
            assert twin.metadata.get("lang") == "en", f"cell {i} has no English twin after it"
            return i, i + 1
    raise AssertionError("no such Polish cell")


def open_notebook(page: Page, url: str, cell_count: int, kernel: str) -> Locator:
    """Open a notebook, answer the "Select Kernel" dialog with ``kernel`` if it comes, wait for it to idle."""
    page.goto(url)
    idle = page.locator("#jp-main-statusbar span[title^='Change kernel']", has_text="| Idle")
    select_kernel = page.locator(".jp-Dialog", has_text="Select Kernel")
    expect(idle.or_(select_kernel)).to_be_visible(timeout=60_000)
    if select_kernel.is_visible():
        select_kernel.locator("select").select_option(label=kernel)
        select_kernel.locator("button.jp-mod-accept").click()
    expect(idle).to_be_visible(timeout=60_000)
    cells = page.locator(".jp-Notebook .jp-Cell")
    expect(cells).to_have_count(cell_count)
    return cells


def type_solution(page: Page, cell: Locator, stub_indent: str, body: list[str]) -> None:
    """Select the stub in the cell's editor and type ``body`` over it, key by key.

    The editor indents each new line itself; Shift+Home then selects that indentation (up to the
    line start) and the line is typed with its own, so the result does not depend on auto-indent.
    """
    cell.locator(".cm-line", has_text="raise NotImplementedError()").click()
    keyboard = page.keyboard
    keyboard.press("Control+End")  # the end of the stub, the last line of the cell
    keyboard.press("Shift+Home")  # ... back to its indentation
    keyboard.press("Shift+ArrowUp")  # ... and up to the same column of "# YOUR CODE HERE"
    keyboard.type(body[0].removeprefix(stub_indent))
    for line in body[1:]:
        keyboard.press("Enter")
        keyboard.press("Shift+Home")
        if line:
            keyboard.type(line)
    keyboard.press("Escape")  # back to command mode


def run_menu(page: Page, menu: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{menu}$")).click()
    page.get_by_role("menuitem", name=re.compile(f"^{re.escape(item)}")).click()


def run_to_the_end(page: Page, cells: Locator) -> list[int]:
    """Restart the kernel and run all cells, then, after every cell that fails, run the cells below it.

    Returns the indices of the cells that failed.
    """
    run_menu(page, "Kernel", "Restart Kernel and Run All Cells")
    page.locator(".jp-Dialog", has_text="Restart Kernel?").locator("button.jp-mod-accept").click()
    failed, start, count = [], 0, cells.count()
    while True:
        stop = page.wait_for_function(RUN_OUTCOME_JS, arg=[start, ERROR_OUTPUT], timeout=60_000).json_value()
        if stop >= count:
            return failed
        failed.append(stop)
        start = stop + 1
        if start == count:
            return failed
        cells.nth(start).locator(".jp-InputPrompt").click()
        run_menu(page, "Run", "Run Selected Cell and All Below")


def test_student_solves_one_exercise_runs_and_validates(page, lab_server, course, artifacts):
    release = nbformat.read(course / "release" / NOTEBOOK, as_version=4)
    source = nbformat.read(course / "source" / NOTEBOOK, as_version=4)
    grades = grade_cells(release)
    tests = {
        gid: i
        for gid, i in grades.items()  # the autograded test cells
        if nbgrader_meta(release.cells[i]).get("grade") and not nbgrader_meta(release.cells[i]).get("solution")
    }
    exercise_test = f"test_{EXERCISE}"
    assert exercise_test in tests, f"no visible test cell {exercise_test} in the release"

    # 1. The student opens the notebook (`make lab` serves release/) and reads both languages.
    kernel = release.metadata.get("kernelspec", {}).get("display_name", "Python 3 (ipykernel)")
    cells = open_notebook(page, lab_server.url(f"/lab/tree/{NOTEBOOK}"), len(release.cells), kernel)
    pl, en = twin_pair(release, lambda text: text.startswith("#"))
    for index in (pl, en):
        level, title = re.match(r"(#+)\s*(.+)", release.cells[index].source).groups()
        expect(cells.nth(index).locator(f".jp-RenderedMarkdown h{len(level)}")).to_contain_text(title)
    shoot(page, artifacts, "01-notebook-opened")

    # ... follows the title cell's link to the notation sheet (release/CONVENTIONS.md, a link to the
    # course's), which opens in a tab of its own, and comes back to the notebook.
    cells.nth(en).locator("a", has_text="CONVENTIONS.md").click()
    expect(page.locator(".jp-MainAreaWidget:visible", has_text="The course's notation")).to_be_visible()
    shoot(page, artifacts, "01b-notation-sheet")
    page.locator(".lm-TabBar-tab", has_text=Path(NOTEBOOK).name).click()

    pl, en = twin_pair(release, lambda text: "$$" in text)
    for index in (pl, en):
        rendered = cells.nth(index).locator(".jp-RenderedMarkdown")
        expect(rendered.locator("mjx-container[display='true']").first).to_be_visible()
        assert "$$" not in rendered.inner_text(), f"cell {index} shows raw TeX instead of MathJax"
    scroll_to_top(cells.nth(pl))
    shoot(page, artifacts, "02-formulas-rendered")

    # 2. Types the solution of one exercise over the stub, key by key.
    solution_cell = cells.nth(grades[EXERCISE])
    stub = release.cells[grades[EXERCISE]].source
    assert STUB_FIRST_LINE in stub, f"{EXERCISE} has no `{STUB_FIRST_LINE}` stub in the release"
    assert stub.endswith("raise NotImplementedError()"), "type_solution expects the stub to end the cell"
    stub_line = stub.index(STUB_FIRST_LINE)
    stub_start = stub.rindex("\n", 0, stub_line) + 1
    stub_indent = stub[stub_start:stub_line]
    body = solution_body(source, EXERCISE)
    assert body[0].startswith(stub_indent), "the solution is not indented like the stub"
    expected = stub[:stub_start] + "\n".join(body)
    type_solution(page, solution_cell, stub_indent, body)
    assert editor_text(solution_cell) == expected
    scroll_to_top(cells.nth(grades[EXERCISE] - 1))
    shoot(page, artifacts, "03-solution-typed")

    # ... restarts and runs everything: its visible tests pass, every other exercise's fail.
    failed = run_to_the_end(page, cells)
    test_cell = cells.nth(tests[exercise_test])
    expect(test_cell.locator(".jp-InputPrompt")).to_have_text(re.compile(r"\[\d+\]"))
    expect(test_cell.locator(ERROR_OUTPUT)).to_have_count(0)
    assert tests[exercise_test] not in failed
    for grade_id, index in tests.items():
        if grade_id != exercise_test:
            assert index in failed, f"the unsolved {grade_id} did not fail"
            expect(cells.nth(index).locator(ERROR_OUTPUT)).to_contain_text("NotImplementedError")
    scroll_to_top(cells.nth(grades[EXERCISE]))
    shoot(page, artifacts, "04-exercise-tests-pass")
    scroll_to_top(cells.nth(min(i for i in failed if i > tests[exercise_test]) - 1))
    shoot(page, artifacts, "05-next-exercise-fails")

    # 3. Validate saves the notebook and runs it from the top: every other exercise fails.
    page.locator(".jp-NotebookPanel-toolbar jp-button.validate-button").click()
    dialog = page.locator(".jp-Dialog", has_text="Validation Results")
    expect(dialog).to_be_visible(timeout=120_000)
    expect(dialog).to_contain_text("The following cell failed:")
    expect(dialog).to_contain_text("NotImplementedError")
    expect(dialog).not_to_contain_text("Success! Your notebook passes all the tests.")
    sources = dialog.locator(".jp-RenderedText pre").all_inner_texts()[::2]  # (source, error) per failure
    others = {release.cells[i].source.strip() for gid, i in tests.items() if gid != exercise_test}
    assert {s.strip() for s in sources} == others
    shoot(page, artifacts, "06-validate-verdict")
    dialog.locator("button.jp-mod-accept").click()

    saved = nbformat.read(course / "release" / NOTEBOOK, as_version=4)
    assert saved.cells[grades[EXERCISE]].source == expected, "Validate did not save the typed solution"


def test_instructor_sees_every_assignment_in_the_formgrader(page, formgrader_server, course, artifacts):
    # 4. `make formgrader` opens on the formgrader, which lists every assignment folder of source/.
    page.goto(formgrader_server.url("/"))
    expect(page).to_have_url(re.compile(r"/formgrader/manage_assignments"))
    assignments = sorted(p.name for p in (course / "source").iterdir() if p.is_dir())
    names = page.locator("td.name a")
    expect(names).to_have_count(len(assignments))
    assert sorted(names.all_inner_texts()) == assignments
    expect(page.get_by_text("exchange directory")).to_have_count(0)  # `make formgrader` creates exchange/
    shoot(page, artifacts, "07-formgrader")


# The install-or-skip logic, with a fake apt-get (Chromium cannot be uninstalled to try the real one).

FAKE_APT = """#!/bin/sh
echo "$*" >> "$APT_LOG"
case "$APT_MODE:$*" in
  slow:*) sleep 5 ;;
  works:*install*|after-update:*install*)
    if [ "$APT_MODE" = works ] || [ -e "$APT_LOG.updated" ]; then touch "$FAKE_CHROMIUM"; exit 0; fi
    echo "E: Unable to locate package chromium"; exit 100 ;;
  *:*update*) touch "$APT_LOG.updated" ;;
  *) echo "E: Unable to locate package chromium"; exit 100 ;;
esac
"""


@pytest.fixture
def fake_apt(tmp_path, monkeypatch):
    """Chromium missing, running as root, a scripted apt-get first on PATH; returns its call log."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    apt = bin_dir / "apt-get"
    apt.write_text(FAKE_APT)
    apt.chmod(0o755)
    log = tmp_path / "apt.log"
    log.touch()
    monkeypatch.setattr(browser_support, "CHROMIUM", tmp_path / "chromium")
    monkeypatch.setattr(browser_support.os, "geteuid", lambda: 0)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setenv("APT_LOG", str(log))
    monkeypatch.setenv("FAKE_CHROMIUM", str(tmp_path / "chromium"))
    return log


@pytest.mark.parametrize(
    ("mode", "calls"),
    [
        ("works", ["install -y chromium"]),
        ("after-update", ["install -y chromium", "update", "install -y chromium"]),
    ],
)
def test_chromium_is_installed_with_apt_get_when_missing(fake_apt, monkeypatch, mode, calls):
    monkeypatch.setenv("APT_MODE", mode)
    assert browser_support.chromium_missing_reason() is None
    assert browser_support.CHROMIUM.exists()
    assert [line.removeprefix("-o DPkg::Lock::Timeout=120 ") for line in fake_apt.read_text().splitlines()] == calls


def test_a_failed_install_gives_the_reason_to_skip(fake_apt, monkeypatch):
    monkeypatch.setenv("APT_MODE", "broken")
    reason = browser_support.chromium_missing_reason()
    assert "failed (exit 100)" in reason and "Unable to locate package chromium" in reason
    assert len(fake_apt.read_text().splitlines()) == 3  # install, update, install again


def test_a_hanging_install_gives_up(fake_apt, monkeypatch):
    monkeypatch.setenv("APT_MODE", "slow")
    monkeypatch.setattr(browser_support, "APT_TIMEOUT", 0.5)
    assert "did not finish" in browser_support.chromium_missing_reason()


def test_without_root_or_apt_get_nothing_is_installed(fake_apt, monkeypatch, tmp_path):
    monkeypatch.setenv("APT_MODE", "works")
    monkeypatch.setattr(browser_support.os, "geteuid", lambda: 1000)
    assert "needs root" in browser_support.chromium_missing_reason()
    monkeypatch.setattr(browser_support.os, "geteuid", lambda: 0)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert "no apt-get" in browser_support.chromium_missing_reason()
    assert fake_apt.read_text() == ""
    (tmp_path / "chromium").touch()
    assert browser_support.chromium_missing_reason() is None  # there already: nothing to do
