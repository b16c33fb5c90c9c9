"""googlive.serialio.SerialWriter: blocking writes off the caller's thread, in order, bounded."""

from __future__ import annotations

import threading

from googlive.serialio import SerialWriter


def test_writes_run_in_order_on_another_thread_and_close_drains_them():
    done: list[tuple[int, str]] = []
    w = SerialWriter("t")
    for i in range(200):
        assert w.submit(lambda i=i: done.append((i, threading.current_thread().name)))
    assert w.close(timeout=10)
    assert [i for i, _ in done] == list(range(200))
    assert {name for _, name in done} == {"t"}
    assert not w.submit(print)  # closed: refused


def test_a_stalled_disk_bounds_the_queue_and_counts_the_drops():
    gate = threading.Event()
    started = threading.Event()
    w = SerialWriter("t", maxsize=3)

    def stuck() -> None:
        started.set()
        gate.wait(10)

    w.submit(stuck)
    assert started.wait(10)  # the thread is inside the first write
    assert all(w.submit(lambda: None) for _ in range(3))
    assert not w.submit(lambda: None) and w.dropped == 1
    gate.set()
    assert w.close(timeout=10)


def test_a_failing_write_is_counted_and_the_next_still_runs():
    out: list[int] = []
    w = SerialWriter("t")
    w.submit(lambda: 1 / 0)
    w.submit(lambda: out.append(1))
    assert w.close(timeout=10)
    assert w.failed == 1 and out == [1]
