"""Headless Chromium and JupyterLab servers for the browser tests (tests/test_browser.py).

Chromium is Debian's (/usr/bin/chromium), installed with apt-get on first use when the tests run
as root; Playwright drives it (its own browser download does not work on the course's machines).
Servers run the exact shell line of a Makefile target (`make lab`, `make formgrader`) in a copy of
the course, on 127.0.0.1, a free port and a token, with Jupyter's per-user state in a temporary
folder, so neither the developer's settings nor the repository's gradebook are touched.
"""

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tests.support.nbrun import REPO

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM = Path("/usr/bin/chromium")
# Headless, and as root: --no-sandbox, since Chromium's own sandbox refuses to start as root;
# --disable-gpu, there is no GPU. Without the background-networking flags Chromium keeps trying
# to reach Google's hosts, which this machine's closed network refuses.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
APT_TIMEOUT = 600  # seconds for one apt-get call (chromium is ~100 MB with what it pulls in)
SERVER_START_TIMEOUT = 60


def _apt_get(apt: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [apt, "-o", "DPkg::Lock::Timeout=120", *args],
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        capture_output=True,
        text=True,
        timeout=APT_TIMEOUT,
    )


def chromium_missing_reason() -> str | None:
    """None when Chromium is at CHROMIUM, installing it first if possible; else why it is not there.

    Installs with `apt-get install -y chromium` only when running as root and apt-get exists; if
    that fails (a fresh machine may have no package lists yet), once more after `apt-get update`.
    """
    if CHROMIUM.exists():
        return None
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return f"{CHROMIUM} is missing and installing it needs root: run `apt-get install -y chromium` as root"
    apt = shutil.which("apt-get")
    if apt is None:
        return f"{CHROMIUM} is missing and there is no apt-get to install it with"
    try:
        result = _apt_get(apt, "install", "-y", "chromium")
        if result.returncode != 0:
            _apt_get(apt, "update")
            result = _apt_get(apt, "install", "-y", "chromium")
    except subprocess.TimeoutExpired as error:
        return f"`apt-get install -y chromium` did not finish in {error.timeout} s"
    if result.returncode != 0 or not CHROMIUM.exists():
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-5:])
        return f"`apt-get install -y chromium` failed (exit {result.returncode}):\n{tail}"
    return None


def make_recipe(target: str) -> list[str]:
    """The shell lines `make <target>` runs, read from the Makefile by a dry run (.venv taken as ready)."""
    dry_run = subprocess.run(
        ["make", "--no-print-directory", "-s", "-n", "-o", ".venv/.ready", target],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line for line in dry_run.splitlines() if line.strip()]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class JupyterServer:
    process: subprocess.Popen
    port: int
    token: str
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "/") -> str:
        """``path`` on this server, with the token that logs the browser in."""
        return f"{self.base_url}{path}?token={self.token}"

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def wait_ready(self, timeout: float = SERVER_START_TIMEOUT) -> bool:
        """Poll /api/status until the server answers; False if it exits or the time runs out."""
        headers = {"Authorization": f"token {self.token}"}
        request = urllib.request.Request(f"{self.base_url}/api/status", headers=headers)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                with urllib.request.urlopen(request, timeout=2) as response:
                    if response.status == 200:
                        return True
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        return False

    def stop(self) -> None:
        """Stop the server (it shuts its kernels down), killing its process group if it hangs."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)


def jupyter_state(folder: Path) -> dict[str, str]:
    """Environment giving Jupyter, JupyterLab and IPython fresh per-user folders under ``folder``.

    Also turns off JupyterLab's "get notified about Jupyter news?" toast, which would cover part of
    every screenshot.
    """
    names = {
        "JUPYTER_CONFIG_DIR": "config",
        "JUPYTER_DATA_DIR": "data",
        "JUPYTER_RUNTIME_DIR": "runtime",
        "JUPYTERLAB_SETTINGS_DIR": "lab-settings",
        "JUPYTERLAB_WORKSPACES_DIR": "lab-workspaces",
        "IPYTHONDIR": "ipython",
    }
    env = {variable: str(folder / name) for variable, name in names.items()}
    notification = folder / "lab-settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True, exist_ok=True)
    notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    return env


def start_jupyter(recipe: list[str], cwd: Path, state: Path, log: Path, attempts: int = 3) -> JupyterServer:
    """Run ``recipe`` (shell lines ending in `jupyter lab ...`) in ``cwd`` on 127.0.0.1, a free port and a token.

    The lines run as make runs them, through /bin/sh, stopping at the first that fails, with the
    address and token appended to the last; ``cwd`` needs the `.venv` the lines name (a symlink to
    the repository's). Retries on another port if the server exits at once (the free port was
    taken meanwhile).
    """
    *before, server_line = recipe
    assert "jupyter lab" in server_line, f"the recipe does not end by starting JupyterLab: {recipe}"
    # env: the line may start with VAR=value; exec: the server replaces the shell (stop() reaches it).
    script = "\n".join(["set -e", *before, f'exec env {server_line} "$@"'])
    env = {**os.environ, **jupyter_state(state)}
    for _ in range(attempts):
        port, token = free_port(), secrets.token_hex(16)
        argv = [
            "/bin/sh",
            "-c",
            script,
            "sh",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
        ]
        with log.open("w") as output:
            process = subprocess.Popen(
                argv, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )
        server = JupyterServer(process, port, token, log)
        if server.wait_ready():
            return server
        server.stop()
    raise RuntimeError(f"{recipe} did not start a server in {cwd}; its log ends with:\n{server.log_tail()}")


def fresh_artifacts(folder: Path) -> Path:
    """``folder`` for a test module's screenshots and logs, emptied of an earlier run's files."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        if old.is_file():
            old.unlink()
    return folder


@contextmanager
def chromium(skip_reason: str | None = None) -> Iterator["Browser"]:
    """Headless Debian Chromium driven by Playwright, for a module fixture; skips the module with the
    reason when it cannot run here (``skip_reason``: the caller's own, checked first)."""
    import pytest
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    reason = skip_reason or chromium_missing_reason()
    if reason:
        pytest.skip(reason)
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        except PlaywrightError as error:
            lines = str(error).splitlines()  # the first says what failed, the last are Chromium's own
            pytest.skip(f"{CHROMIUM} is installed but cannot be launched: " + "\n".join(lines[:1] + lines[-5:]))
        try:
            yield browser
        finally:
            browser.close()
