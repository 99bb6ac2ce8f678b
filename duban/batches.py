"""Items in lists of a given size, as they come: Python 3.12's `itertools.batched` (as lists),
which this project's oldest Python (3.11) lacks."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """`items` in lists of `size`, the last one shorter, without reading ahead of the list
    being filled (a stream stays a stream)."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
