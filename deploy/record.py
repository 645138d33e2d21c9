"""What setup made, written down as it goes, so that ``remove`` takes away exactly that.

An account, a group or a folder that existed before setup (a student who already had a login, a
shared /srv) is never in the record, so removing the class leaves it alone. The record is saved
after every addition: a setup that stopped half-way can still be removed.
"""

import json
import os
import pwd
import shutil
import signal
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

NAME = "setup-record.json"
KILL_WAIT = 10  # seconds an account's processes get to exit after SIGTERM


@dataclass
class Record:
    path: Path
    accounts: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, prefix: Path) -> "Record":
        path = prefix / NAME
        if not path.is_file():
            return cls(path)
        saved = json.loads(path.read_text())
        return cls(path, saved["accounts"], saved["groups"], saved["folders"])

    def save(self) -> None:
        if self.path.parent.is_dir():  # the prefix is the first folder made; nothing before it
            data = {key: value for key, value in asdict(self).items() if key != "path"}
            self.path.write_text(json.dumps(data, indent=2) + "\n")

    def add(self, kind: str, name: str | Path) -> None:
        names = getattr(self, kind)
        if str(name) not in names:
            names.append(str(name))
            self.save()

    def make_folder(self, path: Path, mode: int = 0o755) -> None:
        """Create ``path`` and its missing parents; record the topmost folder it created."""
        missing = [folder for folder in [path, *path.parents] if not folder.exists()]
        if not missing:
            return
        path.mkdir(parents=True)
        for folder in missing:
            folder.chmod(mode)
        if not any(missing[-1].is_relative_to(folder) for folder in self.folders):
            self.add("folders", missing[-1])


def processes_of(uid: int) -> list[int]:
    """The ids of the processes running as ``uid`` (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    found.append(int(entry.name))
            except FileNotFoundError:
                pass  # it exited meanwhile
    return found


def stop_processes(uid: int) -> None:
    """End what an account still runs (kernels, a server the hub lost track of): TERM, then KILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in processes_of(uid):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + KILL_WAIT
        while processes_of(uid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if not processes_of(uid):
            return


def undo(record: Record) -> list[str]:
    """Remove the recorded accounts (with their homes), groups and folders; returns what failed."""
    problems = []
    for name in reversed(record.accounts):
        try:
            stop_processes(pwd.getpwnam(name).pw_uid)
        except KeyError:
            continue  # already gone
        result = subprocess.run(["userdel", "--remove", name], capture_output=True, text=True)
        if result.returncode not in (0, 12):  # 12: the home was already gone
            problems.append(f"userdel {name}: {result.stderr.strip()}")
    for name in reversed(record.groups):
        result = subprocess.run(["groupdel", name], capture_output=True, text=True)
        if result.returncode not in (0, 6):  # 6: no such group
            problems.append(f"groupdel {name}: {result.stderr.strip()}")
    for folder in reversed(record.folders):
        shutil.rmtree(folder, ignore_errors=True)
        if Path(folder).exists():
            problems.append(f"could not remove {folder}")
    record.path.unlink(missing_ok=True)  # when the prefix was there before setup
    return problems
