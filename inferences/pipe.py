"""A producer thread feeding the caller through a small bounded queue (the offline passes' two-stage
pipelines): memory stays flat while the producer's work overlaps the consumer's."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def background(items: Iterable[T], *, maxsize: int, name: str) -> Iterator[T]:
    """Iterate `items` in a daemon thread through a bounded queue; its exceptions re-raise here.

    Closing the returned generator (or an exception in the consumer) stops the producer.
    """
    channel: queue.Queue = queue.Queue(maxsize)
    stop = threading.Event()

    def put(message: tuple) -> bool:
        while not stop.is_set():
            try:
                channel.put(message, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        iterator = iter(items)
        try:
            for item in iterator:
                if not put(("item", item)):
                    return
            put(("end", None))
        except BaseException as error:
            put(("error", error))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while True:
            kind, value = channel.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        thread.join()
