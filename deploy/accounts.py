"""The class's Unix accounts: one per roster line, in the Unix group of its role, home private.

Roles are Unix groups (``<prefix>-instructors``, ``<prefix>-students``), the one place JupyterHub
(who may log in, which server they get), the file permissions and a rerun of setup all read
them from. nbgrader's exchange hands files between real accounts, so these are real logins.
Homes are made mode 0700: Debian's useradd makes them 0755, which would let every student read
every other student's notebooks.
"""

import grp
import pwd
from pathlib import Path

from deploy.commands import SetupError, run
from deploy.record import Record
from deploy.roster import ROLES, Person


def group_names(prefix: str) -> dict[str, str]:
    """role -> the Unix group of that role."""
    return {role: f"{prefix}-{role}s" for role in ROLES}


def members(group: str) -> set[str]:
    try:
        return set(grp.getgrnam(group).gr_mem)
    except KeyError:
        return set()


def ensure_groups(groups: dict[str, str], record: Record) -> None:
    for name in groups.values():
        try:
            grp.getgrnam(name)
        except KeyError:
            run(["groupadd", name])
            record.add("groups", name)


def account_exists(username: str) -> bool:
    try:
        pwd.getpwnam(username)
    except KeyError:
        return False
    return True


def check_roles(people: list[Person], groups: dict[str, str]) -> None:
    """Refuse a roster that gives an existing member of the class another role, before changing anything."""
    for person in people:
        for role, group in groups.items():
            if role != person.role and person.username in members(group):
                raise SetupError(
                    f"{person.username} is already a {role} of this class (group {group}) and the roster "
                    f"says {person.role}: fix the roster, or take them out of the group first "
                    f"(gpasswd -d {person.username} {group})"
                )


def ensure_account(person: Person, group: str, record: Record) -> str:
    """Create ``person``'s account (or adopt an existing one) in ``group``; what was done, for the log."""
    if account_exists(person.username):
        run(["usermod", "--append", "--groups", group, person.username])
        home = Path(pwd.getpwnam(person.username).pw_dir)
        if home.is_dir() and home.stat().st_mode & 0o077:
            return f"kept the existing account {person.username}; its home {home} is readable by others"
        return f"kept the existing account {person.username}"
    run(
        [
            "useradd",
            "--create-home",
            "--shell",
            "/bin/bash",
            "--comment",
            person.full_name,
            "--groups",
            group,
            person.username,
        ]
    )
    record.add("accounts", person.username)
    Path(pwd.getpwnam(person.username).pw_dir).chmod(0o700)
    return f"created {person.username} ({person.role})"
