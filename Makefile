# The course's two commands: `make release` (the instructor's main job) and `make test`.
# Both create the virtual environment .venv from requirements.txt on first use.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# Marks an environment that matches requirements.txt; rebuilt when the pins change.
READY := $(VENV)/.ready
UV_VERSION := 0.13.8

# Jupyter refuses to run as root unless told to (containers, CI machines).
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: release test lint lab formgrader student-package clean sandbox-tools server-tools

release: $(READY) sandbox-tools
	$(BIN)/python -m course.grading.pipeline

# Three pytest-xdist workers, one module at a time each (module fixtures are built once): the
# end-to-end tests spend much of their time waiting on kernels, timeouts and the browser, so a
# third worker keeps both cores busy. `pytest -m "not slow" tests` is the quick loop (README).
test: lint sandbox-tools server-tools
	$(BIN)/python -m pytest -n 3 --dist loadfile --nbval-lax source tests

# ruff lints everything, notebooks included, and keeps the Python files in its format (`ruff format .` fixes it).
lint: $(READY)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Autograding runs students' code under bubblewrap (course/grading/sandbox.py); install it when missing.
sandbox-tools:
	@command -v bwrap >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing bubblewrap (Debian package) for the grading sandbox"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q bubblewrap >/dev/null || \
	    { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q bubblewrap >/dev/null; }; \
	  else \
	    echo "bubblewrap (bwrap) is required for grading: install it, e.g. sudo apt-get install bubblewrap" >&2; exit 1; \
	  fi; }

# The class-server tests start a real PostgreSQL (tests/support/postgres.py): Debian's server
# programs, installed when missing and running as root (elsewhere those tests skip and say why).
server-tools:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing PostgreSQL (Debian package) for the class-server tests"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null || \
	    { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null; } || \
	    echo "PostgreSQL could not be installed: the class-server tests will skip" >&2; \
	  fi; }

# Students: JupyterLab on the released notebooks (nbgrader's Validate button in the toolbar).
# .venv/bin comes first on PATH: nbgrader runs some tools by name (`alembic` for a new gradebook).
lab: $(READY)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/jupyter lab $(ALLOW_ROOT) --ServerApp.root_dir=release

# Instructors: JupyterLab in the course root, opening on the formgrader (/formgrader; notebooks at /lab).
# LabApp, not ServerApp: `jupyter lab` replaces ServerApp.default_url with its own (/lab). The
# formgrader disables Release and Collect while the exchange folder (nbgrader_config.py) is missing.
formgrader: $(READY)
	mkdir -p exchange
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/jupyter lab $(ALLOW_ROOT) --LabApp.default_url=/formgrader

# What students receive instead of this repository: release/ notebooks, the helpers' wheel, exact
# pins, a bilingual README, as dist/<name>/ and dist/<name>.zip. `make student-package LANGS=pl`
# for Polish only; LANGS="pl en both" builds all three.
LANGS ?= both
student-package: $(READY)
	$(BIN)/python -m course.grading.handout.package --lang $(LANGS)

$(READY): requirements.txt
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found " + sys.version.split()[0]'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# uv downloads and installs the pinned packages in parallel: 9 s here where pip took 61 s (both
	# without a cache). It installs exactly requirements.txt, as pip would.
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.txt
	# Compiled here on every core, not on first import: grading kernels see the environment read-only.
	# Not the packages' own test suites: nothing here runs them (a tenth of the compile time).
	$(BIN)/python -m compileall -q -j 0 -x '/tests?/' $(VENV)/lib >/dev/null
	# Make the course package importable from every notebook, kernel and tool of this environment.
	$(BIN)/python -c 'import pathlib, sysconfig; pathlib.Path(sysconfig.get_paths()["purelib"], "backprop_course.pth").write_text(str(pathlib.Path.cwd()) + "\n")'
	touch $(READY)

clean:
	rm -rf $(VENV) gradebook.db expected submitted feedback exchange dist
	find autograded -mindepth 1 ! -name .gitkeep -exec rm -rf {} +
