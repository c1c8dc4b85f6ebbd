"""Reading headers in worker processes for `imgqa.parallel.load_parallel` (issue 17).

The readers run `imgqa.io.dicom.read_source` on chunks of the file list and send the outcomes
back packed (`imgqa.io.outcome_transport`); meanwhile this process imports the analysis
kernels of the modalities seen so far (`imgqa.parallel._preload_kernels`), then reads files
too. One reader per job beyond the first: the imports are the longer branch of this phase.
"""

from __future__ import annotations

import logging
import os
import sys

from imgqa.parallel._trace import _GcPaused, span

log = logging.getLogger("imgqa.parallel")


def _readers(jobs: int) -> int:
    """Header reading processes beside this one: one core fewer than the jobs. This process
    imports the kernels meanwhile (the longer branch of the reading phase), then reads chunks
    itself; with as many readers as cores, three processes shared two cores and this one's
    imports finished later (docs/validation.md). ``IMGQA_BATCH_READERS=N`` sets it, to measure."""
    try:
        return max(1, int(os.environ.get("IMGQA_BATCH_READERS", "")))
    except ValueError:
        return max(1, jobs - 1)


class _Chunks:
    """The chunks of one reading: those not handed out yet, those handed out, and what the
    outcomes received so far tell (modalities, series). Shared with the executor's thread."""

    def __init__(self, pool, sources, chunks: list[list[int]], outcomes: list) -> None:
        import threading
        from collections import deque

        self.pool, self.sources, self.outcomes = pool, sources, outcomes
        self.pending = deque(chunks)  # not yet handed to the pool
        self.futures: dict = {}  # handed out, not yet received: future -> chunk
        self.lock = threading.Lock()
        self.modalities: set[str] = set()
        self.uids: set[str] = set()

    def hand_out(self, _done: object = None) -> None:
        """Give the pool the next chunk; called again as each one finishes."""
        with self.lock:
            if not self.pending:
                return
            try:
                fut = self.pool.submit(_read_chunk, [self.sources[i] for i in self.pending[0]])
            except RuntimeError:  # a reader died, or stopping: the rest is read here later
                self.pending.clear()
                return
            self.futures[fut] = self.pending.popleft()
        fut.add_done_callback(self.hand_out)

    def state(self) -> tuple[list, bool]:
        with self.lock:
            return list(self.futures), bool(self.pending)

    def receive(self, fut) -> bool:
        """Note a finished chunk's outcomes; False if it failed (its files are read later)."""
        with self.lock:
            chunk = self.futures.pop(fut)
        got = _received(fut)
        if got is not None:
            self.note(chunk, got)
        return got is not None

    def read_here(self, n: int) -> None:
        """Read the last ``n`` files not handed out in this process."""
        from imgqa.io.dicom import read_source

        with self.lock:
            chunk = _take_last(self.pending, n) if self.pending else []
        if chunk:
            with span("main.read_chunk", files=len(chunk)):
                self.note(chunk, [read_source(self.sources[i]) for i in chunk])

    def note(self, chunk: list[int], got: list) -> None:
        for i, out in zip(chunk, got):
            self.outcomes[i] = out
            if out is not None and out[0] == "image":
                self.modalities.add(getattr(out[1], "modality", ""))
                self.uids.add(getattr(out[1], "series_uid", ""))


# Chunks queued per reader: its next chunk is handed out when this process has received one,
# which waits for the GIL while this process imports; with two, the reader of the shared data
# idled 0.1 s between small chunks (timeline, quiet machine).
_AHEAD = 4


def _read_in_workers(sources, indices: list[int], outcomes: list, jobs: int) -> None:
    """Fill ``outcomes[i]`` for ``i`` in ``indices`` from a fork pool; on Ctrl-C stop it and
    raise KeyboardInterrupt. Chunks that fail to come back stay None (read here later).

    The pool holds `_AHEAD` chunks per reader, the next handed out as each one finishes (from
    the executor's thread, so the readers never wait for this process while it imports); this
    process, when it has no kernels to import and no chunk to receive, reads files of the
    last chunk not handed out itself (no transport), so that a large archive is read on every
    core once the imports are done. (Not by cancelling a queued chunk: Python 3.11's pool then
    fails in its thread if a reader dies.)"""
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    from imgqa import parallel as pp

    readers = _readers(jobs)
    plan = _chunks(indices, readers)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    seen: set[str] = set()  # modalities whose kernels are imported
    with pp._Interrupted() as interrupted:
        pool = ProcessPoolExecutor(max_workers=min(readers, len(plan)),
                                   mp_context=pp._context(), initializer=pp._worker_init)
        try:
            chunks = _Chunks(pool, sources, plan, outcomes)
            for _ in range(_AHEAD * readers):
                chunks.hand_out()
            may_take, received = False, 0  # this process reads once it knows the folder
            while True:
                live, left = chunks.state()
                if not live and not left:
                    break
                finished, _ = wait(live, timeout=0 if may_take and left else 0.2,
                                   return_when=FIRST_COMPLETED)
                interrupted.check()
                received += sum(chunks.receive(fut) for fut in finished)
                # after its imports, or (one series so far: maybe nothing to import) after the
                # small first chunks and one full one
                may_take = may_take or bool(seen) or received > 2 * readers
                # Only for a batch (two series or more, so a pool will analyse them): one
                # series is analysed in this process and imports just what it runs.
                new = chunks.modalities - seen
                if len(chunks.uids) > 1 and new:
                    with span("main.preload", modalities=sorted(new)):
                        pp._preload_kernels(new, interrupted)
                    seen |= new
                    may_take = True
                elif (may_take or not live) and not finished:
                    chunks.read_here(8)
        except BaseException:
            pp._stop(pool)
            raise
        pool.shutdown(wait=True)


def _chunks(indices: list[int], readers: int) -> list[list[int]]:
    """The files in chunks for the readers (lists of indices)."""
    size = max(4, min(64, len(indices) // (4 * readers) or 1))
    # Small first chunks: this process learns the first modalities (and starts importing their
    # kernels, the longest task while reading) after a few files instead of a full chunk
    # (timeline of the shared data: 0.4 s of waiting, with a core idle at the end of reading);
    # small last chunks: what this process takes back when idle, ≈ 2 ms a file, so that it
    # notices new modalities soon and does not finish long after the readers.
    ramp = [min(size, 4)] * readers + [min(size, 16)] * readers
    chunks: list[list[int]] = []
    k = 0
    for n in ramp:
        if k < len(indices):
            chunks.append(indices[k:k + n])
            k += n
    half = len(indices) - min((len(indices) - k) // 2, 64 * (readers + 1))
    chunks.extend(indices[j:min(j + size, half)] for j in range(k, half, size))
    tail = min(size, 8)
    chunks.extend(indices[j:j + tail] for j in range(half, len(indices), tail))
    return chunks


def _take_last(chunks, n: int) -> list[int]:
    """The last ``n`` files of the last chunk (few: this process notices new modalities soon
    after, ≈ 2 ms a file), removed from it."""
    chunk, chunks[-1] = chunks[-1][-n:], chunks[-1][:-n]
    if not chunks[-1]:
        chunks.pop()
    return chunk


def _read_chunk(sources) -> bytes:
    """The outcomes of `read_source` for some files, packed to travel back cheaply
    (`imgqa.io.outcome_transport`: the raw elements as plain columns, a dose report as its
    constructor's arguments; None for what cannot travel, which the main process reads), and
    pickled here so that the timeline counts the pickling as this reader's work."""
    import pickle

    from imgqa.io.dicom import read_source
    from imgqa.io.outcome_transport import pack_outcomes

    with span("reader.chunk", files=len(sources)), _GcPaused():
        return pickle.dumps(pack_outcomes([read_source(s) for s in sources]),
                            protocol=pickle.HIGHEST_PROTOCOL)


def _received(fut) -> list | None:
    """The outcomes of a finished chunk, or None if it failed (its files are read later)."""
    import pickle

    from imgqa.io.outcome_transport import unpack_outcomes

    try:
        with span("main.receive_chunk"):
            return unpack_outcomes(pickle.loads(fut.result()))
    except Exception:  # noqa: BLE001 - e.g. a dead worker
        log.debug("header chunk failed in a worker", exc_info=True)
        return None
