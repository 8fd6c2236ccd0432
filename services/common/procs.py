"""Process facts shared by the services."""

from __future__ import annotations

import os


def running(pid: int) -> bool:
    """True while a process with this pid exists (one of another user's counts too)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
