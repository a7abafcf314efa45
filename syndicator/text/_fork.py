"""Compute a function over shards in forked child processes: for big batches on several cores.

The only place in :mod:`syndicator.text` that starts processes. The children compute and send
their result back through a pipe; they open no file and no socket. Fork is used (not spawn), so
a child inherits the parent's memory (an index built once) and nothing is pickled on the way in.
Where fork is not available the shards are computed here, one after the other.

Fork copies only the calling thread, so a process that runs other threads (a server, a
scheduler) computes its shards itself, one after the other: only a single-threaded process (a CLI
command, a batch job) forks.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import threading
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any, TypeVar

__all__ = ["available_cores", "can_fork", "fork_map"]

_Shard = TypeVar("_Shard")
_Result = TypeVar("_Result")


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(len(os.sched_getaffinity(0)), 1)
    return os.cpu_count() or 1


def can_fork() -> bool:
    """Whether :func:`fork_map` would fork here (fork exists, no other thread runs)."""
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


def fork_map(func: Callable[[_Shard], _Result], shards: Sequence[_Shard]) -> list[_Result]:
    """``[func(shard) for shard in shards]``, each shard in a child process of its own.

    An exception raised by *func* in a child is raised here (as a :class:`RuntimeError` if it
    cannot be sent back); a child that dies without answering raises :class:`RuntimeError`.
    """
    if len(shards) <= 1 or not can_fork():
        return [func(shard) for shard in shards]
    context = multiprocessing.get_context("fork")
    children: list[tuple[Any, Connection]] = []
    try:
        for shard in shards:
            reader, writer = context.Pipe(duplex=False)
            child = context.Process(target=_child, args=(func, shard, writer), daemon=True)
            child.start()
            writer.close()
            children.append((child, reader))
        results: list[_Result] = []
        for child, reader in children:
            try:
                ok, value = reader.recv()
            except EOFError:
                raise RuntimeError(f"a child process died (exit code {child.exitcode})") from None
            if not ok:
                raise value
            results.append(value)
        return results
    finally:
        for child, reader in children:
            reader.close()
            if child.is_alive():
                child.terminate()
            child.join()


def _child(func: Callable[[Any], Any], shard: Any, writer: Connection) -> None:
    # A child lives for one shard: collecting garbage would only copy the parent's pages (the
    # collector writes to every object it visits) and find next to nothing.
    gc.disable()
    try:
        answer: tuple[bool, Any] = (True, func(shard))
    except Exception as exc:
        answer = (False, exc)
    try:
        writer.send(answer)
    except Exception as exc:  # the result or the exception does not pickle
        writer.send((False, RuntimeError(f"cannot send the result back: {exc!r}")))
    finally:
        writer.close()
