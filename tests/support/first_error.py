"""Run notebooks in this interpreter's own kernel, each up to its first error; print JSON.

Executed as a script by another environment's Python (a student's fresh virtual environment
made from the student package), so it imports only what that environment has: nbformat and
nbclient, which JupyterLab and nbgrader bring. For each notebook it prints the index, grade id
and exception name of the first cell that failed (null if none did); it also prints where the
kernel found the ``course`` helpers and its interpreter, so a test can tell the package's own
wheel from the course repository.

    python first_error.py NOTEBOOK...
"""

import json
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

PROBE = "import sys, course; print(sys.executable); print(course.__file__)"


def run(notebook: nbformat.NotebookNode, folder: Path) -> None:
    NotebookClient(
        notebook, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(folder)}}
    ).execute()


def first_error(path: Path) -> dict | None:
    notebook = nbformat.read(path, as_version=4)
    try:
        run(notebook, path.parent)
    except CellExecutionError as error:
        index = next(
            i for i, c in enumerate(notebook.cells) if any(o.output_type == "error" for o in c.get("outputs", []))
        )
        grade_id = notebook.cells[index].metadata.get("nbgrader", {}).get("grade_id")
        return {"cell": index, "grade_id": grade_id, "ename": error.ename}
    return None


def main(paths: list[str]) -> None:
    probe = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(PROBE)])
    run(probe, Path.cwd())
    kernel_python, helpers = probe.cells[0].outputs[0]["text"].split()
    print(
        json.dumps({"kernel": kernel_python, "course": helpers, "notebooks": {p: first_error(Path(p)) for p in paths}})
    )


if __name__ == "__main__":
    main(sys.argv[1:])
