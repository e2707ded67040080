"""The feed's own thread: one daemon thread running the feed's calls in order.

A ``ThreadPoolExecutor``'s threads are joined when the interpreter exits, so quitting
while the feed is in the middle of a long first load (50,000 sessions' stats and
SQLite reads) waited for the whole load to end: 19 s. This thread is a daemon:
quitting asks it to close the feed after the call it is running, waits a moment
for that, and otherwise lets the process end. The index is made for that: SQLite
commits atomically, and a sync cut short is a sync that did not happen (the next
run reads those bytes again).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future

_STOP = object()


class FeedThread(Executor):
    """A single daemon worker thread, as an ``Executor`` (``loop.run_in_executor`` takes it)."""

    def __init__(self, name: str = "tokdash-feed") -> None:
        self._calls: queue.SimpleQueue = queue.SimpleQueue()
        self._closed = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable, /, *args, **kwargs) -> Future:
        """Run ``fn(*args, **kwargs)`` after every call submitted before it."""
        future: Future = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the feed thread is shut down")
            self._calls.put((future, fn, args, kwargs))
        return future

    def _run(self) -> None:
        while True:
            item = self._calls.get()
            if item is _STOP:
                return
            future, fn, args, kwargs = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # noqa: BLE001 - handed to whoever awaits the call
                future.set_exception(exc)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """No more calls; ``cancel_futures`` drops the ones not started; ``wait`` joins the thread."""
        with self._lock:
            if not self._closed:
                self._closed = True
                if cancel_futures:
                    while True:
                        try:
                            item = self._calls.get_nowait()
                        except queue.Empty:
                            break
                        if item is not _STOP:
                            item[0].cancel()
                self._calls.put(_STOP)
        if wait:
            self._thread.join()

    def finish(self, last: Callable[[], object], timeout: float) -> bool:
        """Drop the calls not started, run ``last`` after the one running now, and wait up to
        ``timeout`` seconds for it; True when it ran. The thread ends after ``last``."""
        with self._lock:
            if self._closed:
                return False
            while True:
                try:
                    item = self._calls.get_nowait()
                except queue.Empty:
                    break
                item[0].cancel()
            done: Future = Future()
            self._calls.put((done, last, (), {}))
        self.shutdown(wait=False)
        try:
            done.result(timeout)
        except Exception:  # noqa: BLE001 - a timeout, or a close that failed: nothing to do at exit
            return done.done()
        return True
