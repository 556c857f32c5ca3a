"""Best-of-N wall time (and peak traced memory) of a call, shared by the CPU benchmark scripts.

The minimum over repeats is the figure least disturbed by the rest of the machine; memory is
traced on one extra run so that tracing never slows the timed ones.

Examples
--------
>>> seconds, result = best_of(lambda: sum(range(1000)), repeat=3)
>>> result, seconds >= 0
(499500, True)
"""

from __future__ import annotations

import time
import tracemalloc
from typing import Any, Callable


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Best wall time of ``repeat`` calls of ``fn`` and the last call's result."""
    best, result = float("inf"), None
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def peak_mib(fn: Callable[[], Any]) -> float:
    """Peak memory traced by Python allocators during one call of ``fn``, in MiB."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
