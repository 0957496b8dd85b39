"""A thread pool that takes turns between lanes (one lane per collector unit) instead of first-in, first-out.

With one FIFO queue, a unit that submits 5,000 per-bucket S3 reads queues ahead of every other unit's dozen
reads, so small units, and chains that wait on them (ec2 -> ec2_images), finish last; under per-(service, region)
throttling every worker ends up waiting on the one throttled service. Here each free worker takes the next task
of the next lane that has one.
"""
from __future__ import annotations

import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable, Iterable, Iterator
from concurrent.futures import Future
from typing import Any


class FairPool:
    def __init__(self, workers: int, name: str = "fair") -> None:
        self._lanes: OrderedDict[Hashable, deque[tuple[Future[Any], Callable[[], Any]]]] = OrderedDict()
        self._cv = threading.Condition()
        self._closed = False
        # Daemon threads: an interrupted scan must not wait at exit for tasks it no longer wants.
        self._threads = [threading.Thread(target=self._work, name=f"{name}_{i}", daemon=True) for i in range(workers)]
        for t in self._threads:
            t.start()

    def lane(self, key: Hashable) -> Lane:
        return Lane(self, key)

    def submit(self, key: Hashable, fn: Callable[[], Any]) -> Future[Any]:
        fut: Future[Any] = Future()
        with self._cv:
            if self._closed:
                raise RuntimeError("pool is shut down")
            self._lanes.setdefault(key, deque()).append((fut, fn))
            self._cv.notify()
        return fut

    def shutdown(self, cancel: bool = False) -> None:
        """Stop taking tasks; with `cancel`, queued tasks are cancelled (running ones finish on their own)."""
        with self._cv:
            self._closed = True
            if cancel:
                for queue in self._lanes.values():
                    for fut, _ in queue:
                        fut.cancel()
                self._lanes.clear()
            self._cv.notify_all()

    def __enter__(self) -> FairPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown(cancel=exc[0] is not None)

    def _next(self) -> tuple[Future[Any], Callable[[], Any]] | None:
        with self._cv:
            while not self._lanes:
                if self._closed:
                    return None
                self._cv.wait()
            key, queue = next(iter(self._lanes.items()))
            task = queue.popleft()
            if queue:
                self._lanes.move_to_end(key)  # this lane's next task waits for every other lane's turn
            else:
                del self._lanes[key]
            return task

    def _work(self) -> None:
        while (task := self._next()) is not None:
            fut, fn = task
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(fn())
            except BaseException as exc:  # noqa: BLE001 - handed to whoever waits on the future
                fut.set_exception(exc)


class Lane:
    """One unit's view of the pool, shaped like Executor.map."""

    def __init__(self, pool: FairPool, key: Hashable) -> None:
        self.pool, self.key = pool, key

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        futures = [self.pool.submit(self.key, lambda x=x: fn(x)) for x in items]
        return (f.result() for f in futures)
