from __future__ import annotations

import threading

import pytest

from auditor.fairpool import FairPool


def test_lanes_take_turns():
    gate, order = threading.Event(), []
    started = threading.Event()
    with FairPool(1) as pool:
        pool.submit("block", lambda: started.set() or gate.wait())  # holds the only worker while lanes queue up
        assert started.wait(5)
        big = pool.lane("s3").map(lambda i: order.append(f"s3-{i}"), range(4))
        small = pool.lane("kms").map(lambda i: order.append(f"kms-{i}"), range(2))
        gate.set()
        list(big), list(small)
    assert order == ["s3-0", "kms-0", "s3-1", "kms-1", "s3-2", "s3-3"]


def test_map_keeps_order_and_raises_the_task_error():
    with FairPool(4) as pool:
        assert list(pool.lane("a").map(lambda x: x * x, range(10))) == [x * x for x in range(10)]

        def boom(x: int) -> int:
            if x == 3:
                raise ValueError("three")
            return x

        with pytest.raises(ValueError, match="three"):
            list(pool.lane("b").map(boom, range(5)))


def test_shutdown_with_cancel_drops_queued_tasks():
    started, gate = threading.Event(), threading.Event()
    pool = FairPool(1)
    running = pool.submit("a", lambda: started.set() or gate.wait())
    queued = pool.submit("a", lambda: "never")
    assert started.wait(5)
    pool.shutdown(cancel=True)
    assert queued.cancelled()
    gate.set()
    assert running.result(timeout=5) is True
    with pytest.raises(RuntimeError):
        pool.submit("a", lambda: None)
