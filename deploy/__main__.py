"""``python3 -m deploy``: set up, start, stop and remove the course's class on this server (as root).

    python3 -m deploy setup --roster roster.csv [--start] [options]   # accounts, environments, exchange, hub
    python3 -m deploy start | stop | remove [--prefix /opt/backprop]

Run it in the course's checkout (the folder holding deploy/), or say where the course is with
``--course``. Setup can be run again after a change (a longer roster, another port): it keeps what
is there and the instructor's work. ``remove`` takes away only what setup made (deploy/record.py).
"""

import argparse
import os
import sys
import time
from pathlib import Path

from deploy import accounts, exchange, hub, instructors, machine, students
from deploy.commands import SetupError
from deploy.record import Record, undo
from deploy.roster import RosterError, read_roster

COURSE = Path(__file__).resolve().parents[1]
DEFAULT_PYTHON = Path("/usr/bin/python3.11")
COURSE_FOLDER = "backprop"  # the course's folder in an instructor's home
STARTED = time.monotonic()


def setup(args: argparse.Namespace) -> None:
    machine.require_root()
    os.umask(0o022)  # what setup makes for everyone must be readable by everyone
    # Everything that can be checked is checked before anything on the machine changes.
    people = read_roster(args.roster)
    groups = accounts.group_names(args.group_prefix)
    accounts.check_roles(people, groups)
    course = args.course.resolve()
    course_id, uv_version = instructors.course_id(course), instructors.uv_version(course)
    python = machine.shared_python(args.python)
    machine.install_tools(python)
    machine.check_node()

    prefix = args.prefix
    record = Record.load(prefix)
    record.make_folder(prefix)
    record.save()
    step("Unix groups and accounts")
    accounts.ensure_groups(groups, record)
    for person in people:
        print("  " + accounts.ensure_account(person, groups[person.role], record))
    teachers = [person.username for person in people if person.role == "instructor"]

    step("JupyterHub and configurable-http-proxy")
    proxy = hub.install(prefix, python, course / "requirements.txt", uv_version, record)

    step(f"the instructors' copies of the course (~/{COURSE_FOLDER}) and their .venv")
    clones = {name: instructors.clone(str(course), name, COURSE_FOLDER) for name in teachers}
    for name, clone in clones.items():
        instructors.build_venv(name, clone, python)

    step(f"the student package, built by {teachers[0]}")
    package = instructors.student_package(teachers[0], clones[teachers[0]], prefix / "student-package")
    step("the students' environment, from the student package")
    env = prefix / "students"
    students.build(env, package, course / "requirements.txt", python, hub.layout(prefix)["env"] / "bin" / "uv", record)
    students.configure(env, course_id, args.exchange)
    step("the notation sheet in each student's home, where the notebooks link it")
    for done in students.give_notation_sheet(package, [p.username for p in people if p.role == "student"]):
        print("  " + done)

    step(f"nbgrader's exchange, course {course_id!r} owned by {teachers[0]}")
    exchange_course = exchange.prepare(args.exchange, course_id, teachers[0], record)
    print(exchange.describe(exchange_course))

    settings = hub.Settings(
        ip=args.ip,
        port=args.port,
        hub_port=args.hub_port,
        proxy_api_port=args.proxy_api_port,
        proxy=str(proxy),
        state=str(hub.layout(prefix)["state"]),
        students_env=str(env),
        groups=groups,
        course_folder=COURSE_FOLDER,
        exchange=str(args.exchange),
        gradebook_url=args.gradebook_url,
    )
    config = hub.configure(prefix, settings, record)
    step(f"done: hub config {config}")
    print("  Set passwords before anyone logs in, e.g. `chpasswd < passwords.txt` (lines username:password).")
    if not args.start:
        print(f"  Start the hub with `python3 -m deploy start --prefix {prefix}`.")
    else:
        if hub.stop(prefix):
            print("  stopped the hub that was running, to start it with the new settings")
        start(args)


def start(args: argparse.Namespace) -> None:
    machine.require_root()
    address = hub.start(args.prefix)
    print(f"JupyterHub is running at {address} (log: {hub.layout(args.prefix)['state'] / 'jupyterhub.log'}).")
    print(f"Stop it with `python3 -m deploy stop --prefix {args.prefix}`.")


def stop(args: argparse.Namespace) -> None:
    machine.require_root()
    print("JupyterHub stopped." if hub.stop(args.prefix) else "JupyterHub was not running.")


def remove(args: argparse.Namespace) -> None:
    """Stop the hub, then remove the recorded accounts (homes included), groups and folders."""
    machine.require_root()
    if not (args.prefix / "setup-record.json").is_file():
        raise SetupError(f"{args.prefix} holds no setup record: nothing to remove (is --prefix right?)")
    hub.stop(args.prefix)
    record = Record.load(args.prefix)
    problems = undo(record)
    print(f"Removed accounts {', '.join(record.accounts) or '(none)'}; groups {', '.join(record.groups) or '(none)'};")
    print(f"folders {', '.join(record.folders) or '(none)'}.")
    if problems:
        raise SetupError("some of it could not be removed:\n" + "\n".join(problems))


def step(text: str) -> None:
    print(f"== [{time.monotonic() - STARTED:3.0f} s] {text}", flush=True)


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python3 -m deploy", description=__doc__.split("\n\n")[0])
    commands = main.add_subparsers(dest="command", required=True)
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--prefix", type=Path, default=Path("/opt/backprop"), help="install folder (/opt/backprop)")
    make = commands.add_parser("setup", parents=[where], help="make the class (again)")
    make.add_argument("--roster", type=Path, required=True, help="CSV: username,first_name,last_name,role")
    make.add_argument("--course", type=Path, default=COURSE, help=f"the course's git repository ({COURSE})")
    make.add_argument("--exchange", type=Path, default=Path("/srv/nbgrader/exchange"), help="nbgrader's exchange root")
    make.add_argument("--ip", default="127.0.0.1", help="address the hub listens on (127.0.0.1)")
    make.add_argument("--port", type=int, default=8000, help="port the hub listens on (8000)")
    make.add_argument("--hub-port", type=int, default=8081, help="the hub's internal API port on 127.0.0.1 (8081)")
    make.add_argument("--proxy-api-port", type=int, default=8001, help="the proxy's API port on 127.0.0.1 (8001)")
    make.add_argument("--gradebook-url", help="SQLAlchemy URL of the gradebook (default: SQLite in the course)")
    make.add_argument("--group-prefix", default="backprop", help="Unix groups <prefix>-instructors, -students")
    make.add_argument(
        "--python", type=Path, default=DEFAULT_PYTHON, help=f"Python 3.11 for the environments ({DEFAULT_PYTHON})"
    )
    make.add_argument("--start", action="store_true", help="(re)start the hub when done")
    make.set_defaults(run=setup)
    for name, function, text in (
        ("start", start, "start the hub"),
        ("stop", stop, "stop the hub and every user's server"),
        ("remove", remove, "stop the hub, remove the accounts, groups and folders setup made"),
    ):
        commands.add_parser(name, parents=[where], help=text).set_defaults(run=function)
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    args.prefix = args.prefix.absolute()
    if args.command == "setup":
        args.exchange = args.exchange.absolute()
    try:
        args.run(args)
    except (SetupError, RosterError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
