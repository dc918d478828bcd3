"""The collector is held off while a big graph is built, and comes back as it was."""
from __future__ import annotations

import gc
import threading

from apps.graphs.builder.gcpause import gc_paused


def test_the_collector_is_back_after_nested_pauses_and_after_an_error():
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer build is still running
    assert gc.isenabled()
    try:
        with gc_paused():
            raise ValueError("build failed")
    except ValueError:
        pass
    assert gc.isenabled()


def test_a_collector_turned_off_by_someone_else_stays_off():
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_overlapping_pauses_in_two_threads_end_with_the_collector_on():
    inside, leave = threading.Event(), threading.Event()

    def other():
        with gc_paused():
            inside.set()
            leave.wait(5)

    t = threading.Thread(target=other)
    t.start()
    inside.wait(5)
    with gc_paused():
        pass
    assert not gc.isenabled()  # the other thread's build still holds it off
    leave.set()
    t.join(5)
    assert gc.isenabled()
