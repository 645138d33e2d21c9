"""Which names a notebook's code cell binds and which it reads from other cells (``symtable``).

The hygiene test uses it to show that skipping the demonstration cells when grading cannot leave
a grade or solution cell without a name it needs. Python's own symbol tables do the scoping: a
cell *defines* what it binds at its top level (assignments, ``def``, ``class``, imports), and
*reads* every global name it or a function inside it uses without binding it at the top level
first. Coarse where it does not matter: a top-level name a cell both reads and binds counts as
bound (``x = x + 1`` would hide one dependency; the course's notebooks do not do that).
"""

import builtins
import symtable
from collections.abc import Callable, Iterator
from dataclasses import dataclass

BUILTINS = frozenset(dir(builtins))


@dataclass(frozen=True)
class CellNames:
    defines: frozenset[str]
    reads: frozenset[str]


def _global_uses(table: symtable.SymbolTable) -> Iterator[str]:
    """The global names the functions, classes and comprehensions under ``table`` refer to."""
    for child in table.get_children():
        for symbol in child.get_symbols():
            if symbol.is_global() and symbol.is_referenced():
                yield symbol.get_name()
        yield from _global_uses(child)


def cell_names(source: str) -> CellNames:
    """The names ``source`` binds at its top level and the other global names it reads (no builtins)."""
    top = symtable.symtable(source, "<cell>", "exec")
    defines = {s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_imported()}
    referenced = {s.get_name() for s in top.get_symbols() if s.is_referenced()} | set(_global_uses(top))
    return CellNames(frozenset(defines), frozenset(referenced - defines - BUILTINS))


# Names IPython gives every kernel: read by cells, bound by no cell.
KERNEL_NAMES = frozenset({"display", "get_ipython", "In", "Out", "exit", "quit"})


def needed_cells(cells: list, counts: Callable[[object], bool]) -> set[int]:
    """Indices of the code cells grading must run: ``counts`` ones (grade and solution cells), the
    first code cell (setup), and, transitively, every cell binding a name one of them reads later."""
    code = [(i, cell_names(cell.source)) for i, cell in enumerate(cells) if cell.cell_type == "code"]
    needed = {i for i, _ in code if counts(cells[i])} | {code[0][0]}
    names = dict(code)
    grown = True
    while grown:
        grown = False
        for i, found in code:
            if i not in needed and any(found.defines & names[j].reads for j in needed if j > i):
                needed.add(i)
                grown = True
    return needed


def borrowed_names(cells: list, skipped: Callable[[object], bool]) -> list[str]:
    """Names a cell that runs when grading reads while the latest cell to bind them is a skipped one.

    Empty when skipping the ``skipped`` cells leaves every other cell seeing the names it saw before.
    """
    bound_by: dict[str, int] = {}
    problems = []
    for i, cell in enumerate(cells):
        if cell.cell_type != "code":
            continue
        found = cell_names(cell.source)
        if not skipped(cell):
            for name in sorted(found.reads - KERNEL_NAMES):
                origin = bound_by.get(name)
                if origin is None or skipped(cells[origin]):
                    where = "no earlier cell" if origin is None else f"only the skipped cell {cells[origin].get('id')}"
                    problems.append(f"cell {cell.get('id')} reads {name!r}, which {where} binds")
        for name in found.defines:
            bound_by[name] = i
    return problems
