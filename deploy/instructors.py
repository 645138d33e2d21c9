"""An instructor's copy of the course: a clone in their home, its .venv, and the student package
built from it.

Everything here runs as the instructor (runuser), never as root: the clone is theirs, and root
never executes code from a folder an instructor can write to. The home and the course folder are
mode 0700, so students cannot read ``source/`` (the solutions), ``expected/`` (the reference
records), the gradebook or anyone's submission.
"""

import os
import pwd
import re
import shutil
from pathlib import Path

from deploy.commands import SetupError, run, run_as

PACKAGE = "backprop-student"  # course.grading.handout.package's folder for both languages


def course_id(course: Path) -> str:
    """The course id of the course's nbgrader_config.py, which the exchange and students must share."""
    found = re.search(
        r"""^c\.CourseDirectory\.course_id\s*=\s*["']([^"']+)["']""", _read(course / "nbgrader_config.py"), re.M
    )
    if not found:
        raise SetupError(f"{course}/nbgrader_config.py sets no c.CourseDirectory.course_id")
    return found.group(1)


def uv_version(course: Path) -> str:
    """The uv the course's Makefile installs, so setup builds environments with the same one."""
    found = re.search(r"^UV_VERSION\s*:?=\s*(\S+)", _read(course / "Makefile"), re.M)
    if not found:
        raise SetupError(f"{course}/Makefile sets no UV_VERSION")
    return found.group(1)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as error:
        raise SetupError(f"cannot read {path}: is --course the course's repository? ({error})") from None


def clone(source: str, username: str, folder_name: str) -> Path:
    """``git clone`` the course into the instructor's home, once; a later setup leaves their work alone."""
    user = pwd.getpwnam(username)
    home = Path(user.pw_dir)
    target = home / folder_name
    if not (target / ".git").is_dir():
        if target.exists():
            raise SetupError(f"{target} exists and is not a git clone of the course: move it away first")
        # As root, who can read the admin's checkout; then handed over whole to the instructor.
        run(["git", "clone", "--quiet", source, target])
        for path in [target, *target.rglob("*")]:
            os.lchown(path, user.pw_uid, user.pw_gid)
    home.chmod(0o700)
    target.chmod(0o700)
    return target


def build_venv(username: str, course: Path, python: Path) -> None:
    """``make .venv/.ready`` in the clone, as the instructor, with a Python every account can run."""
    run_as(username, ["make", "--no-print-directory", "-C", course, ".venv/.ready", f"PYTHON={python}"], cwd=course)


def student_package(username: str, course: Path, target: Path) -> Path:
    """Build the student package from the instructor's clone and copy it to ``target`` (root's).

    The copy is what root installs from: the instructor cannot change it while it is installed.
    """
    dist = course / "dist"
    command = [course / ".venv" / "bin" / "python", "-m", "course.grading.handout.package"]
    run_as(username, [*command, "--root", course, "--dist", dist, "--lang", "both"], cwd=course)
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(dist / PACKAGE, target)
    for path in [target, *target.rglob("*")]:
        os.lchown(path, 0, 0)
    return target
