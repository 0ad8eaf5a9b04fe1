"""How long this machine takes to hand a process memory that other processes freed a moment
ago. On a VM with free page reporting (Firecracker here: ``page_reporting`` in ``dmesg``) freed
memory goes back to the host, and touching it again faults on the host too: a start that
follows a large job (the bench's index copy) pays that for every page it loads into."""

from __future__ import annotations

import subprocess
import sys
import time

GIB = 1 << 30
REPORTING_WAIT_S = 5.0  # the kernel reports free pages a few seconds after they are freed


def _touch(gib: float) -> float:
    """Seconds to allocate and write ``gib`` GiB (freed on return)."""
    import numpy as np

    started = time.perf_counter()
    block = np.ones(int(gib * GIB) // 8)
    seconds = time.perf_counter() - started
    del block
    return seconds


def probe(gib: float = 1.0, freed_gib: float = 4.0, wait_s: float = REPORTING_WAIT_S) -> str:
    """Touch ``gib`` GiB twice in a row (the second reuses what the first freed), then again
    after another process touched and freed ``freed_gib`` GiB and ``wait_s`` passed (time for
    the kernel to report it)."""
    _touch(gib)
    again = _touch(gib)
    subprocess.run([sys.executable, "-c", f"from eval.memory import _touch; _touch({freed_gib})"],
                   check=True)  # fmt: skip
    time.sleep(wait_s)
    after = _touch(gib)
    return (f"touching {gib:g} GiB: {again:.2f} s when just freed by this process, "
            f"{after:.2f} s after another process freed {freed_gib:g} GiB "
            f"{wait_s:.0f} s before")  # fmt: skip
