"""The students' requirements: exactly the instructor's versions, of only what students run.

A student's environment needs JupyterLab with nbgrader's Validate button, the kernel, the course's
helpers and what the released notebooks import; not pytest, ruff, playwright or the grading
tooling's other needs. The list is derived, never typed: the notebooks' imports and the helpers'
declared dependencies, followed through each package's own requirements, each pinned to the
version installed here (the course's ``.venv``, made from ``requirements.txt``), so a student
runs what the course was tested with and a new import in a notebook reaches the list by itself.
"""

import importlib.metadata as metadata
import re
from collections.abc import Iterable
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement

from course.grading.preload import notebook_imports

# What a student works in: JupyterLab, the kernel, and nbgrader for the Validate button (and the
# Assignment List where the course runs on a JupyterHub with nbgrader's exchange).
WORKBENCH = ("jupyterlab", "ipykernel", "nbgrader")


def canonical(name: str) -> str:
    """A distribution name as the packaging standards compare them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def distributions_of(modules: Iterable[str], own_package: str) -> set[str]:
    """The installed distributions that provide ``modules``; the standard library's modules and
    ``own_package`` (the course's helpers, shipped as their own wheel) provide none."""
    providers = metadata.packages_distributions()
    found: set[str] = set()
    for module in modules:
        if module == own_package:
            continue
        found.update(canonical(name) for name in providers.get(module, ()))
    return found


def closure(roots: Iterable[str]) -> dict[str, str]:
    """``{distribution: installed version}`` for ``roots`` and everything they require, here.

    A requirement with extras (``jsonschema[format-nongpl]``) brings in what those extras
    require; one behind an extra nobody asked for, or a marker that does not hold on this machine,
    is left out, as pip leaves it out. A required distribution that is not installed is an error
    (the list would install something the course was never tested with).
    """
    environment = default_environment()
    pinned: dict[str, str] = {}
    done: set[tuple[str, str]] = set()
    pending = [(canonical(name), "") for name in roots]
    while pending:
        name, extra = pending.pop()
        if (name, extra) in done:
            continue
        done.add((name, extra))
        try:
            distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise LookupError(f"{name} is required by the students' notebooks but not installed here") from None
        pinned[name] = distribution.version
        for line in distribution.requires or ():
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({**environment, "extra": extra}):
                wanted = canonical(requirement.name)
                pending += [(wanted, "")] + [(wanted, canonical(more)) for more in requirement.extras]
    return pinned


def student_requirements(notebooks: Iterable[Path], helper_requirements: Iterable[str], own_package: str) -> list[str]:
    """``name==version`` lines, sorted, for the workbench, the notebooks' imports and the helpers' needs."""
    modules = {module.split(".")[0] for module in notebook_imports(notebooks, demos=True)}
    roots = set(WORKBENCH) | distributions_of(modules, own_package)
    roots |= {canonical(Requirement(line).name) for line in helper_requirements}
    return [f"{name}=={version}" for name, version in sorted(closure(roots).items())]
