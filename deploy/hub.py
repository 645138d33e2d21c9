"""JupyterHub itself: its virtual environment, the proxy from npm, its settings, and starting and
stopping it.

The hub runs as root (PAM has to check passwords and the spawner has to start each server as its
own account), from ``<prefix>/hub``, with its state (user database, cookie secret, log, pid) in
``<prefix>/state``, readable by root only. ``deploy/jupyterhub_config.py`` is copied next to a
``class.json`` of this class's settings, so the config file itself is the same on every server.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from deploy.commands import SYSTEM_PATH, SetupError, run
from deploy.record import Record

PROXY_PACKAGE = "configurable-http-proxy"
PROXY_VERSION = "5.3.0"
CONFIG = Path(__file__).with_name("jupyterhub_config.py")
START_TIMEOUT = 60  # seconds for the hub and its proxy to answer
STOP_TIMEOUT = 30  # seconds for the hub to stop its users' servers and the proxy


@dataclass
class Settings:
    """What ``jupyterhub_config.py`` reads from ``class.json``: this class on this server."""

    ip: str
    port: int
    hub_port: int  # the hub's own API, on loopback
    proxy_api_port: int  # the proxy's REST API, on loopback
    proxy: str
    state: str
    students_env: str
    groups: dict[str, str]
    course_folder: str  # the course's folder in an instructor's home
    exchange: str
    gradebook_url: str | None


def layout(prefix: Path) -> dict[str, Path]:
    """Where the hub's parts live under ``prefix``."""
    return {
        "env": prefix / "hub",
        "proxy": prefix / "proxy",
        "etc": prefix / "etc",
        "state": prefix / "state",
    }


def install(prefix: Path, python: Path, constraints: Path, uv_version: str, record: Record) -> Path:
    """JupyterHub in ``<prefix>/hub`` (with uv, which also builds the students' environment) and
    the proxy in ``<prefix>/proxy``; returns the proxy's command.

    Both at the versions the course pins: JupyterHub from the course's requirements.txt
    (``constraints``), configurable-http-proxy at PROXY_VERSION.
    """
    if not re.search(r"^jupyterhub==", constraints.read_text(), re.M | re.I):
        raise SetupError(f"{constraints} pins no jupyterhub: the hub and the users' servers must be one tested version")
    paths = layout(prefix)
    env = paths["env"]
    if not (env / "bin" / "python").exists():
        record.make_folder(env)
        run([python, "-m", "venv", env])
    run([env / "bin" / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", f"uv=={uv_version}"])
    run(
        [
            env / "bin" / "uv",
            "pip",
            "install",
            "--quiet",
            "--python",
            env / "bin" / "python",
            "-c",
            constraints,
            "jupyterhub",
        ]
    )

    proxy = paths["proxy"] / "node_modules" / ".bin" / PROXY_PACKAGE
    installed = paths["proxy"] / "node_modules" / PROXY_PACKAGE / "package.json"
    if not installed.is_file() or json.loads(installed.read_text())["version"] != PROXY_VERSION:
        record.make_folder(paths["proxy"])
        spec = f"{PROXY_PACKAGE}@{PROXY_VERSION}"
        run(["npm", "install", "--prefix", paths["proxy"], "--no-audit", "--no-fund", "--loglevel=error", spec])
    return proxy


def configure(prefix: Path, settings: Settings, record: Record) -> Path:
    """Write the hub's config and ``class.json`` into ``<prefix>/etc``; returns the config's path."""
    paths = layout(prefix)
    record.make_folder(paths["etc"])
    record.make_folder(paths["state"], mode=0o700)
    shutil.copyfile(CONFIG, paths["etc"] / CONFIG.name)
    (paths["etc"] / "class.json").write_text(json.dumps(asdict(settings), indent=2) + "\n")
    return paths["etc"] / CONFIG.name


def url(prefix: Path) -> str:
    """The address the hub answers on, as a browser on this machine reaches it."""
    settings = json.loads((layout(prefix)["etc"] / "class.json").read_text())
    host = "127.0.0.1" if settings["ip"] in ("", "0.0.0.0") else settings["ip"]
    return f"http://{host}:{settings['port']}"


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists and has not exited (a zombie nobody reaped has)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def running(prefix: Path) -> int | None:
    """The pid of this prefix's hub if it runs (its pid file names a live jupyterhub), else None."""
    pid_file = layout(prefix)["state"] / "jupyterhub.pid"
    try:
        pid = int(pid_file.read_text())
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if b"jupyterhub" in command and alive(pid) else None


def start(prefix: Path) -> str:
    """Start the hub in the background, wait until it answers; returns its URL."""
    paths = layout(prefix)
    if running(prefix):
        raise SetupError(f"the hub of {prefix} is already running: stop it first (python3 -m deploy stop)")
    log = paths["state"] / "jupyterhub.log"
    command = [paths["env"] / "bin" / "jupyterhub", "-f", paths["etc"] / CONFIG.name]
    env = {"PATH": f"{paths['env'] / 'bin'}:{SYSTEM_PATH}", "LANG": "C.UTF-8", "HOME": str(paths["state"])}
    with log.open("a") as output:
        process = subprocess.Popen(
            command, cwd=paths["state"], env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    (paths["state"] / "jupyterhub.pid").write_text(f"{process.pid}\n")
    address = url(prefix)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"{address}/hub/api", timeout=2) as response:
                if response.status == 200:
                    return address
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    process.terminate()
    try:
        process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
    raise SetupError(f"JupyterHub did not answer at {address} within {START_TIMEOUT} s; {log} ends with:\n{tail}")


def stop(prefix: Path) -> bool:
    """Stop the hub (it stops its users' servers and the proxy first); False if it was not running."""
    pid = running(prefix)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if alive(pid):
        os.killpg(pid, signal.SIGKILL)  # the hub and its proxy: they share the session it was started in
    (layout(prefix)["state"] / "jupyterhub.pid").unlink(missing_ok=True)
    return True
