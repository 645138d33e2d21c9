"""The factory's traceback caches (course.grading.tracebacks) change no traceback a kernel shows."""

import subprocess
import sys

import pytest

# A kernel's shell formats a failed visible test (numpy's assertion, raised two frames down), a
# blank exercise's NotImplementedError, a runaway recursion and a library's error (whose frames
# highlight the executing call), in two colour themes and twice over (IPython shows one and keeps
# one in its history), from cells kept as IPython keeps them; the same in a fresh Python with
# and without the caches. Between the rounds a module is imported, as a student may.
FORMAT = """
import inspect, json, linecache, sys
from IPython.core.ultratb import AutoFormattedTB
if {warm}:
    from course.grading import tracebacks
    tracebacks.warm()
import numpy as np
cells = {{
    "/tmp/ipykernel_1/11.py": "def check(x):\\n"
                              "    np.testing.assert_allclose(x, [1.0, 2.0], err_msg='PL: zle / EN: wrong')\\n",
    "/tmp/ipykernel_1/12.py": "def todo():\\n    raise NotImplementedError()\\n",
    "/tmp/ipykernel_1/13.py": "def deep(n):\\n    return deep(n + 1)\\n",
    "/tmp/ipykernel_1/21.py": "x = [1.0, 3.0]\\ncheck(x)\\n",
    "/tmp/ipykernel_1/22.py": "todo()\\n",
    "/tmp/ipykernel_1/23.py": "deep(0)\\n",
    "/tmp/ipykernel_1/24.py": "json.loads('{{')\\n",  # through a library call: its node is highlighted
}}
for name, source in cells.items():
    linecache.cache[name] = (len(source), None, source.splitlines(True), name)  # as IPython keeps a cell
    cells[name] = compile(source, name, "exec")
    if "def " in source:
        exec(cells[name])
for round in range(2):
    for name in (name for name in cells if "/2" in name):  # the cells that raise
        for formatter in (AutoFormattedTB(mode="Context", theme_name="neutral", tb_offset=1),
                          AutoFormattedTB(mode="Context", theme_name="linux", tb_offset=1)):
            try:
                exec(cells[name])
            except Exception:
                print("\\n".join(formatter.structured_traceback(*sys.exc_info())))
                frame = sys.exc_info()[2].tb_next.tb_frame
                print(inspect.getmodule(frame), inspect.getmodule(np.testing.assert_allclose).__name__)
    import fractions  # a new module: the next round's lookups walk sys.modules again
print(inspect.getmodule(sys.modules["fractions"].Fraction.limit_denominator.__code__).__name__)
"""


def formatted(warm: bool) -> str:
    result = subprocess.run([sys.executable, "-c", FORMAT.format(warm=warm)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.slow  # two fresh Pythons with IPython and numpy
def test_the_caches_change_no_traceback():
    cold, warm = formatted(False), formatted(True)
    for error in ("PL: zle / EN: wrong", "NotImplementedError", "RecursionError", "JSONDecodeError"):
        assert error in cold
    assert "None numpy.testing._private.utils" in cold and cold.endswith("fractions\n")
    assert warm == cold
