"""Where independent units of work run: ``local`` (this process, or N worker processes) or ``ray``
(one task per unit on a Ray cluster, local or remote; the ``ray`` extra).

A backend calls ``fn(unit)`` for every unit and ``on_done(index, value, error)`` as each unit ends,
in completion order: ``error`` is None, or one line saying why the unit has no value (its worker
died more often than the retries allow). ``fn`` must be a module-level function, and must write its
outputs atomically: a unit whose worker is killed is rerun from the start (Ray retries it), so a
half-written output must never be mistaken for a finished one.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Callable

from .errors import InputError

__all__ = ["BACKENDS", "RETRIES", "run_local", "run_ray", "run_units", "set_threads", "unit_task"]

OnDone = Callable[[int, Any, "str | None"], None]
RETRIES = 3  # reruns of a unit whose worker died (Ray's own default for tasks)


def run_local(fn: Callable, units: list, on_done: OnDone, *, workers: int = 1, **_) -> None:
    """Run every unit in this process (``workers`` 1), or in ``workers`` processes.

    The processes share the CPU's threads evenly. A crash in a worker process propagates (no retry:
    nothing here outlives it); Ctrl-C cancels the units not begun.

    Parameters
    ----------
    fn
        ``fn(unit)``, a module-level function.
    units
        The units of work.
    on_done
        ``on_done(index, value, None)`` as each unit ends.
    workers
        The number of processes.
    """
    if workers <= 1:
        for i, unit in enumerate(units):
            on_done(i, fn(unit), None)
        return
    with ProcessPoolExecutor(max_workers=workers, initializer=set_threads,
                             initargs=(max(1, (os.cpu_count() or 1) // workers),)) as pool:
        futures = {pool.submit(fn, unit): i for i, unit in enumerate(units)}
        try:
            for fut in as_completed(futures):
                on_done(futures[fut], fut.result(), None)
        except KeyboardInterrupt:
            pool.shutdown(wait=True, cancel_futures=True)  # the units not begun never start
            raise


def run_ray(fn: Callable, units: list, on_done: OnDone, *, address: str | None = None, cpus_per_task: float = 1,
            gpus_per_task: float = 0, **_) -> None:
    """Run one Ray task per unit; Ray reruns a task whose worker died, up to `RETRIES` times.

    Ray schedules as many tasks at once as the cluster's CPUs and GPUs allow; its workers must be able
    to import siren2.

    Parameters
    ----------
    fn
        ``fn(unit)``, a module-level function.
    units
        The units of work.
    on_done
        ``on_done(index, value, error)`` as each unit ends: ``error`` None, or why a unit whose worker
        died too often has no value.
    address
        A running cluster (``ray start --head`` prints it; "auto" finds the local one); None starts
        a private local cluster for this call and stops it after.
    cpus_per_task
        The CPUs each task declares (its torch threads).
    gpus_per_task
        The GPUs each task declares.

    Raises
    ------
    InputError
        If Ray is not installed.
    """
    if not units:
        return
    try:
        import ray
    except ImportError:
        raise InputError("--backend ray needs Ray: pip install 'siren2[ray]'") from None
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        task = ray.remote(num_cpus=cpus_per_task, num_gpus=gpus_per_task, max_retries=RETRIES)(unit_task)
        threads = max(1, int(cpus_per_task))
        pending = {task.remote(fn, unit, threads): i for i, unit in enumerate(units)}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            i = pending.pop(done[0])
            try:
                value, error = ray.get(done[0]), None
            except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError,
                    ray.exceptions.OutOfMemoryError) as e:
                value, error = None, f"its Ray worker died {RETRIES + 1} times ({type(e).__name__})"
            except ray.exceptions.RayTaskError as e:
                raise e.as_instanceof_cause() from None  # the task's own exception, as in-process
            on_done(i, value, error)
    finally:
        if started:
            ray.shutdown()


BACKENDS: dict[str, Callable] = {"local": run_local, "ray": run_ray}


def run_units(backend: str, fn: Callable, units: list, on_done: OnDone, **options) -> None:
    """Run ``fn`` on every unit with the backend named ``backend``.

    Parameters
    ----------
    backend
        "local" ([`run_local`][]) or "ray" ([`run_ray`][]).
    fn
        ``fn(unit)``, a module-level function.
    units
        The units of work.
    on_done
        ``on_done(index, value, error)`` as each unit ends, in completion order.
    **options
        The backend's options.

    Raises
    ------
    InputError
        For an unknown backend.
    """
    if backend not in BACKENDS:
        raise InputError(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
    BACKENDS[backend](fn, units, on_done, **options)


def set_threads(threads: int) -> None:
    """Set torch's intra-op threads in this process.

    Parameters
    ----------
    threads
        The number of threads.
    """
    import torch

    torch.set_num_threads(threads)


def unit_task(fn: Callable, unit, threads: int):
    """One Ray task (its worker process is titled ``ray::unit_task``): ``fn(unit)`` on ``threads`` torch threads.

    Parameters
    ----------
    fn
        The function.
    unit : object
        Its unit of work.
    threads
        Torch threads.

    Returns
    -------
    object
        ``fn(unit)``.
    """
    set_threads(threads)
    return fn(unit)
