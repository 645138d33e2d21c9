"""A class on one Linux server, end to end, with real parts only: deploy/ sets up Unix accounts, a
JupyterHub with PAM logins, the students' environment and nbgrader's exchange; an instructor
releases an assignment; student A logs in through the hub in headless Chromium, fetches it from
the Assignment List, runs and validates the solved notebook and submits it; student B submits
the blank notebook from the command line, with a cell that tries to reach the hub and the
gradebook; the instructor collects, grades in the sandbox, and releases feedback; A fetches it.

Everything is made with names no one else has (``bpt`` + five letters), in a temporary folder
every account can enter, on free ports of 127.0.0.1, and taken away with ``python3 -m deploy
remove`` even when a test fails. Screenshots go to test-artifacts/hub/, with the hub's log.
Skipped, with the reason, where the machine cannot do it (not root, no runuser/useradd, no
Debian Python 3.11, no Chromium).
"""

import json
import pwd
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import Page, expect

from deploy import students
from tests.support import hub as support
from tests.support import postgres
from tests.support.browser import chromium, fresh_artifacts
from tests.support.course import partly_solved
from tests.support.nbrun import REPO

pytestmark = pytest.mark.slow  # real accounts, a real hub, nbgrader's exchange, sandboxed grading, a browser

ASSIGNMENT = "02_backprop_network"
NOTEBOOK = "backprop_network"
MAX_SCORE = 14
# The one switch of the gradebook: "sqlite" (the course's default, a file in the instructor's
# course folder) or "postgresql" (a real server from tests/support/postgres.py, reachable only
# through a Unix socket of a group the instructor alone is in, as a class server would keep it).
GRADEBOOK = "postgresql"
ARTIFACTS = REPO / "test-artifacts" / "hub"
VIEWPORT = {"width": 1400, "height": 900}
TIMEOUT = 30_000  # ms for any one wait in the browser; longer where a kernel or nbgrader works
PROBE_FILE = "network-probe.txt"
expect.set_options(timeout=TIMEOUT)


@dataclass
class Klass:
    """The class setup made: its folders, accounts, passwords and where the hub answers."""

    root: Path  # the temporary folder everything lives in
    account_prefix: str  # every account and group of the class starts with it
    names: dict[str, str]  # "instructor", "a", "b" -> Unix account
    ports: dict[str, int]
    passwords: dict[str, str]
    gradebook_url: str | None

    @property
    def prefix(self) -> Path:
        return self.root / "opt"

    @property
    def exchange(self) -> Path:
        return self.root / "exchange"

    @property
    def groups(self) -> list[str]:
        return [f"{self.account_prefix}-instructors", f"{self.account_prefix}-students"]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports['port']}"

    def home(self, who: str) -> Path:
        return Path(pwd.getpwnam(self.names[who]).pw_dir)

    @property
    def course(self) -> Path:
        return self.home("instructor") / "backprop"

    def instructor(self, *argv: str | Path, check: bool = True) -> subprocess.CompletedProcess:
        """Run a command of the course's .venv as the instructor, in the course folder, as their server would."""
        env = {
            "PATH": f"{self.course / '.venv' / 'bin'}:{support.SYSTEM_PATH}",
            "BACKPROP_EXCHANGE": str(self.exchange),
        }
        if self.gradebook_url:
            env["BACKPROP_GRADEBOOK_URL"] = self.gradebook_url
        return support.run_as(self.names["instructor"], *argv, cwd=self.course, env=env, check=check)

    def student(self, who: str, *argv: str | Path, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
        """Run a command as student ``who`` ("a" or "b") with the students' environment first on PATH."""
        env = {"PATH": f"{self.prefix / 'students' / 'bin'}:{support.SYSTEM_PATH}"}
        return support.run_as(self.names[who], *argv, env=env, check=check, **kwargs)

    def deploy(self, *argv: str | Path, check: bool = True) -> subprocess.CompletedProcess:
        """``python3 -m deploy ...`` as the admin runs it, in the class's clone of the course."""
        command = [sys.executable, "-m", "deploy", *map(str, argv)]
        result = subprocess.run(command, cwd=self.root / "course-repo", capture_output=True, text=True, timeout=900)
        if check:
            assert result.returncode == 0, f"{' '.join(map(str, argv))} failed:\n{result.stdout}\n{result.stderr}"
        return result

    def setup_options(self, roster: Path) -> list[str | Path | int]:
        """``deploy setup``'s options for this class with ``roster``."""
        options = [
            *("--roster", roster, "--prefix", self.prefix, "--exchange", self.exchange),
            *("--group-prefix", self.account_prefix, "--port", self.ports["port"]),
            *("--hub-port", self.ports["hub_port"], "--proxy-api-port", self.ports["proxy_api_port"]),
        ]
        return options + (["--gradebook-url", self.gradebook_url] if self.gradebook_url else [])


@pytest.fixture(scope="module")
def artifacts() -> Path:
    return fresh_artifacts(ARTIFACTS)


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium driven by Playwright; installs Chromium first if it can."""
    with chromium(support.missing_reason()) as launched:
        yield launched


def gradebook_server(stack: ExitStack, prefix: str) -> tuple[str | None, str | None]:
    """(URL, Unix group of its socket) of the gradebook GRADEBOOK selects; (None, None) for SQLite."""
    if GRADEBOOK == "sqlite":
        return None, None
    reason = postgres.missing_reason()
    if reason:
        pytest.skip(reason)
    # PostgreSQL can give its socket only a group its own account is in: an account of its own,
    # in the group that alone may open the socket (the instructor joins it after setup).
    group, account = f"{prefix}-gradebook", f"{prefix}pg"
    subprocess.run(["groupadd", group], check=True)
    stack.callback(subprocess.run, ["groupdel", group], capture_output=True)
    subprocess.run(["useradd", "--no-create-home", "--gid", group, "--shell", "/usr/sbin/nologin", account], check=True)
    stack.callback(subprocess.run, ["userdel", account], capture_output=True)
    server = stack.enter_context(postgres.postgres_server(account=account, socket_group=group))
    return server.database("backprop"), group


def take_down(klass: Klass, artifacts: Path) -> None:
    """``python3 -m deploy remove`` (it stops the hub, and with it every server, before deleting the
    accounts), then check it left nothing: no account, group, folder or process of the class."""
    log = klass.prefix / "state" / "jupyterhub.log"
    if log.exists():
        shutil.copy(log, artifacts / "jupyterhub.log")
    command = [sys.executable, "-m", "deploy", "remove", "--prefix", klass.prefix]
    started = time.monotonic()
    removal = subprocess.run(command, cwd=klass.root / "course-repo", capture_output=True, text=True)
    (artifacts / "remove.log").write_text(
        f"{removal.stdout}{removal.stderr}(took {time.monotonic() - started:.0f} s)\n"
    )
    leftovers = support.remove_leftovers(list(klass.names.values()), klass.groups)
    left = [path for path in (klass.prefix, klass.exchange) if path.exists()]
    assert removal.returncode == 0 and not leftovers and not left, (
        f"`deploy remove` left {leftovers + left}:\n{removal.stdout}\n{removal.stderr}"
    )


@pytest.fixture(scope="module")
def klass(browser, artifacts) -> Iterator[Klass]:
    """A class of one instructor and students A and B, set up by deploy/ with the hub running."""
    prefix = support.class_prefix()
    root = Path(tempfile.mkdtemp(prefix="backprop-hub-"))
    root.chmod(0o755)  # every account reaches the exchange and the students' environment inside
    names = {"instructor": f"{prefix}i", "a": f"{prefix}a", "b": f"{prefix}b"}
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, root, ignore_errors=True)
        url, socket_group = gradebook_server(stack, prefix)
        klass = Klass(
            root=root,
            account_prefix=prefix,
            names=names,
            ports=dict(zip(("port", "hub_port", "proxy_api_port"), support.free_ports(3))),
            passwords={name: secrets.token_urlsafe(12) for name in names.values()},
            gradebook_url=url,
        )
        stack.callback(take_down, klass, artifacts)
        support.course_repository(root / "course-repo")
        roster = root / "roster.csv"
        roster.write_text(
            "username,first_name,last_name,role\n"
            f"{names['instructor']},Ada,Łukasiewicz,instructor\n"
            f"{names['a']},Anna,Nowak,student\n"
            f"{names['b']},Bartosz,Wiśniewski,student\n"
        )
        started = time.monotonic()
        first = klass.deploy("setup", *klass.setup_options(roster)).stdout
        middle = time.monotonic()
        again = klass.deploy("setup", *klass.setup_options(roster)).stdout  # a rerun keeps what is there
        timing = f"(setup took {middle - started:.0f} s, the rerun {time.monotonic() - middle:.0f} s)"
        (artifacts / "setup.log").write_text(f"{first}\n== again:\n{again}\n{timing}\n")
        assert all(f"kept the existing account {name}" in again for name in names.values()), again
        if socket_group:
            subprocess.run(["usermod", "--append", "--groups", socket_group, names["instructor"]], check=True)
        support.set_passwords(klass.passwords)
        klass.deploy("start", "--prefix", klass.prefix)
        yield klass


@pytest.fixture(scope="module")
def page(browser, klass, artifacts) -> Iterator[Page]:
    """Student A's browser tab (one for the module: they stay logged in)."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    yield page
    context.close()


def shoot(page: Page, name: str) -> None:
    page.screenshot(path=ARTIFACTS / f"{name}.png")


@pytest.fixture(scope="module")
def released(klass: Klass) -> Klass:
    """The instructor generates the assignment and releases it to the exchange."""
    klass.instructor(".venv/bin/nbgrader", "generate_assignment", ASSIGNMENT, "--force", "--create")
    klass.instructor(".venv/bin/nbgrader", "release_assignment", ASSIGNMENT)
    return klass


# Index of the first code cell whose run raised (a traceback in its output), or the number of
# cells once every code cell has run cleanly; null while cells still run or wait to run.
RUN_OUTCOME_JS = """
() => {
    const stderr = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]';
    const cells = Array.from(document.querySelectorAll('.jp-Notebook .jp-Cell'));
    const prompt = cell => (cell.querySelector('.jp-InputPrompt') || {}).textContent || '';
    if (cells.some(cell => prompt(cell).includes('*'))) return null;
    for (let i = 0; i < cells.length; i++) {
        if (!cells[i].classList.contains('jp-CodeCell')) continue;
        if (!/\\[\\d+\\]/.test(prompt(cells[i]))) return null;
        const errors = Array.from(cells[i].querySelectorAll(stderr));
        if (errors.some(output => output.textContent.includes('Traceback'))) return i;
    }
    return cells.length;
}
"""


def menu(page: Page, name: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{name}$")).click()
    page.get_by_role("menuitem", name=re.compile(f"^{re.escape(item)}")).click()


def log_in(page: Page, klass: Klass, user: str, screenshot: str | None = None) -> None:
    """Log in on the hub's page with the account's Unix password; wait until their JupyterLab is up."""
    page.goto(f"{klass.url}/hub/login")
    if screenshot:
        shoot(page, screenshot)
    page.fill("#username_input", user)
    page.fill("#password_input", klass.passwords[user])
    page.click("#login_submit")
    page.wait_for_url(f"**/user/{user}/lab**", timeout=120_000)  # the hub starts their server first
    expect(page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader")).to_be_visible(timeout=60_000)


def open_assignment_list(page: Page) -> None:
    menu(page, "Nbgrader", "Assignment List")
    expect(page.locator("#released_assignments_list")).to_be_visible()


@dataclass
class BrowserRun:
    """What student A saw."""

    menu_items: list[str]
    validation: str
    submitted: str


@pytest.fixture(scope="module")
def submitted_a(released: Klass, page: Page) -> BrowserRun:
    """Student A logs in, fetches, opens, runs and validates the solved notebook, and submits it."""
    klass, student = released, released.names["a"]
    try:
        log_in(page, klass, student, screenshot="01-hub-login")
        page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
        items = page.locator(".lm-Menu-content .lm-Menu-item:not(.lm-mod-hidden)").all_inner_texts()
        menu_items = [item.strip() for item in items]
        shoot(page, "02-nbgrader-menu")
        page.keyboard.press("Escape")

        open_assignment_list(page)
        released_row = page.locator("#released_assignments_list .list_item", has_text=ASSIGNMENT)
        expect(released_row).to_be_visible()
        shoot(page, "03-assignment-list")
        released_row.get_by_role("button", name="Fetch").click()
        fetched_row = page.locator("#fetched_assignments_list > .list_item", has_text=ASSIGNMENT)
        expect(fetched_row).to_be_visible()
        shoot(page, "04-fetched")

        # A's work: the solved notebook, written into the fetched folder by A.
        fetched = klass.home("a") / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
        solved = partly_solved(klass.course / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", fetched, lambda ids: ids)
        klass.student("a", "tee", fetched, input=nbformat.writes(solved))

        fetched_row.locator("a.assignment-notebooks-link").click()
        fetched_row.get_by_role("link", name=NOTEBOOK, exact=True).click()
        idle = page.locator("#jp-main-statusbar span[title^='Change kernel']", has_text="| Idle")
        select_kernel = page.locator(".jp-Dialog", has_text="Select Kernel")
        expect(idle.or_(select_kernel)).to_be_visible(timeout=60_000)
        if select_kernel.is_visible():
            select_kernel.locator("button.jp-mod-accept").click()
        expect(idle).to_be_visible(timeout=60_000)
        expect(page.locator(".jp-Notebook .jp-Cell")).to_have_count(len(solved.cells))
        # The English title cell's link to the notation sheet, ../CONVENTIONS.md: setup put it in A's home.
        page.locator(".jp-Notebook .jp-Cell").nth(1).locator("a", has_text="CONVENTIONS.md").click()
        expect(page.locator(".jp-MainAreaWidget:visible", has_text="The course's notation")).to_be_visible()
        shoot(page, "04b-notation-sheet")
        page.locator(".lm-TabBar-tab", has_text=f"{NOTEBOOK}.ipynb").click()

        menu(page, "Kernel", "Restart Kernel and Run All Cells")
        page.locator(".jp-Dialog", has_text="Restart Kernel?").locator("button.jp-mod-accept").click()
        outcome = page.wait_for_function(RUN_OUTCOME_JS, timeout=180_000).json_value()
        shoot(page, "05-run-all")
        assert outcome == len(solved.cells), f"cell {outcome} of the solved notebook failed in A's JupyterLab"

        page.locator(".jp-NotebookPanel-toolbar jp-button.validate-button").click()
        dialog = page.locator(".jp-Dialog", has_text="Validation Results")
        expect(dialog).to_be_visible(timeout=180_000)
        validation = dialog.inner_text()
        shoot(page, "06-validated")
        dialog.locator("button.jp-mod-accept").click()

        open_assignment_list(page)
        fetched_row.get_by_role("button", name="Submit").click()
        submitted_row = page.locator("#submitted_assignments_list > .list_item", has_text=ASSIGNMENT)
        expect(submitted_row).to_be_visible(timeout=60_000)
        shoot(page, "07-submitted")
        return BrowserRun(menu_items, validation, submitted_row.inner_text())
    except Exception:
        shoot(page, "FAILED-student-a")
        raise


def probe_cell(klass: Klass) -> nbformat.NotebookNode:
    """A code cell that tries, while it is graded, to reach what a grading kernel must not reach,
    and writes what happened to PROBE_FILE in its own folder."""
    targets = {
        "hub": ("127.0.0.1", klass.ports["port"]),
        "hub API": ("127.0.0.1", klass.ports["hub_port"]),
        "proxy API": ("127.0.0.1", klass.ports["proxy_api_port"]),
    }
    files = {
        "source notebook": str(klass.course / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"),
        "gradebook file": str(klass.course / "gradebook.db"),
    }
    socket_folder = re.search(r"host=([^&]+)", klass.gradebook_url or "")
    postgres = f"{socket_folder.group(1)}/.s.PGSQL.5432" if socket_folder else None
    return nbformat.v4.new_code_cell(
        f"""import json, pathlib, socket
outcome = {{}}
for name, address in {targets!r}.items():
    try:
        socket.create_connection(address, timeout=3).close()
        outcome[name] = "connected"
    except OSError as error:
        outcome[name] = f"{{type(error).__name__}}: {{error}}"
for name, path in {files!r}.items():
    try:
        open(path, "rb").read(1)
        outcome[name] = "read"
    except OSError as error:
        outcome[name] = f"{{type(error).__name__}}: {{error}}"
if {postgres!r}:
    try:
        unix = socket.socket(socket.AF_UNIX)
        unix.connect({postgres!r})
        outcome["gradebook server"] = "connected"
    except OSError as error:
        outcome["gradebook server"] = f"{{type(error).__name__}}: {{error}}"
pathlib.Path({PROBE_FILE!r}).write_text(json.dumps(outcome))
"""
    )


@pytest.fixture(scope="module")
def submitted_b(released: Klass) -> Path:
    """Student B fetches and submits from the command line: the blank notebook and a probe cell."""
    klass = released
    nbgrader = klass.prefix / "students" / "bin" / "nbgrader"
    klass.student("b", nbgrader, "fetch_assignment", ASSIGNMENT)
    fetched = klass.home("b") / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    notebook = nbformat.read(fetched, as_version=4)
    notebook.cells.append(probe_cell(klass))
    klass.student("b", "tee", fetched, input=nbformat.writes(notebook))
    klass.student("b", nbgrader, "submit", ASSIGNMENT)
    return fetched


@dataclass
class Grading:
    output: str  # what the grading command printed
    scores: dict[str, float]  # student -> the assignment's score, from the gradebook
    students: list[str]  # every student the gradebook knows


@pytest.fixture(scope="module")
def graded(klass: Klass, submitted_a: BrowserRun, submitted_b: Path) -> Grading:
    """The instructor collects, autogrades in parallel in the sandbox, and releases feedback."""
    klass.instructor(".venv/bin/nbgrader", "collect", ASSIGNMENT)
    output = klass.instructor(".venv/bin/python", "-m", "course.grading.parallel", ASSIGNMENT).stdout
    klass.instructor(".venv/bin/nbgrader", "generate_feedback", ASSIGNMENT)
    klass.instructor(".venv/bin/nbgrader", "release_feedback", ASSIGNMENT)
    query = (
        "import json\n"
        "from course.grading.scores import gradebook_url\n"
        "from nbgrader.api import Gradebook\n"
        "from pathlib import Path\n"
        "with Gradebook(gradebook_url(Path.cwd())) as gb:\n"
        f"    scores = {{s.student.id: s.score for s in gb.assignment_submissions({ASSIGNMENT!r})}}\n"
        "    print(json.dumps({'scores': scores, 'students': sorted(s.id for s in gb.students)}))\n"
    )
    result = json.loads(klass.instructor(".venv/bin/python", "-c", query).stdout.strip().splitlines()[-1])
    return Grading(output, result["scores"], result["students"])


@pytest.fixture(scope="module")
def feedback_a(klass: Klass, graded: Grading, page: Page) -> str:
    """Student A fetches the feedback from the Assignment List; the feedback HTML's text, read as A."""
    try:
        open_assignment_list(page)
        page.locator("#refresh_assignments_list").click()
        submitted_row = page.locator("#submitted_assignments_list > .list_item", has_text=ASSIGNMENT)
        submitted_row.get_by_role("button", name="Fetch Feedback").click()
        view = submitted_row.get_by_text("view feedback")
        expect(view).to_be_visible(timeout=60_000)
        shoot(page, "08-feedback-fetched")
        view.click()  # the file browser goes to the feedback's folder
        page.locator(".jp-DirListing-item", has_text=f"{NOTEBOOK}.html").dblclick()
        score = page.frame_locator(".jp-HTMLViewer iframe").get_by_text(re.compile(rf"{NOTEBOOK} \(Score: "))
        expect(score).to_be_visible()
        shoot(page, "09-feedback-opened")
    except Exception:
        shoot(page, "FAILED-feedback")
        raise
    # feedback/<submission time>/<notebook>.html; the time has a space in it
    found = klass.student("a", "find", ASSIGNMENT, "-name", f"{NOTEBOOK}.html", "-print0").stdout.split("\0")[:-1]
    assert len(found) == 1, f"A's feedback files: {found}"
    return klass.student("a", "cat", found[0]).stdout


def test_setup_gives_each_role_its_own_view(klass):
    for who, name in klass.names.items():
        assert klass.home(who).stat().st_mode & 0o777 == 0o700, f"{name}'s home is readable by others"
    assert klass.course.stat().st_mode & 0o777 == 0o700
    course = klass.exchange / "backprop"
    modes = {path.name: path.stat().st_mode & 0o7777 for path in [course, *course.iterdir()]}
    assert modes == {"backprop": 0o755, "outbound": 0o755, "inbound": 0o2733, "feedback": 0o711}
    assert klass.exchange.stat().st_mode & 0o7777 == 0o1777
    sheet = (REPO / "CONVENTIONS.md").read_text(encoding="utf-8")
    for who in ("a", "b"):  # the notebooks link ../CONVENTIONS.md, and nbgrader fetches into ~/<assignment>
        assert klass.student(who, "cat", klass.home(who) / "CONVENTIONS.md").stdout == sheet
        assert klass.home(who).joinpath("CONVENTIONS.md").stat().st_uid == pwd.getpwnam(klass.names[who]).pw_uid
    config = json.loads((klass.prefix / "etc" / "class.json").read_text())
    assert config["ip"] == "127.0.0.1"
    jupyter = klass.prefix / "students" / "bin" / "jupyter"
    listing = klass.student("a", jupyter, "server", "extension", "list")
    extensions = listing.stdout + listing.stderr
    assert re.search(r"nbgrader\.server_extensions\.formgrader\s.*disabled", extensions), extensions
    assert re.search(r"nbgrader\.server_extensions\.assignment_list\s.*enabled", extensions), extensions


def test_the_notation_sheet_is_given_once_and_never_through_a_students_link(klass, tmp_path):
    """Setup run again keeps what a student has there; a link they planted does not make root write elsewhere."""
    (tmp_path / "CONVENTIONS.md").write_text("the sheet")
    root_owned = tmp_path / "root-owned.txt"
    root_owned.write_text("root's")
    sheet, student = klass.home("b") / "CONVENTIONS.md", klass.names["b"]
    klass.student("b", "rm", sheet)
    klass.student("b", "ln", "-s", root_owned, sheet)
    assert students.give_notation_sheet(tmp_path, [student]) == [f"kept {sheet}"]
    assert root_owned.read_text() == "root's" and sheet.is_symlink()
    klass.student("b", "rm", sheet)
    assert students.give_notation_sheet(tmp_path, [student]) == [f"wrote {sheet}"]
    assert klass.student("b", "cat", sheet).stdout == "the sheet"
    assert sheet.stat().st_uid == pwd.getpwnam(student).pw_uid


BAD_ROSTERS = {
    "role": ("{a},Anna,Nowak,instructor\n", "{a} is already a student of this class"),
    "name": ("{instructor},Ada,L,instructor\nAnna Nowak,Anna,Nowak,student\n", "line 3: username 'Anna Nowak'"),
    "twice": ("{instructor},Ada,L,instructor\n{instructor},Ada,L,student\n", "{instructor} is already on line 2"),
    "no instructor": ("{a},Anna,Nowak,student\n", "no instructor"),
}


@pytest.mark.parametrize("case", BAD_ROSTERS)
def test_setup_refuses_a_roster_it_cannot_follow(klass, case):
    lines, message = (text.format(**klass.names) for text in BAD_ROSTERS[case])
    roster = klass.root / f"roster-{case.replace(' ', '-')}.csv"
    roster.write_text("username,first_name,last_name,role\n" + lines)
    result = klass.deploy("setup", *klass.setup_options(roster), check=False)
    assert result.returncode == 1 and message in result.stderr, result.stderr
    assert not result.stdout, "setup changed something before refusing"


def test_setup_wants_root_and_a_python_every_account_can_run(klass):
    roster, course = klass.root / "roster.csv", klass.root / "course-repo"
    command = ["/usr/bin/python3", "-m", "deploy", "setup", "--roster", roster]
    as_student = klass.student("a", *command, cwd=course, check=False)
    assert "run setup as root" in as_student.stderr, as_student.stderr
    # A Python in a folder only root can enter, as pyenv's in /root is.
    private = klass.root / "private"
    private.mkdir(mode=0o700)
    python = private / "python3.11"
    python.write_text('#!/bin/sh\nexec /usr/bin/python3.11 "$@"\n')
    python.chmod(0o755)
    result = klass.deploy("setup", *klass.setup_options(roster), "--python", python, check=False)
    assert "which other accounts cannot enter" in result.stderr, result.stderr


def test_student_a_validates_and_submits_in_the_browser(submitted_a):
    assert submitted_a.menu_items == ["Assignment List"], "students see only the Assignment List in nbgrader's menu"
    assert "Success! Your notebook passes all the tests." in submitted_a.validation
    assert re.search(r"\d{4}-\d\d-\d\d", submitted_a.submitted), submitted_a.submitted  # the submission's time


def test_the_gradebook_has_a_full_and_a_zero_score(klass, graded):
    a, b = klass.names["a"], klass.names["b"]
    assert graded.scores == {a: MAX_SCORE, b: 0}, graded.output
    assert graded.students == sorted([a, b]), "grading added or lost a student"
    if klass.gradebook_url:
        assert not (klass.course / "gradebook.db").exists(), "something used an SQLite gradebook instead of the server"


def test_student_a_reads_the_score_in_the_feedback(feedback_a):
    assert f"{NOTEBOOK} (Score: {MAX_SCORE:.1f} / {MAX_SCORE:.1f})" in feedback_a


def test_a_graded_submission_reaches_no_server_and_no_secret(klass, graded):
    probe = klass.course / "autograded" / klass.names["b"] / ASSIGNMENT / PROBE_FILE
    shutil.copy(probe, ARTIFACTS / PROBE_FILE)
    outcome = json.loads(probe.read_text())
    assert outcome, "the probe cell did not run"
    for target, result in outcome.items():
        assert result not in ("connected", "read"), f"a graded notebook reached the {target}: {outcome}"


def test_students_cannot_read_the_course_or_each_others_work(klass, graded):
    course, exchange = klass.course, klass.exchange / "backprop"
    private = [
        *(course / name for name in ("", "source", "expected", "submitted", "autograded", "feedback")),
        klass.home("b") / ASSIGNMENT,  # B's own copy
        exchange / "inbound",  # everyone's submissions: students may write there, not list
        exchange / "feedback",  # everyone's feedback, found only by the hash of one's own submission
    ]
    for path in private:
        result = klass.student("a", "ls", path, check=False)
        assert "Permission denied" in result.stderr, f"student A listed {path}: {result.stdout}"
    gradebook = klass.student("a", "cat", course / "gradebook.db", check=False)
    assert "Permission denied" in gradebook.stderr, gradebook.stdout
    socket_folder = re.search(r"host=([^&]+)", klass.gradebook_url or "")
    if socket_folder:  # a gradebook server: its socket is the instructor's group's alone
        connect = f"import socket; socket.socket(socket.AF_UNIX).connect('{socket_folder.group(1)}/.s.PGSQL.5432')"
        server = klass.student("a", "python", "-c", connect, check=False)
        assert "PermissionError" in server.stderr, f"student A opened the gradebook server's socket: {server}"


def test_the_instructor_sees_the_submissions_in_the_formgrader(browser, klass, graded):
    """The instructor's server comes from their course's .venv, in the course, with the class's
    exchange and gradebook: the formgrader finds the assignment, released, with both submissions."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    try:
        instructor = klass.names["instructor"]
        log_in(page, klass, instructor)
        page.goto(f"{klass.url}/user/{instructor}/formgrader")
        row = page.locator("tr", has=page.locator("td.name", has_text=ASSIGNMENT))
        expect(row).to_be_visible()
        expect(row.locator("td.num-submissions")).to_have_text("2")
        shoot(page, "10-instructor-formgrader")
    except Exception:
        shoot(page, "FAILED-instructor")
        raise
    finally:
        context.close()
