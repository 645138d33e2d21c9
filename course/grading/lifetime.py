"""Processes that must not outlive the one that started them: grading workers and kernel launchers.

An orphaned worker would go on writing ``autograded/`` while the instructor re-runs grading over
the same folders, and an orphaned launcher would start a kernel nobody will ever shut down. Linux
delivers a signal to a process when its parent dies, once asked with ``prctl(PR_SET_PDEATHSIG)``;
the request survives ``exec`` (bwrap's own ``--die-with-parent`` then covers the sandbox), but it
only counts from the moment it is made, hence the check that the parent is still there.
"""

import ctypes
import os
import signal

PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """Be killed (SIGKILL) the moment ``parent`` exits; exit now if it already has."""
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:
        os._exit(3)
