"""JupyterHub for the backpropagation course on one Linux server (JupyterHub 6.1).

Setup copies this file to ``<prefix>/etc/`` beside ``class.json``, the class's settings, and
starts ``jupyterhub -f`` on it as root. Everyone logs in with their Unix password (PAM) and gets a
JupyterLab started as their own account (LocalProcessSpawner), because nbgrader's exchange hands
files between real accounts and trusts their ownership. The Unix group of an account is its role:

- a student's server runs from the students' environment (``<prefix>/students``: JupyterLab,
  nbgrader's Assignment List and Validate, the course's helpers) in their home;
- an instructor's server runs from their copy of the course and its ``.venv`` (nbgrader, the
  formgrader, the grading tooling) in that folder, with the exchange and the gradebook passed in
  the two variables the course's ``nbgrader_config.py`` reads.
"""

import grp
import json
import os
import pwd
from pathlib import Path

from jupyterhub.spawner import LocalProcessSpawner

c = get_config()  # noqa: F821 -- injected by traitlets when JupyterHub loads this file

settings = json.loads(Path(__file__).with_name("class.json").read_text())
STATE = Path(settings["state"])
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"

# Users reach the proxy on ip:port (loopback unless setup was told otherwise); the hub's own API
# and the proxy's API stay on loopback, on ports of their own so two classes can share a machine.
c.JupyterHub.bind_url = f"http://{settings['ip']}:{settings['port']}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{settings['hub_port']}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{settings['proxy_api_port']}"
c.ConfigurableHTTPProxy.command = [settings["proxy"]]
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")

c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.allowed_groups = set(settings["groups"].values())


class FolderSpawner(LocalProcessSpawner):
    """LocalProcessSpawner whose servers start in their own folder (``notebook_dir``), not the home.

    nbgrader's formgrader reads ``nbgrader_config.py`` from the server's working directory: the
    instructor's server must start in the course, as ``make formgrader`` does.
    """

    def make_preexec_fn(self, name):
        become_user, folder = super().make_preexec_fn(name), self.notebook_dir

        def preexec() -> None:
            become_user()  # ... which goes to the home
            os.chdir(folder)

        return preexec


c.JupyterHub.spawner_class = FolderSpawner
c.Spawner.default_url = "/lab"
# A cold JupyterLab with nbgrader's extensions, on a busy 2-core server, can take a while.
c.Spawner.http_timeout = 120
c.Spawner.start_timeout = 120


def role_of(username: str) -> str:
    for role, group in settings["groups"].items():
        if username in grp.getgrnam(group).gr_mem:
            return role
    raise PermissionError(f"{username} is in none of the class's groups {sorted(settings['groups'].values())}")


def by_role(spawner) -> None:
    """Give the server of the user about to start the command, folder and environment of their role."""
    name = spawner.user.name
    home = Path(pwd.getpwnam(name).pw_dir)
    if role_of(name) == "instructor":
        course = home / settings["course_folder"]
        bin_dir = course / ".venv" / "bin"
        spawner.notebook_dir = str(course)
        extra = {"BACKPROP_EXCHANGE": settings["exchange"]}
        if settings["gradebook_url"]:
            extra["BACKPROP_GRADEBOOK_URL"] = settings["gradebook_url"]
    else:
        bin_dir = Path(settings["students_env"]) / "bin"
        spawner.notebook_dir = str(home)
        extra = {}
    spawner.cmd = [str(bin_dir / "jupyterhub-singleuser")]
    # Jupyter finds `nbgrader`, `alembic` and the kernels' Python by PATH; the hub passes no PATH of its own.
    spawner.environment = {**spawner.environment, "PATH": f"{bin_dir}:{SYSTEM_PATH}", "LANG": "C.UTF-8", **extra}


c.Spawner.pre_spawn_hook = by_role
