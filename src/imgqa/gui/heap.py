"""Keep Python's cyclic garbage collector from pausing the GUI.

A full (generation 2) collection walks every tracked object of the process while holding the
GIL. With Qt, pyqtgraph, SciPy, scikit-image and SQLAlchemy loaded that is about a million
objects and 60-90 ms, and any thread that allocates many containers can trigger one (the
Catphan rod search building 91 390 index tuples did, in the analysis worker): the GUI thread
then waits for the GIL and the window freezes. `gc.freeze` (Python ≥ 3.7) moves everything
alive now — modules, classes, widgets, essentially permanent — to a generation the collector
never scans, so later collections only walk what was allocated since. Frozen objects are still
freed by reference counting; only reference *cycles* among them would no longer be collected.
"""

from __future__ import annotations

import gc
import logging
import time

__all__ = ["freeze_long_lived"]

log = logging.getLogger(__name__)


def freeze_long_lived() -> int:
    """Exempt every object alive now from later garbage collections.

    Call it on the GUI thread after the heavy imports (window built, protocol modules
    loaded). It takes well under a millisecond; a `gc.collect()` first would itself be the
    80 ms pause this avoids, and the few cyclic leftovers of the imports it would free (about
    ten objects, measured) are not worth it. Returns the number of objects now frozen.
    """
    t0 = time.perf_counter()
    gc.freeze()
    n = gc.get_freeze_count()
    log.debug("froze %d long-lived objects in %.0f ms", n, (time.perf_counter() - t0) * 1e3)
    return n
