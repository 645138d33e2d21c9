"""The class list an admin hands to setup: one CSV line per person, read strictly.

A mistake here becomes a Unix account, so every line is checked before anything is made, and the
error names the line. Columns (a header line first, in any order, more columns ignored):
``username,first_name,last_name,role`` with role ``instructor`` or ``student``. Passwords are not
in the roster (a CSV of passwords would be copied and mailed around); the admin sets them with
``chpasswd`` or the machine's PAM already knows them.
"""

import csv
import re
from dataclasses import dataclass
from pathlib import Path

COLUMNS = ("username", "first_name", "last_name", "role")
ROLES = ("instructor", "student")
# Debian's rule for login names (useradd's NAME_REGEX), at most 32 characters.
USERNAME = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
# What the passwd file's comment field cannot hold: its separators and line breaks.
NOT_IN_NAMES = re.compile(r"[:,=\n\r]")


class RosterError(ValueError):
    """The roster cannot be used as it is; the message names the file, the line and the fix."""


@dataclass(frozen=True)
class Person:
    username: str
    first_name: str
    last_name: str
    role: str

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


def _person(row: dict[str, str], where: str) -> Person:
    values = {column: (row.get(column) or "").strip() for column in COLUMNS}
    if not USERNAME.fullmatch(values["username"]):
        raise RosterError(
            f"{where}: username {values['username']!r} is not a Unix login name "
            "(lowercase letters, digits, _ and -, starting with a letter or _, at most 32 characters)"
        )
    if values["role"] not in ROLES:
        raise RosterError(f"{where}: role {values['role']!r} is neither 'instructor' nor 'student'")
    for column in ("first_name", "last_name"):
        if NOT_IN_NAMES.search(values[column]):
            raise RosterError(
                f"{where}: {column} {values[column]!r} contains ':', ',' or '=', which a passwd entry cannot"
            )
    return Person(**values)


def read_roster(path: Path) -> list[Person]:
    """Every person of the roster at ``path``, checked: known columns, valid names, no duplicates."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # a spreadsheet's export may start with a BOM
    except (OSError, UnicodeDecodeError) as error:
        raise RosterError(f"cannot read the roster {path}: {error}") from None
    reader = csv.DictReader(text.splitlines())
    missing = [column for column in COLUMNS if column not in (reader.fieldnames or [])]
    if missing:
        raise RosterError(
            f"{path}: the first line must name the columns {','.join(COLUMNS)}; missing {', '.join(missing)}"
        )
    people: list[Person] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(reader, start=2):
        if not any((value or "").strip() for value in row.values()):
            continue  # a blank line
        person = _person(row, f"{path}, line {number}")
        if person.username in seen:
            raise RosterError(f"{path}, line {number}: {person.username} is already on line {seen[person.username]}")
        seen[person.username] = number
        people.append(person)
    if not any(person.role == "instructor" for person in people):
        raise RosterError(f"{path}: no instructor; the class needs one to release and collect assignments")
    return people
