"""The grader's kernel manager (course.grading.kernel_manager): jupyter_client's behaviour without its waits.

Run with ordinary ipykernels (the course's environment), side by side with jupyter_client's own
``AsyncKernelManager``: the same notebook must come out the same, a kernel that dies before it
answers must be reported as jupyter_client reports it, and a stopped kernel leaves nothing.
"""

import asyncio
import json
import sys
from pathlib import Path

import psutil
import pytest
from jupyter_client import AsyncKernelManager
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from course.grading.kernel_manager import PromptKernelClient, PromptKernelManager

pytestmark = pytest.mark.slow  # real kernels

CELLS = [
    "import sys\nprint('out'); print('err', file=sys.stderr)",
    "from IPython.display import display, Markdown\ndisplay(Markdown('**shown**'))\n6 * 7",
    "raise ValueError('told you')",
    "x = 1\nx",
]


def outputs(manager: type) -> list:
    notebook = new_notebook(cells=[new_code_cell(source) for source in CELLS])
    client = NotebookClient(notebook, kernel_name="python3", kernel_manager_class=manager, allow_errors=True)
    client.execute()
    return [[without_count(output) for output in cell.outputs] for cell in notebook.cells]


def without_count(output: dict) -> dict:
    return {key: value for key, value in output.items() if key != "execution_count"}


def test_a_notebook_runs_as_under_jupyter_clients_own_manager():
    prompt, upstream = outputs(PromptKernelManager), outputs(AsyncKernelManager)
    assert prompt == upstream
    assert prompt[0] == [
        {"output_type": "stream", "name": "stdout", "text": "out\n"},
        {"output_type": "stream", "name": "stderr", "text": "err\n"},
    ]  # nothing left over from the kernel's start-up reached the first cell
    assert prompt[2][0]["ename"] == "ValueError"


def test_the_client_is_the_prompt_one():
    client = PromptKernelManager().client()
    assert isinstance(client, PromptKernelClient)


@pytest.fixture
def dying_kernel(tmp_path, monkeypatch):
    """A kernelspec whose kernel exits at once, before binding any socket."""
    folder = tmp_path / "kernels" / "dies"
    folder.mkdir(parents=True)
    spec = {"argv": [sys.executable, "-c", "import sys; sys.exit(3)"], "display_name": "dies", "language": "python"}
    (folder / "kernel.json").write_text(json.dumps(spec))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    return "dies"


def test_a_kernel_that_dies_at_start_is_reported_not_waited_for(dying_kernel):
    async def start() -> None:
        manager = PromptKernelManager(kernel_name=dying_kernel)
        await manager.start_kernel()
        client = manager.client()
        client.start_channels()
        try:
            await client.wait_for_ready(timeout=30)
        finally:
            client.stop_channels()
            await manager.cleanup_resources()

    with pytest.raises(RuntimeError, match="Kernel died before replying to kernel_info"):
        asyncio.run(asyncio.wait_for(start(), 20))


def test_a_stopped_kernel_is_gone_with_its_connection_file():
    async def run() -> tuple[int, str]:
        manager = PromptKernelManager(kernel_name="python3")
        await manager.start_kernel()
        client = manager.client()
        client.start_channels()
        await client.wait_for_ready(timeout=60)
        pid = manager.provisioner.pid
        await manager.shutdown_kernel(now=True)
        client.stop_channels()
        return pid, manager.connection_file

    pid, connection_file = asyncio.run(run())
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert not Path(connection_file).exists()
