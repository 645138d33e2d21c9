"""What a grading worker's kernel factory imports before it forks kernels, and why only that.

A forked kernel finds already loaded whatever its factory imported (``course.grading.kernel_factory``),
so its notebook's imports cost nothing per submission; but each import costs the factory's start,
once per worker and again after a kernel kills it. Importing everything the course's notebooks
ever use (scipy, sympy...) would make a worker grading notebook 04 pay for notebook 01's sympy.
So a factory loads the modules every kernel needs, then those the graded assignments' source
notebooks import outside their demonstrations (which grading skips).
"""

import ast
from collections.abc import Iterable
from pathlib import Path

import nbformat

from course.grading.demos import is_demo

# What every kernel imports while it starts, loaded once per factory: ipykernel, its shell, its
# debugger (debugpy) and sqlite3 (IPython's history), 0.25 s of a forked kernel's 0.3 s start-up
# unless they are here; then what the shell imports as it initializes (its debugger, completer,
# inspector and store magic, tornado's asyncio glue: 7 of a forked kernel's 35 ms).
KERNEL_MODULES = (
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.debugger",
    "sqlite3",
    "pdb",
    "IPython.core.completerlib",
    "IPython.core.debugger",
    "IPython.core.oinspect",
    "IPython.extensions.storemagic",
    "IPython.utils.wildcard",
    "faulthandler",
    "tornado.platform.asyncio",
)
# Parts of a library that its users' code imports on first use, not when the library is imported.
LAZY_PARTS = {"sympy": ("sympy.codegen.ast", "sympy.combinatorics", "sympy.tensor.tensor")}


def notebook_imports(notebooks: Iterable[Path], demos: bool = False) -> set[str]:
    """The modules the code cells of ``notebooks`` import by name, with the parts they load lazily.

    Read from the instructor's source notebooks (what a submission of them will import, its
    demonstrations left out as grading leaves them, unless ``demos``: students run those too),
    never from a submission: the factory runs no student's code, and preloads nothing a student names.
    Only the assignments being graded count: a factory grading notebook 04 has no use for
    sympy, whose import is a quarter of a factory's start (0.25 of 1.0 s).
    """
    modules: set[str] = set()
    for path in notebooks:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "code" or (is_demo(cell) and not demos):  # grading skips demonstrations
                continue
            lines = [line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!"))]
            try:
                tree = ast.parse("\n".join(lines))
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    modules.update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    modules.add(node.module)
    for module in list(modules):
        modules.update(LAZY_PARTS.get(module, ()))
    return modules


def for_assignments(root: Path, assignments: Iterable[str]) -> tuple[str, ...]:
    """What a factory grading ``assignments`` preloads: the kernel's own modules, then the notebooks'."""
    notebooks = [path for name in sorted(set(assignments)) for path in (root / "source" / name).glob("*.ipynb")]
    return KERNEL_MODULES + tuple(sorted(notebook_imports(notebooks) - set(KERNEL_MODULES)))
