"""nbgrader's exchange on this server: one folder every account can reach, set up the way nbgrader
expects and with the course's folder made before any student can make it.

nbgrader documents the root as ``mkdir /srv/nbgrader/exchange; chmod ugo+rw``, and its release
step makes the course's folder with the modes below if it is missing. On a shared machine that
leaves a window: a student who creates ``<root>/<course>`` first owns it, and so every later
submission. So the course folder and its three subfolders are made here, owned by the instructor
who releases and collects, in nbgrader's own modes; the root gets the sticky bit as well (as
/tmp has), so nobody but its owner can rename or delete the course folder. nbgrader checks only
the root's ``rwxrwxrwx`` bits, which stay as it wants them.
"""

import os
import pwd
import stat
from pathlib import Path

from deploy.record import Record

ROOT_MODE = 0o1777
# nbgrader 0.9's ExchangeReleaseAssignment / ExchangeReleaseFeedback modes (not group-shared).
COURSE_MODES = {
    ".": 0o755,
    "outbound": 0o755,  # released assignments: everyone reads
    "inbound": 0o2733,  # submissions: everyone writes, only the instructor lists
    "feedback": 0o711,  # feedback files, found only by their hash
}


def prepare(root: Path, course_id: str, owner: str, record: Record) -> Path:
    """Make (or put right) the exchange at ``root`` for ``course_id``, owned by ``owner``; returns its course folder."""
    record.make_folder(root, mode=0o755)
    root.chmod(ROOT_MODE)
    account = pwd.getpwnam(owner)
    course = root / course_id
    for name, mode in COURSE_MODES.items():
        folder = course / name
        folder.mkdir(exist_ok=True)
        os.chown(folder, account.pw_uid, account.pw_gid)
        folder.chmod(mode)
    return course


def describe(course: Path) -> str:
    """One line per folder: mode and owner, for setup's summary."""
    lines = []
    for folder in [course.parent, *(course / name for name in COURSE_MODES)]:
        info = folder.stat()
        lines.append(f"  {stat.filemode(info.st_mode)} {pwd.getpwuid(info.st_uid).pw_name:<12} {folder.resolve()}")
    return "\n".join(lines)
