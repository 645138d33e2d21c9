"""The students' environment: what every student's JupyterLab runs from, and nothing an instructor keeps.

It is the student package's requirements (the exact versions the course is tested with, and the
course's helpers from its wheel) plus ``jupyterhub-singleuser``, in one virtual environment under
the prefix, owned by root and readable by all. Its ``etc/jupyter`` holds what every student
shares: nbgrader's course id and exchange, and nbgrader's instructor-only parts switched off.
Switching them off is for a clean menu, not for security: a student can still run a JupyterLab of
their own with them (from a terminal), and then finds no course to grade. What keeps the course
from students is that its files are in the instructor's private home.
"""

import json
import os
import pwd
from pathlib import Path

from deploy.commands import run
from deploy.record import Record

# nbgrader 0.9's instructor-side parts: server extensions and JupyterLab plugins of @jupyter/nbgrader.
INSTRUCTOR_SERVER_EXTENSIONS = ["nbgrader.server_extensions.formgrader", "nbgrader.server_extensions.course_list"]
INSTRUCTOR_LAB_PLUGINS = [
    "@jupyter/nbgrader:formgrader",
    "@jupyter/nbgrader:create-assignment",
    "@jupyter/nbgrader:course-list",
]
NBGRADER_CONFIG = '''"""nbgrader for every student of this server (written by deploy/students.py)."""

c = get_config()  # noqa: F821
c.CourseDirectory.course_id = {course_id!r}
c.Exchange.root = {exchange!r}
'''
# JupyterLab would otherwise ask every student whether to fetch Jupyter's news from the internet.
LAB_OVERRIDES = {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}}


def build(env: Path, package: Path, constraints: Path, python: Path, uv: Path, record: Record) -> None:
    """Create or update the environment at ``env`` from the student ``package`` folder.

    ``constraints`` (the course's requirements.txt) pins what the package does not: JupyterHub and
    what it pulls in, so the students' server and the hub are the same tested version.
    """
    if not (env / "bin" / "python").exists():
        record.make_folder(env)
        run([python, "-m", "venv", env])
    install = [uv, "pip", "install", "--quiet", "--python", env / "bin" / "python", "--link-mode", "copy"]
    # The helpers' wheel keeps its version number from one course edit to the next: reinstall it.
    install += ["--reinstall-package", "backprop-course", "-r", "requirements.txt", "-c", constraints, "jupyterhub"]
    run(install, cwd=package)  # the requirements name the wheel relative to the package folder


def configure(env: Path, course_id: str, exchange: Path) -> None:
    """nbgrader's settings for students, and the instructors' parts of nbgrader switched off."""
    jupyter = env / "bin" / "jupyter"
    run([jupyter, "server", "extension", "disable", "--sys-prefix", *INSTRUCTOR_SERVER_EXTENSIONS])
    # Disabled, and locked so that JupyterLab's plugin manager does not offer to enable them again
    # (`disable` alone locks only what was disabled before it ran).
    for action in ("disable", "lock"):
        run([jupyter, "labextension", action, "--level=sys_prefix", *INSTRUCTOR_LAB_PLUGINS])
    etc = env / "etc" / "jupyter"
    etc.mkdir(parents=True, exist_ok=True)
    (etc / "nbgrader_config.py").write_text(NBGRADER_CONFIG.format(course_id=course_id, exchange=str(exchange)))
    settings = env / "share" / "jupyter" / "lab" / "settings"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "overrides.json").write_text(json.dumps(LAB_OVERRIDES, indent=2) + "\n")


def give_notation_sheet(package: Path, usernames: list[str]) -> list[str]:
    """Put the course's notation sheet where the notebooks link it: ``~/CONVENTIONS.md`` of each student.

    nbgrader fetches an assignment into ``~/<assignment>/``, and every notebook's title cells link
    the sheet as ``../CONVENTIONS.md`` (the student package keeps it beside the assignment
    folders, the same layout). Each student gets a copy of their own, once: setup run again
    leaves whatever is there, which the student may have changed or replaced. The file is created
    without following links and only if nothing is there, so a link a student planted cannot
    make root write elsewhere. Returns what was done, for the log.
    """
    sheet = (package / "CONVENTIONS.md").read_bytes()
    done = []
    for username in usernames:
        account = pwd.getpwnam(username)
        path = Path(account.pw_dir) / "CONVENTIONS.md"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        except FileExistsError:
            done.append(f"kept {path}")
            continue
        with os.fdopen(fd, "wb") as out:
            os.fchown(out.fileno(), account.pw_uid, account.pw_gid)
            out.write(sheet)
        done.append(f"wrote {path}")
    return done
