"""The factory's traceback warm-up (course.grading.tracebacks) changes no traceback a kernel shows."""

import subprocess
import sys

import pytest

# A kernel's shell formats a failed visible test (numpy's assertion, raised two frames down) and
# a blank exercise's NotImplementedError; the same, in a fresh Python, with and without warming.
FORMAT = """
import sys
from IPython.core.ultratb import AutoFormattedTB
if {warm}:
    from course.grading import tracebacks
    tracebacks.warm()
import linecache
import numpy as np
source = ("def check(x):\\n    np.testing.assert_allclose(x, [1.0, 2.0], err_msg='PL: zle / EN: wrong')\\n"
          "def todo():\\n    raise NotImplementedError()\\n")
linecache.cache["<cell>"] = (len(source), None, source.splitlines(True), "<cell>")  # as IPython keeps a cell
exec(compile(source, "<cell>", "exec"))
formatter = AutoFormattedTB(mode="Context", theme_name="neutral", tb_offset=0)
for call in (lambda: check([1.0, 3.0]), todo):
    try:
        call()
    except Exception:
        print("\\n".join(formatter.structured_traceback(*sys.exc_info())))
"""


def formatted(warm: bool) -> str:
    result = subprocess.run([sys.executable, "-c", FORMAT.format(warm=warm)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.slow  # two fresh Pythons with IPython and numpy
def test_warming_changes_no_traceback():
    cold, warm = formatted(False), formatted(True)
    assert "PL: zle / EN: wrong" in cold and "NotImplementedError" in cold
    assert warm == cold
