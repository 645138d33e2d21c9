"""Running setup's commands, as root or as one of the class's accounts, failing in their own words.

A command run as an account gets a fresh environment (``env -i``): root's (a pyenv shim first on
PATH, an activated virtual environment, root's caches) must leak neither into what the instructor
builds nor into anything a student runs. Only the machine's way out to the package index is passed
on: its HTTP proxy and the certificate authorities it trusts (a university's proxy that inspects
TLS needs its own CA bundle, which pip, uv and npm find through these variables).
"""

import os
import pwd
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
NETWORK_VARIABLES = (
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "PIP_CERT",
    "REQUESTS_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
)
TAIL_LINES = 25


class SetupError(RuntimeError):
    """Setup cannot go on; the message says what is wrong and what to do."""


def run(argv: Sequence[str | Path], *, cwd: Path | None = None, env: Mapping[str, str] | None = None) -> str:
    """Run ``argv``; its standard output, or a SetupError with the end of what it printed."""
    argv = [str(arg) for arg in argv]
    try:
        result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    except FileNotFoundError:
        raise SetupError(f"{argv[0]} is not installed") from None
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip().splitlines()
        tail = "\n".join(output[-TAIL_LINES:])
        raise SetupError(f"`{' '.join(argv)}` failed (exit {result.returncode}):\n{tail}")
    return result.stdout


def account_env(user: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a command of ``user`` starts with: home, the system PATH, UTF-8, the network settings."""
    home = pwd.getpwnam(user).pw_dir
    network = {name: os.environ[name] for name in NETWORK_VARIABLES if name in os.environ}
    return {
        "HOME": home,
        "USER": user,
        "LOGNAME": user,
        "PATH": SYSTEM_PATH,
        "LANG": "C.UTF-8",
        **network,
        **(extra or {}),
    }


def run_as(
    user: str, argv: Sequence[str | Path], *, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> str:
    """Run ``argv`` as Unix account ``user`` (runuser), with ``account_env`` plus ``env`` only."""
    variables = [f"{name}={value}" for name, value in account_env(user, env).items()]
    return run(["runuser", "-u", user, "--", "env", "-i", *variables, *argv], cwd=cwd)
