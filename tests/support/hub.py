"""A class on this machine for tests/test_hub.py: the course as a git repository to set up from,
accounts with names no one else has, commands run as those accounts, and removing it all.

The test sets the class up with deploy/ exactly as an admin would (``python3 -m deploy setup``)
and takes it away with ``python3 -m deploy remove``; ``remove_leftovers`` is the safety net for a
setup that failed before it recorded what it made.
"""

import os
import pwd
import secrets
import shutil
import signal
import socket
import string
import subprocess
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path

from deploy.record import processes_of
from tests.support.nbrun import REPO

ACCOUNT_PREFIX = "bpt"  # every account and group the test makes starts with it
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "test_hub",
    "GIT_AUTHOR_EMAIL": "test_hub@localhost",
    "GIT_COMMITTER_NAME": "test_hub",
    "GIT_COMMITTER_EMAIL": "test_hub@localhost",
}


def missing_reason() -> str | None:
    """None when this machine can make real accounts and run commands as them; else why not."""
    if os.geteuid() != 0:
        return "creating Unix accounts and starting JupyterHub with PAM needs root"
    missing = [
        tool for tool in ("runuser", "useradd", "userdel", "groupadd", "chpasswd", "git") if not shutil.which(tool)
    ]
    if missing:
        return f"missing {', '.join(missing)}"
    if not Path("/usr/bin/python3.11").is_file():
        return "no system-wide Python 3.11 (/usr/bin/python3.11) for the class's environments"
    return None


def course_repository(target: Path) -> Path:
    """The working tree as `git commit -a` plus new files would record it, as a repository in ``target``.

    The lead's uncommitted edits are what the class must run, so a plain ``git clone`` of the
    repository (its last commit) is not enough; copying the folder would bring .venv, dist/, the
    gradebook and autograded work along. Git's own list of the tree (tracked files that still
    exist, and untracked files .gitignore does not exclude) is exactly what a commit would hold.
    """
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    env = {**os.environ, **GIT_IDENTITY}
    for command in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["commit", "-q", "-m", "the working tree of /work/main"],
    ):
        subprocess.run(["git", *command], cwd=target, env=env, check=True, capture_output=True)
    return target


def class_prefix() -> str:
    """``bpt`` and five random letters: names no account or group on the machine has."""
    while True:
        prefix = ACCOUNT_PREFIX + "".join(secrets.choice(string.ascii_lowercase) for _ in range(5))
        if not any(entry.pw_name.startswith(prefix) for entry in pwd.getpwall()):
            return prefix


def free_ports(count: int) -> list[int]:
    """``count`` different free ports on 127.0.0.1 (all held open at once while they are picked)."""
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


def run_as(
    user: str,
    *argv: str | Path,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    timeout: float = 600,
    input: str | None = None,
) -> subprocess.CompletedProcess:
    """Run ``argv`` as Unix account ``user`` with a clean environment (their home, the system PATH)."""
    home = pwd.getpwnam(user).pw_dir
    variables = {"HOME": home, "USER": user, "LOGNAME": user, "PATH": SYSTEM_PATH, "LANG": "C.UTF-8", **(env or {})}
    command = ["runuser", "-u", user, "--", "env", "-i", *(f"{k}={v}" for k, v in variables.items()), *map(str, argv)]
    result = subprocess.run(command, cwd=cwd or home, input=input, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(
            f"`{' '.join(map(str, argv))}` as {user} failed ({result.returncode}):\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result


def set_passwords(passwords: Mapping[str, str]) -> None:
    lines = "".join(f"{user}:{password}\n" for user, password in passwords.items())
    subprocess.run(["chpasswd"], input=lines, text=True, check=True)


def remove_leftovers(accounts: Sequence[str], groups: Sequence[str] = ()) -> list[str]:
    """Remove whichever of ``accounts`` (their processes killed by pid, their homes deleted) and
    ``groups`` still exist; returns the names it had to remove, which should be none."""
    removed = []
    for name in accounts:
        try:
            uid = pwd.getpwnam(name).pw_uid
        except KeyError:
            continue
        for pid in processes_of(uid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        subprocess.run(["userdel", "--remove", name], capture_output=True)
        removed.append(name)
    for group in groups:
        if subprocess.run(["groupdel", group], capture_output=True).returncode == 0:
            removed.append(group)
    return removed
