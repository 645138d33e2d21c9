"""What the server needs before setup can make a class: root, Debian's tools, a Python that every
account can run, and a Node.js recent enough for the proxy.

Missing Debian packages are installed with apt-get, as the course's Makefile installs bubblewrap;
what apt-get cannot fix (an old Node.js, a Python inside root's home) stops setup with the fix.
"""

import os
import shutil
import stat
import subprocess
from pathlib import Path

from deploy.commands import SetupError, run

# A command setup or the class runs, and the Debian package that has it.
TOOLS = {
    "runuser": "util-linux",
    "useradd": "passwd",
    "git": "git",  # the instructor's copy of the course is a clone
    "make": "make",  # the instructor's .venv is built by the course's Makefile
    "bwrap": "bubblewrap",  # the grading sandbox
    "npm": "npm",  # configurable-http-proxy comes from npm
}
NODE_MAJOR = 20  # configurable-http-proxy 5.3.0 declares "engines": {"node": ">= 20"}


def require_root() -> None:
    if os.geteuid() != 0:
        raise SetupError("run setup as root (sudo): it creates Unix accounts and system folders")


def apt_install(packages: list[str]) -> None:
    """``apt-get install`` the Debian ``packages``, once more after ``apt-get update`` if that fails."""
    apt = shutil.which("apt-get")
    if apt is None:
        raise SetupError(f"missing {', '.join(packages)} and no apt-get to install them with: install them first")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = [apt, "-o", "DPkg::Lock::Timeout=120", "install", "-y", "-q", *packages]
    if subprocess.run(command, env=env, capture_output=True).returncode != 0:
        run([apt, "-q", "update"], env=env)
        run(command, env=env)


def install_tools(python: Path) -> None:
    """Install whatever of TOOLS is missing, and ``venv`` support for ``python`` (Debian splits it off)."""
    missing = sorted({package for tool, package in TOOLS.items() if shutil.which(tool) is None})
    if subprocess.run([python, "-c", "import ensurepip"], capture_output=True).returncode != 0:
        missing.append(f"python3.{python_minor(python)}-venv")
    if missing:
        print(f"Installing Debian packages: {' '.join(missing)}")
        apt_install(missing)


def python_minor(python: Path) -> int:
    output = run([python, "-c", "import sys; print(sys.version_info[0], sys.version_info[1])"]).split()
    if output[0] != "3":
        raise SetupError(f"{python} is not Python 3")
    return int(output[1])


def shared_python(python: Path) -> Path:
    """``python`` if it is Python 3.11 and every account can run it, else a SetupError saying why.

    Every virtual environment setup makes points at its base interpreter, and students' servers
    and the instructor's kernels run as their own accounts: a Python under a private folder (a
    pyenv install in /root) would make them fail at their first import, long after setup.
    """
    if not python.is_file():
        raise SetupError(f"no Python at {python}: install Debian's python3.11 or pass --python")
    real = python.resolve()
    for folder in real.parents:
        if not folder.stat().st_mode & stat.S_IXOTH:
            raise SetupError(
                f"{python} is {real}, inside {folder}, which other accounts cannot enter: students' "
                "servers could not run it. Pass a system-wide Python 3.11, e.g. --python /usr/bin/python3.11"
            )
    if python_minor(python) != 11:
        raise SetupError(f"{python} is not Python 3.11, which the course's pins are made for")
    return python


def check_node() -> None:
    """Node.js must be new enough for configurable-http-proxy (Debian 12's own is 18)."""
    version = run(["node", "--version"]).strip()
    if int(version.lstrip("v").split(".")[0]) < NODE_MAJOR:
        raise SetupError(
            f"configurable-http-proxy needs Node.js {NODE_MAJOR} or newer and this machine has {version} "
            f"(Debian 12 ships 18): install Node.js {NODE_MAJOR} (e.g. NodeSource's packages) and run setup again"
        )
