"""`hotline classify` over a stream: one complaint per line in, one JSON decision per line out.

A large piped input is shared among worker processes forked after the classifier is built (the
workers inherit it, nothing is rebuilt or pickled but the lines and the output); output keeps the
input's order. A small input, or a terminal, is classified in this process, line by line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import IO, Any, Protocol

__all__ = ["classify_lines", "classify_stream", "worker_count"]

PARALLEL_FROM = 1_000  # lines: below this, forking costs more than it saves
CHUNK = 100  # lines per task: small enough that the workers finish together
MAX_WORKERS = 8


class _Decision(Protocol):
    def to_json(self) -> dict[str, Any]: ...


class _Classifies(Protocol):
    def classify(self, text: str) -> _Decision: ...


_classifier: _Classifies | None = None  # the forked workers' copy
# What `json.dumps(..., ensure_ascii=False)` does, without building an encoder per line.
_encode = json.JSONEncoder(ensure_ascii=False).encode


def classify_lines(classifier: _Classifies, lines: Iterable[str]) -> str:
    """Classify lines and return their JSON decisions, one per line."""
    out = [_encode(classifier.classify(line.rstrip("\n")).to_json()) for line in lines]
    return "\n".join(out) + "\n" if out else ""


def _work(lines: list[str]) -> str:
    assert _classifier is not None
    return classify_lines(_classifier, lines)


def worker_count() -> int:
    """The processes worth using: the cores this process may run on, at most MAX_WORKERS."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_WORKERS))


def _forkable() -> bool:
    return hasattr(os, "fork")  # what offers multiprocessing's "fork" start method


def _chunks(first: list[str], rest: Iterator[str]) -> Iterator[list[str]]:
    for start in range(0, len(first), CHUNK):
        yield first[start : start + CHUNK]
    while chunk := list(islice(rest, CHUNK)):
        yield chunk


def classify_stream(classifier: _Classifies, source: IO[str], out: IO[str]) -> None:
    """Classify every line of `source` into `out`, in order, in parallel when it pays."""
    global _classifier
    lines = iter(source)
    workers = worker_count()
    if source.isatty() or workers == 1 or not _forkable():
        for line in lines:
            out.write(classify_lines(classifier, (line,)))
            out.flush()
        return
    first = list(islice(lines, PARALLEL_FROM))
    if len(first) < PARALLEL_FROM:
        out.write(classify_lines(classifier, first))
        return
    # The first chunk is classified here: it fills the caches of word repairs and stems,
    # which the forked workers then share instead of each filling its own.
    out.write(classify_lines(classifier, first[:CHUNK]))
    import multiprocessing  # here: a small input has no use for it, and it costs the start-up

    _classifier = classifier
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        for text in pool.imap(_work, _chunks(first[CHUNK:], lines)):
            out.write(text)
    _classifier = None
