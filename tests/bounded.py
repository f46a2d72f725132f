"""Run the real ``gpuwise`` in its own process, bounded in time and memory.

For tests of inputs that a regression would turn into a hang (a FIFO read waits for a writer) or
an unbounded read (``/dev/zero``): the failure is then a timeout or a MemoryError in that
process, never a stuck test run or a machine out of memory.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys

#: Address space the process may use: far above what any command needs, far below the machine.
MEMORY_BYTES = 2 << 30


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))


def gpuwise_process(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess:
    """``python -m gpuwise ARGS`` with ``env`` added to the environment."""
    return subprocess.run(
        [sys.executable, "-m", "gpuwise", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        preexec_fn=_limit_memory,
    )
