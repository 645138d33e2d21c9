"""Cheap tracebacks in grading kernels: the factory warms IPython's formatter and gives it caches.

Why: most graded notebooks raise -- a blank exercise's ``NotImplementedError``, a failed visible
test -- 8 to 15 times, and a kernel shows each error as IPython's formatted traceback, which
costs more than the cell that raised it. It formats every error twice (once shown, once kept in
its history), and each time (IPython 9.18, a forked kernel with the factory's 3,200 modules):

- ``inspect.getmodule`` walks all of ``sys.modules`` about four times looking for a module whose
  file is the cell's; there is none, so nothing is cached and the next lookup walks again.
  ``getmodule_remembering_cells`` remembers that no module is a cell until modules are imported;
- ``stack_data`` highlights the whole function around each library frame with pygments, making
  a new lexer class each time: numpy's 150-line assertion helper for every failed visible test,
  the same text for every student. ``pygmented`` lexes with one class and keeps what it highlighted;
- a new pygments style class and a new terminal formatter match every colour to the 256 xterm
  colours again. ``install_highlighter`` keeps the style and the formatter's escape sequences.

And the first traceback a process formats pays about 60 ms of one-time set-up (lexers, styles,
``stack_data``), a failed ``np.testing.assert_allclose`` 130 ms more to parse numpy's testing
module: ``warm`` formats one in the factory, and every forked kernel inherits what it set up.

Measured in a forked kernel, cell by cell through nbclient: a blank exercise's error took 15 ms
before, 3.5 after; a failed numpy assertion 39 ms before, 5.3 after (a cell that raises nothing: 2.5 ms).
Only caches are added: every traceback reads byte for byte as before (``tests/test_tracebacks.py``,
and the grading benchmark compares with serial nbgrader, whose kernels have none of this).
"""

from __future__ import annotations

import functools
import inspect
import linecache
import sys
from collections.abc import Callable
from typing import Any

# Highlighted scopes kept per kernel: a notebook's own cells and the library functions its tests
# fail in, a few hundred kilobytes at most.
HIGHLIGHTS_KEPT = 256


def install() -> None:
    """Give this process's traceback formatting the caches below (once: a second call does nothing)."""
    if getattr(inspect.getmodule, "remembers_cells", False):
        return
    inspect.getmodule = getmodule_remembering_cells(inspect.getmodule)
    install_highlighter()


def load_ipython_extension(shell: Any) -> None:
    """What a grading kernel loads at start (``SandboxedExecute``'s kernel arguments): the caches.

    A cold kernel gets them here; a forked one has them from its factory already.
    """
    install()


def warm() -> None:
    """Install the caches, then format, as a kernel's shell does, a failed numpy assertion.

    Nobody's code runs here: the error is the course's own, raised in the factory.
    """
    from IPython.core.ultratb import AutoFormattedTB

    install()
    # What IPython's InteractiveShell builds for its tracebacks, with its defaults ("Context",
    # the "neutral" colours), as ipykernel's shell uses them.
    formatter = AutoFormattedTB(mode="Context", theme_name="neutral", tb_offset=1)
    try:
        if "numpy" in sys.modules:
            import numpy.testing

            numpy.testing.assert_allclose(0.0, 1.0)
        raise NotImplementedError
    except (AssertionError, NotImplementedError):
        formatter.structured_traceback(*sys.exc_info())


def is_cell(filename: str) -> bool:
    """Whether IPython compiled a cell into ``filename``: it keeps it in linecache with no modification time."""
    entry = linecache.cache.get(filename)
    return entry is not None and len(entry) == 4 and entry[1] is None


def getmodule_remembering_cells(getmodule: Callable[..., Any]) -> Callable[..., Any]:
    """``inspect.getmodule`` that does not scan ``sys.modules`` again to learn that a cell is no module.

    For a frame or code object from a file it has not indexed, ``getmodule`` walks every loaded
    module to index their files, then returns ``None`` if none is that file. A cell's file
    (``/tmp/ipykernel_<pid>/<hash>.py``) is no module's, so after one walk the answer stays
    ``None`` for every cell until modules are imported: the walk is made again whenever
    ``sys.modules`` has grown or shrunk since.
    """
    walked_at = -1  # len(sys.modules) when a walk last indexed every module's file

    def remembering(object: Any, _filename: str | None = None) -> Any:
        nonlocal walked_at
        if not (inspect.isframe(object) or inspect.iscode(object)):
            return getmodule(object, _filename)
        filename = _filename or getattr(object, "f_code", object).co_filename
        if not is_cell(filename) or filename in inspect.modulesbyfile:
            return getmodule(object, _filename)
        if walked_at == len(sys.modules):
            return None  # what the walk would find: no module's file is this cell
        walked_at = len(sys.modules)
        return getmodule(object, _filename)

    remembering.remembers_cells = True  # type: ignore[attr-defined]
    return remembering


def install_highlighter() -> None:
    """Give ``stack_data`` and pygments the caches below: each traceback builds its colours anew.

    IPython makes two tracebacks of every error (one shown, one kept in its history) and for each
    a new pygments style class (``stack_data.style_with_executing_node``, 0.8 ms) and a new
    ``Terminal256Formatter`` that matches every colour of the style to the 256 xterm colours
    again (2.7 ms). The style is remembered per base style, and the escape sequences a
    formatter computes per style class: the xterm table they come from is the same for all.
    """
    import stack_data
    import stack_data.core
    from pygments.formatters.terminal256 import Terminal256Formatter

    stack_data.core._pygmented_with_ranges = pygmented(stack_data.core._pygmented_with_ranges)
    stack_data.style_with_executing_node = functools.cache(stack_data.style_with_executing_node)

    setup_styles = Terminal256Formatter._setup_styles
    escapes: dict[tuple, dict[str, tuple[str, str]]] = {}  # per style class and options

    def remembered_setup_styles(self: Terminal256Formatter) -> None:
        if type(self) is not Terminal256Formatter:  # a subclass may match colours its own way
            return setup_styles(self)
        key = (self.style, self.usebold, self.useunderline, self.useitalic)
        if key not in escapes:
            setup_styles(self)
            escapes[key] = dict(self.style_string)
        self.style_string.update(escapes[key])

    Terminal256Formatter._setup_styles = remembered_setup_styles


def pygmented(original: Callable[[Any, str, list], list[str]]) -> Callable[[Any, str, list], list[str]]:
    """``stack_data.utils._pygmented_with_ranges``, lexing with one class and remembering its lines.

    The lines depend only on the code, the executing node's ranges and the colours the formatter
    writes (its ``style_string``); anything but IPython's terminal formatter goes to ``original``.
    """
    import pygments
    from pygments.formatters.terminal256 import Terminal256Formatter
    from pygments.lexers import get_lexer_by_name

    class RangeLexer(type(get_lexer_by_name("python3"))):  # stack_data's MyLexer, made once
        def __init__(self, ranges: list) -> None:
            super().__init__(stripnl=False)
            self.ranges = ranges

        def get_tokens(self, text: str) -> Any:
            length = 0
            for ttype, value in super().get_tokens(text):
                if any(start <= length < end for start, end in self.ranges):
                    ttype = ttype.ExecutingNode
                length += len(value)
                yield ttype, value

    kept: dict[tuple, list[str]] = {}

    def highlighted(formatter: Any, code: str, ranges: list) -> list[str]:
        if type(formatter) is not Terminal256Formatter or formatter.linenos or formatter.encoding:
            return original(formatter, code, ranges)
        key = (tuple(sorted(formatter.style_string.items())), code, tuple(map(tuple, ranges)))
        if key not in kept:
            if len(kept) >= HIGHLIGHTS_KEPT:
                kept.clear()
            try:
                kept[key] = pygments.highlight(code, RangeLexer(ranges), formatter).splitlines()
            except Exception:  # as stack_data: unhighlighted code rather than no traceback
                kept[key] = code.splitlines()
        return list(kept[key])

    return highlighted
