"""The context an experiment runs in: output folder, seeds, device, checkpoints, artefacts."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import torch

from neurocircuits.errors import MissingDependencyError, NeurocircuitsError, UnknownNameError, ValidationError
from neurocircuits.report.table import ResultTable
from neurocircuits.train.checkpoint import atomic_save

T = TypeVar("T")


@dataclass(frozen=True)
class Unit:
    """One independent, checkpointed unit of an experiment's work.

    ``fn(*args, **kwargs)`` is computed once and saved under ``key``; ``fn`` must be a
    module-level function (picklable), so that worker processes or a cluster can run it.
    ``gpu`` is the fraction of a GPU the unit asks for where the executor schedules GPUs
    (Ray on a cluster with GPUs). Pass data, seeds and the device as arguments, never the
    :class:`RunContext`: a unit must be a pure function of its arguments, so that every
    executor gives the same result.

    Example:
        >>> Unit("seed=0", pow, (2, 10)).run()
        1024
    """

    key: str
    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    gpu: float = 0.0

    def run(self) -> Any:
        return self.fn(*self.args, **dict(self.kwargs))


class UnitsFailedError(NeurocircuitsError, RuntimeError):
    """Some units raised; the others finished and are checkpointed. ``failures`` maps key -> error."""

    def __init__(self, failures: dict[str, BaseException]):
        self.failures = failures
        if len(failures) == 1:
            ((k, e),) = failures.items()
            msg = f"unit {k} failed: {type(e).__name__}: {e} (the other units are checkpointed; re-run to retry)"
        else:
            lines = [f"  {k}: {type(e).__name__}: {e}" for k, e in failures.items()]
            msg = (f"{len(failures)} units failed (the others are checkpointed; re-run to retry):\n"
                   + "\n".join(lines))
        super().__init__(msg)


# --- executors -----------------------------------------------------------------------------
#
# An executor runs units and yields ``(index, ok, value_or_error)`` as each unit finishes, in
# whatever order they finish; ``RunContext.map`` checkpoints each result as it arrives (in the
# parent process) and returns the results in input order, so the order of completion never
# reaches a results table.

Outcome = tuple[int, bool, Any]


def _call(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, float]:
    """Run one unit where the executor put it; return its value and its compute seconds."""
    t = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, time.perf_counter() - t


class Executor:
    """Base of the executors behind :meth:`RunContext.map` (in-process by default).

    Subclasses implement :meth:`results` (yield ``(index, True, (value, seconds))`` or
    ``(index, False, error)`` as each unit finishes); :meth:`close` releases workers or a
    cluster connection at the end of a run (``kill=True`` after an interruption).
    """

    name = "in-process"

    def results(self, units: Sequence[Unit]) -> Iterator[Outcome]:
        """Yield ``(index, ok, (value, seconds) or error)`` as each unit finishes."""
        for i, u in enumerate(units):
            try:
                out = _call(u.fn, u.args, dict(u.kwargs))
            except Exception as e:  # reported with its key once the other units have run
                yield i, False, e
            else:
                yield i, True, out

    def close(self, kill: bool = False) -> None:
        """Release resources held between ``map`` calls (none for the in-process executor)."""

    def describe(self) -> str:
        return self.name


class InProcessExecutor(Executor):
    """Runs units one after the other in this process (the default).

    Example:
        >>> [(i, ok, out[0]) for i, ok, out in InProcessExecutor().results([Unit("a", abs, (-2,))])]
        [(0, True, 2)]
    """


def _worker_init(threads: int) -> None:
    import signal

    # Ctrl-C and a batch scheduler's SIGTERM go to the whole process group: the parent decides
    # (it keeps what has returned and kills the workers)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    torch.set_num_threads(threads)


class ProcessExecutor(Executor):
    """Runs units in ``workers`` local processes (``spawn`` start method, so CUDA is safe).

    The pool starts on the first :meth:`results` call and is reused until :meth:`close`.
    Each worker uses ``threads`` torch/BLAS threads (default: cores // workers).
    """

    name = "workers"

    def __init__(self, workers: int, threads: int | None = None):
        if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
            raise ValidationError(f"workers must be an integer >= 1, got {workers!r}")
        self.workers = workers
        self.threads = threads or max(1, (os.cpu_count() or 1) // workers)
        self._pool: Any = None

    def describe(self) -> str:
        return f"{self.workers} worker processes ({self.threads} threads each)"

    def _ensure(self) -> Any:
        if self._pool is None:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor

            self._pool = ProcessPoolExecutor(self.workers, mp_context=mp.get_context("spawn"),
                                             initializer=_worker_init, initargs=(self.threads,))
        return self._pool

    def results(self, units: Sequence[Unit]) -> Iterator[Outcome]:
        from concurrent.futures import as_completed
        from concurrent.futures.process import BrokenProcessPool

        pool = self._ensure()
        futures = {pool.submit(_call, u.fn, u.args, dict(u.kwargs)): i for i, u in enumerate(units)}
        broken = False
        try:
            for f in as_completed(futures):
                err = f.exception()
                broken |= isinstance(err, BrokenProcessPool)
                yield (futures[f], False, err) if err is not None else (futures[f], True, f.result())
        finally:
            for f in futures:
                f.cancel()
            if broken:  # a worker died (e.g. out of memory): start a fresh pool next time
                self.close(kill=True)

    def close(self, kill: bool = False) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        procs = list(getattr(pool, "_processes", {}).values()) if kill else []
        pool.shutdown(wait=not kill, cancel_futures=True)
        for p in procs:  # units in flight are lost anyway; do not let them run on
            if p.is_alive():
                p.kill()
        for p in procs:
            p.join(5)


class RayExecutor(Executor):
    """Runs units as Ray tasks, on a local Ray instance or on the cluster at ``address``.

    Without ``address`` (and with no Ray session open in this process) a local instance with
    ``num_cpus`` CPUs (default: all cores) is started, without dashboard and with usage
    statistics off, and shut down by :meth:`close`. With ``address`` (``"auto"``, ``host:port``
    or ``ray://host:10001``) the executor joins a running cluster, e.g. one started with
    ``ray start --head``. Each unit asks for one CPU, and for ``unit.gpu`` GPUs when the
    cluster has GPUs. Needs the ``distributed`` extra (``pip install "neurocircuits[distributed]"``).
    """

    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None):
        if num_cpus is not None and (not isinstance(num_cpus, int) or num_cpus < 1):
            raise ValidationError(f"num_cpus must be an integer >= 1, got {num_cpus!r}")
        self.address = address or None
        self.num_cpus = num_cpus
        self._started = False
        self._remote: Any = None
        self._gpus = 0.0

    def describe(self) -> str:
        return f"ray ({self.address or 'local instance'})"

    def _ensure(self) -> Any:
        try:
            import ray
        except ImportError as e:
            raise MissingDependencyError("ray", "--executor ray", 'pip install "neurocircuits[distributed]"') from e
        if not ray.is_initialized():
            import signal
            import threading

            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            main = threading.current_thread() is threading.main_thread()
            sigterm = signal.getsignal(signal.SIGTERM) if main else None
            if self.address:
                try:
                    ray.init(address=self.address, logging_level=logging.WARNING)
                except (ConnectionError, ValueError, RuntimeError) as e:
                    raise ValidationError(f"cannot connect to the Ray cluster at --address {self.address}: {e}") from e
            else:
                ray.init(num_cpus=self.num_cpus or os.cpu_count() or 1, include_dashboard=False,
                         logging_level=logging.WARNING)
            self._started = True
            if main and sigterm is not None:  # ray.init replaces the SIGTERM handler: keep ours (stop like Ctrl-C)
                signal.signal(signal.SIGTERM, sigterm)
        if self._remote is None:
            self._remote = ray.remote(_call)
            self._gpus = float(ray.cluster_resources().get("GPU", 0.0))
        return ray

    def results(self, units: Sequence[Unit]) -> Iterator[Outcome]:
        ray = self._ensure()
        index = {}
        for i, u in enumerate(units):
            opts: dict[str, Any] = {"num_cpus": 1, "max_retries": 0}
            if u.gpu and self._gpus > 0:
                opts["num_gpus"] = u.gpu
            index[self._remote.options(**opts).remote(u.fn, u.args, dict(u.kwargs))] = i
        pending = list(index)
        # No ray.cancel on interruption: in Ray 2.x cancelling can race a finishing task and abort
        # the driver. When this executor started or joined Ray itself, :meth:`close` ends the
        # session, and Ray then stops the job's queued and running tasks.
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                try:
                    value = ray.get(ref)
                except ray.exceptions.RayTaskError as e:  # the unit raised: report its own error
                    cause = getattr(e, "cause", None)
                    yield index[ref], False, cause if isinstance(cause, BaseException) else e
                except ray.exceptions.RayError as e:  # worker died, task cancelled, ...
                    yield index[ref], False, e
                else:
                    yield index[ref], True, value

    def close(self, kill: bool = False) -> None:
        if self._started:
            import ray

            ray.shutdown()
            self._started = False
        self._remote = None


def make_executor(executor: str = "in-process", workers: int | None = None, address: str | None = None,
                  num_cpus: int | None = None) -> Executor:
    """The executor named on the command line (``--executor``, ``--workers``, ``--address``).

    Example:
        >>> make_executor().describe(), make_executor(workers=2).workers
        ('in-process', 2)
    """
    name = (executor or "in-process").lower()
    if name in ("ray",):
        if workers is not None:
            raise ValidationError("--workers applies to the local worker executor; with --executor ray the "
                                  "cluster's CPUs set the parallelism")
        return RayExecutor(address, num_cpus)
    if address:
        raise ValidationError("--address needs --executor ray")
    if name in ("in-process", "local", "process", "workers"):
        if workers is None or (name == "in-process" and workers == 1):
            return InProcessExecutor()
        return ProcessExecutor(workers)
    raise UnknownNameError("executor", executor, ["in-process", "ray"], hint="use --workers N for local processes")


class _Progress:
    """Progress of a loop: a tqdm bar on a terminal; otherwise one log line every ``interval`` s."""

    def __init__(self, iterable: Iterable[Any] | None, total: int | None, desc: str, mode: str,
                 interval: float, log: Callable[[str], None], **kw: Any):
        self.iterable, self.desc, self.mode, self.interval, self._log = iterable, desc, mode, interval, log
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        self.total, self.n = total, 0
        self._t0 = self._last = time.monotonic()
        self._bar: Any = None
        if mode == "tty":
            from tqdm.auto import tqdm

            self._bar = tqdm(iterable, total=total, desc=desc, leave=False, dynamic_ncols=True, **kw)

    def __iter__(self) -> Iterator[Any]:
        if self._bar is not None:
            yield from self._bar
            return
        for item in self.iterable or ():
            yield item
            self.update(1)

    def update(self, n: int = 1) -> None:
        if self._bar is not None:
            self._bar.update(n)
            return
        self.n += n
        now = time.monotonic()
        if self.mode == "log" and now - self._last >= self.interval:
            self._last = now
            el = now - self._t0
            of = f"/{self.total}" if self.total else ""
            eta = (f", about {el / self.n * (self.total - self.n):.0f} s left"
                   if self.total and self.n and self.n < self.total else "")
            self._log(f"{self.desc or 'progress'}: {self.n}{of} after {el:.0f} s{eta}")

    def set_postfix(self, *a: Any, **kw: Any) -> None:
        if self._bar is not None:
            self._bar.set_postfix(*a, **kw)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> "_Progress":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


@dataclass
class RunContext:
    """Everything an experiment may touch besides its config.

    ``memo(key, fn)`` is the unit of checkpointing: the result of ``fn()`` is saved under
    ``checkpoints/`` and returned without recomputation when the run is resumed, so an
    interrupted run loses at most the unit that was in progress. Long training loops
    additionally checkpoint every epoch under :meth:`checkpoint_path`. :meth:`map` runs
    independent units on ``executor`` (in-process, worker processes or Ray).
    """

    out_dir: Path
    seeds: list[int]
    quick: bool = False
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    progress: bool = True
    manifest: dict[str, Any] = field(default_factory=dict)
    executor: Executor = field(default_factory=InProcessExecutor)
    log_interval_s: float = 30.0

    def __post_init__(self) -> None:
        self.out_dir = Path(self.out_dir)
        (self.out_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
        self.manifest.setdefault("tables", [])
        self.manifest.setdefault("figures", [])
        self.manifest.setdefault("text", [])

    # --- progress and logging -------------------------------------------------------
    def bar(self, iterable: Iterable[T] | None = None, total: int | None = None, desc: str = "",
            **kw: Any) -> Any:
        """Progress of a loop: a tqdm bar on a terminal; without one (nohup, batch jobs) a log
        line about every ``log_interval_s`` seconds; nothing when progress is off."""
        tty = sys.stderr.isatty() or os.environ.get("NEUROCIRCUITS_PROGRESS") == "1"
        mode = "off" if not self.progress else ("tty" if tty else "log")
        return _Progress(iterable, total, desc, mode, self.log_interval_s, self.log, **kw)

    def log(self, msg: str) -> None:
        if self.progress:
            print(f"[neurocircuits] {msg}", file=sys.stderr, flush=True)

    # --- checkpoints ---------------------------------------------------------------------
    def checkpoint_path(self, key: str) -> Path:
        return self.out_dir / "checkpoints" / f"{_safe(key)}.pt"

    def is_memoized(self, key: str) -> bool:
        """Whether :meth:`memo` already holds a result for ``key`` (it would not recompute it)."""
        return self._memo_path(key).exists()

    def memo(self, key: str, fn: Callable[[], T]) -> T:
        """Return ``fn()``, computing it only if no checkpoint for ``key`` exists yet."""
        path = self._memo_path(key)
        if path.exists():
            return torch.load(path, weights_only=False)
        value = fn()
        atomic_save(value, path)
        return value

    def map(self, units: Iterable[Unit], desc: str = "units") -> list[Any]:
        """Run independent ``units`` on the context's executor; return their results in input order.

        Each unit is checkpointed under its key as :meth:`memo` does, by this process as soon
        as the unit returns (its compute seconds add up in ``manifest["units"][desc]``), so a resumed run (on any executor) computes only the units that
        are missing, and an interrupted one loses only the units in flight. A unit that raises
        does not stop the others; after all have run, :class:`UnitsFailedError` names each
        failed key with its error.

        Example:
            >>> import tempfile
            >>> ctx = RunContext(tempfile.mkdtemp(), [0], progress=False)
            >>> ctx.map([Unit(f"x={i}", pow, (i, 2)) for i in range(4)])
            [0, 1, 4, 9]
        """
        units = list(units)
        keys = [u.key for u in units]
        if len(set(keys)) != len(keys):
            dup = sorted({k for k in keys if keys.count(k) > 1})
            raise ValidationError(f"unit keys must be unique; repeated: {', '.join(dup)}")
        results: list[Any] = [None] * len(units)
        todo = []
        for i, u in enumerate(units):
            if self.is_memoized(u.key):
                results[i] = self.memo(u.key, u.run)
            else:
                todo.append(i)
        if not todo:
            return results
        failures: dict[int, BaseException] = {}
        stats = self.manifest.setdefault("units", {}).setdefault(
            desc, {"computed": 0, "loaded": 0, "failed": 0, "seconds_total": 0.0, "seconds_max": 0.0})
        stats["loaded"] += len(units) - len(todo)
        t0 = time.perf_counter()
        with self.bar(total=len(todo), desc=desc) as bar:
            outcomes = self.executor.results([units[i] for i in todo])
            try:
                for j, ok, out in outcomes:
                    i = todo[j]
                    if ok:
                        value, seconds = out
                        atomic_save(value, self._memo_path(units[i].key))
                        results[i] = value
                        stats["computed"] += 1
                        stats["seconds_total"] += seconds
                        stats["seconds_max"] = max(stats["seconds_max"], seconds)
                    else:
                        failures[i] = out
                        stats["failed"] += 1
                        self.log(f"unit {units[i].key} failed: {type(out).__name__}: {out}")
                    bar.update(1)
            finally:
                stats["wall_s"] = stats.get("wall_s", 0.0) + time.perf_counter() - t0
                close = getattr(outcomes, "close", None)
                if close is not None:
                    close()
        if failures:
            raise UnitsFailedError({units[i].key: failures[i] for i in sorted(failures)})
        return results

    def _memo_path(self, key: str) -> Path:
        return self.out_dir / "checkpoints" / f"{_safe(key)}.memo.pt"

    # --- artefacts ------------------------------------------------------------------------
    def add_table(self, table: ResultTable, name: str, caption: str = "", by: list[str] | None = None,
                  note: str = "") -> None:
        file = f"{_safe(name)}.json"
        table.save(self.out_dir / file)
        entry = {"file": file, "caption": caption or table.title, "by": by, "note": note}
        self.manifest["tables"] = [t for t in self.manifest["tables"] if t["file"] != file] + [entry]

    def add_figure(self, fig: Any, name: str, caption: str = "") -> Path:
        from neurocircuits.report.plots import save_figure

        file = f"{_safe(name)}.png"
        path = save_figure(fig, self.out_dir / file)
        self.manifest["figures"] = [f for f in self.manifest["figures"] if f["file"] != file] + [
            {"file": file, "caption": caption}]
        return path

    def add_text(self, heading: str, body: str, where: str = "top") -> None:
        self.manifest["text"] = [t for t in self.manifest["text"] if t["heading"] != heading] + [
            {"heading": heading, "body": body, "where": where}]

    def save_manifest(self) -> None:
        path = self.out_dir / "manifest.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.manifest, indent=1, default=str))
        os.replace(tmp, path)


def _safe(key: str) -> str:
    return "".join(c if c.isalnum() or c in "-_.=" else "_" for c in key)
