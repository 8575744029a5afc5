"""Pipeline: define, run and audit an exactly-once pipeline; the TOML file's keys by name."""

from __future__ import annotations

import os
import re
from typing import (Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple,
                    Union)

from . import _onceflow
from ._onceflow import BatchContext, Error

Row = Dict[str, Any]
"""A row: field name -> None, bool, int (64-bit), float, str or bytes."""

_DURATION = re.compile(r"^\s*(\d+)\s*(ms|s|m|h|d)?\s*$")
_UNIT_MS = {None: 1, "ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def _ms(key: str, value: Union[int, str]) -> int:
    """Milliseconds from an int or "500ms", "10s", "5m", "1h", "1d" (as the TOML file)."""
    if isinstance(value, bool):
        raise Error(f"pipeline config: {key}: expected milliseconds or a duration, got {value!r}")
    if isinstance(value, int):
        return value
    m = _DURATION.match(str(value))
    if not m:
        raise Error(f"pipeline config: {key}: expected milliseconds or a duration such as "
                    f"'500ms', '10s', '5m', '1h', '1d', got {value!r}")
    return int(m.group(1)) * _UNIT_MS[m.group(2)]


def _fields(args: Sequence[Any]) -> List[str]:
    """select("a", "b") and select(["a", "b"]) alike."""
    if len(args) == 1 and not isinstance(args[0], str):
        return [str(f) for f in args[0]]
    return [str(f) for f in args]


def _column_fields(key: str, value: Any) -> List[Tuple[str, str]]:
    """{"column": "field"} as (column, field) pairs, in order."""
    if not isinstance(value, Mapping):
        raise Error(f"pipeline config: {key}: expected a table of column = \"field\", "
                    f"got {value!r}")
    return [(str(column), str(field)) for column, field in value.items()]


def _checked(key: str, entry: Any, known: Sequence[str]) -> Mapping[str, Any]:
    if not isinstance(entry, Mapping):
        raise Error(f"pipeline config: {key}: expected a table ({', '.join(known)}), "
                    f"got {entry!r}")
    for k in entry:
        if k not in known:
            raise Error(f"pipeline config: {key}.{k}: unknown key (known keys: "
                        f"{', '.join(known)})")
    return entry


def _add_entries(add: Sequence[Mapping[str, Any]]) -> List[Any]:
    """Additive mode's [[sink.add]] entries as the native builder takes them."""
    out = []
    for i, entry in enumerate(add, start=1):
        key = f"sink.add[{i}]"
        e = _checked(key, entry, ("table", "key", "add"))
        out.append((str(e.get("table", "")), _column_fields(key + ".key", e.get("key", {})),
                    _column_fields(key + ".add", e.get("add", {}))))
    return out


def _append_entry(append: Optional[Mapping[str, Any]]) -> Tuple[str, List[Tuple[str, str]]]:
    """Additive mode's [sink.append] table as the native builder takes it."""
    if append is None:
        return ("", [])
    e = _checked("sink.append", append, ("table", "columns"))
    return (str(e.get("table", "")), _column_fields("sink.append.columns", e.get("columns", {})))


class Pipeline:
    """An exactly-once pipeline: a source, operators and a sink, built fluently with the names
    of the TOML file (``onceflow run FILE``), checked by the same validator with the same
    messages, and run by the same engine.

    Operators run in the order they are added. The built-in ones (:meth:`select`,
    :meth:`rename`, :meth:`where`, :meth:`aggregate`) run in C++; Python functions
    (:meth:`map_batch`, :meth:`filter` with a function, :meth:`flat_map_batch`,
    :meth:`foreach_batch`) get whole batches: all the rows of one task (one input partition's
    range) as a list of dicts, with a :class:`BatchContext`, the GIL taken once per call.

    A function must be deterministic given (rows, ctx): a batch may be computed again after a
    crash or by a retry. An exception in a function fails the task attempt like any failure
    (its traceback is printed): the task is retried (``max_task_failures``), then the batch
    (``max_batch_failures``), then :meth:`run` raises :class:`onceflow.Error` with nothing
    committed past the last good batch. A returned row that is not a dict, or a value of an
    unsupported type, goes to the dead letters (the sink's ``onceflow_dead_letters``) naming the
    field and the type.
    """

    def __init__(self, name: str, *, data_dir: Union[str, os.PathLike] = "./onceflow-data",
                 **options: Any) -> None:
        """A pipeline named ``name`` (letters, digits, '.', '_', '-'; it names the checkpoint
        ``<data_dir>/pipelines/<name>`` and the sink's progress rows) whose checkpoint and
        embedded log live in ``data_dir``. ``options`` are the batch options of
        :meth:`options`."""
        self.name = name
        self.data_dir = os.fspath(data_dir)
        self._builder: Optional[_onceflow.Builder] = _onceflow.Builder(name)
        self._native: Optional[_onceflow.NativePipeline] = None
        self._transforms = 0
        if options:
            self.options(**options)

    @classmethod
    def from_toml(cls, path: Union[str, os.PathLike], *,
                  data_dir: Union[str, os.PathLike] = "./onceflow-data") -> "Pipeline":
        """The pipeline a TOML file describes (README, "Pipeline config reference"), as
        ``onceflow run PATH --data DATA_DIR`` runs it. Raises :class:`onceflow.Error` naming the
        file and key of a bad config."""
        native = _onceflow.NativePipeline.from_toml(os.fspath(path))
        p = cls.__new__(cls)
        p.name = native.name
        p.data_dir = os.fspath(data_dir)
        p._builder = None
        p._native = native
        p._transforms = 0
        return p

    # ---- building -----------------------------------------------------------------------

    def _b(self) -> _onceflow.Builder:
        if self._builder is None:
            raise Error(f"pipeline '{self.name}' is built already (it ran, or came from TOML): "
                        "make a new Pipeline to change it")
        return self._builder

    def from_log(self, topic: str, *, format: str = "json", csv_columns: Sequence[str] = (),
                 csv_delimiter: str = ",", starting_offsets: str = "earliest") -> "Pipeline":
        """[source] type = "log": a topic of the embedded log in ``data_dir``. ``format``:
        "json" (an object per record), "csv" (``csv_columns``, else each partition's record 0
        is its header) or "raw" (fields ``key`` and ``value``); ``starting_offsets``:
        "earliest" or "latest", for a new pipeline."""
        self._b().from_log(topic, format, list(csv_columns), csv_delimiter, starting_offsets)
        return self

    def from_kafka(self, bootstrap: str, topic: str, *, group: str = "", assign: str = "all",
                   session_timeout_ms: int = 10000, format: str = "json",
                   csv_columns: Sequence[str] = (), csv_delimiter: str = ",",
                   starting_offsets: str = "earliest") -> "Pipeline":
        """[source] type = "kafka": a Kafka topic read in exact offset ranges. ``assign``:
        "all" (every partition) or "group" (shared with the pipeline's other processes through
        the consumer group ``group``, default ``onceflow-<name>``)."""
        self._b().from_kafka(bootstrap, topic, group, assign, session_timeout_ms, format,
                             list(csv_columns), csv_delimiter, starting_offsets)
        return self

    def select(self, *fields: Union[str, Sequence[str]], on_missing: str = "error") -> "Pipeline":
        """[[transform]] type = "select": keep these fields, in this order. A row without one
        is a dead letter naming it (``on_missing="null"``: it is output as None)."""
        self._b().select(_fields(fields), on_missing)
        self._transforms += 1
        return self

    def rename(self, fields: Mapping[str, str], *, on_missing: str = "error") -> "Pipeline":
        """[[transform]] type = "rename": ``{"old": "new", ...}``, all at once."""
        self._b().rename(list(fields.items()), on_missing)
        self._transforms += 1
        return self

    def where(self, *conditions: Union[str, Sequence[str]],
              on_missing: str = "error") -> "Pipeline":
        """[[transform]] type = "filter", ``where = [...]``: keep the rows for which every
        condition holds: ``field op literal``, op one of == != < <= > >=, the literal a number,
        true/false, null or a quoted string (``"amount > 0"``, ``'currency == "EUR"'``)."""
        self._b().where(_fields(conditions), on_missing)
        self._transforms += 1
        return self

    def filter(self, condition: Union[str, Sequence[str], Callable[[List[Row], BatchContext],
                                                                   List[Any]]],
               *more: str, on_missing: str = "error", name: Optional[str] = None) -> "Pipeline":
        """Keeps some rows. With conditions (strings), the same as :meth:`where`. With a
        function ``fn(rows, ctx)`` over a whole batch of a task: it returns one bool per row
        (True keeps it), or the list of rows to keep."""
        if callable(condition):
            self._b().batch_function(condition, "filter", name or _name(condition, "filter"))
            return self
        return self.where(condition, *more, on_missing=on_missing)

    def map_batch(self, fn: Callable[[List[Row], BatchContext], List[Row]], *,
                  name: Optional[str] = None) -> "Pipeline":
        """``fn(rows, ctx) -> rows``: the rows of one task of a batch (a list of dicts, in
        offset order) in, any number of rows out. ``name`` names it in errors (default: the
        function's name)."""
        self._b().batch_function(fn, "map", name or _name(fn, "map_batch"))
        return self

    def flat_map_batch(self, fn: Callable[[List[Row], BatchContext], List[List[Row]]], *,
                       name: Optional[str] = None) -> "Pipeline":
        """``fn(rows, ctx) -> [rows_of_row_0, rows_of_row_1, ...]``: one list of output rows
        per input row (each output row keeps its input record's offset)."""
        self._b().batch_function(fn, "flat_map", name or _name(fn, "flat_map_batch"))
        return self

    def foreach_batch(self, fn: Callable[[List[Row], BatchContext], None]) -> "Pipeline":
        """``fn(rows, ctx)``: called with every batch's output rows (all tasks) before the sink
        commit — the escape hatch for effects on other systems. It may run more than once for
        a batch (a retry, a crash before the commit): make the effect idempotent by
        ``ctx.idempotency_key`` (README, "foreach_batch exactly once"). An exception retries
        the batch. A pipeline needs a sink or a foreach_batch."""
        self._b().foreach_batch(fn)
        return self

    def update_state(self, key: Union[str, Sequence[str]],
                     fn: Callable[[Row, Any, List[Row], BatchContext], Tuple[Any, List[Row]]], *,
                     timeout_ms: Optional[int] = None) -> "Pipeline":
        """Keyed state in Python (mapWithState): per key and batch, ``fn(key, state, rows,
        ctx) -> (state, output_rows)`` with ``key`` a dict of the key fields, ``state`` the
        key's JSON-compatible value (None at first) and ``rows`` the key's rows of the batch in
        offset order. Return None as the state to remove it. The state is committed exactly
        once, after the sink (README, "Aggregates and windows"). With ``timeout_ms``, a key not
        updated for that long in batch time gets a last call with no rows, then its state is
        removed. An exception (or a state JSON cannot hold) sends the key's rows of the batch
        to the dead letters and leaves its state (the other keys go on); its traceback is
        printed. ``fn`` is called once per key, but the GIL is taken once per state task and
        batch: all the keys of a state task's share of a batch are called in one hold of it
        (and the keys timing out in one more). A pipeline has at most one stateful operator."""
        keys = [key] if isinstance(key, str) else list(key)
        self._b().update_state(keys, fn, -1 if timeout_ms is None else timeout_ms)
        return self

    def aggregate(self, key: Union[str, Sequence[str]], aggregates: Mapping[str, str], *,
                  window: Optional[Mapping[str, Any]] = None,
                  combine: bool = True) -> "Pipeline":
        """[[transform]] type = "aggregate": running aggregates per key with exactly-once
        state, e.g. ``aggregate("user", {"purchases": "count", "spent": "sum(amount)"})``
        ("count", "sum(f)", "min(f)", "max(f)", "avg(f)"); must be the last transform.
        ``window``: the TOML's ``{type, size, slide, time_field, allowed_lateness, emit,
        idle_timeout, emit_open_windows_at_end}`` (durations in ms or "10s")."""
        prefix = f"transform[{self._transforms}].window"
        w = None
        if window is not None:
            known = {"type", "size", "slide", "time_field", "allowed_lateness", "emit",
                     "idle_timeout", "emit_open_windows_at_end"}
            for k in window:
                if k not in known:
                    raise Error(f"pipeline config: {prefix}.{k}: unknown key")
            for k in ("type", "size", "time_field"):
                if k not in window:
                    raise Error(f"pipeline config: {prefix}.{k}: required")
            w = {
                "type": str(window["type"]),
                "size": _ms(prefix + ".size", window["size"]),
                "slide": _ms(prefix + ".slide", window.get("slide", 0)),
                "time_field": str(window["time_field"]),
                "allowed_lateness": _ms(prefix + ".allowed_lateness",
                                        window.get("allowed_lateness", 0)),
                "emit": str(window.get("emit", "update")),
                "idle_timeout": _ms(prefix + ".idle_timeout", window.get("idle_timeout", 30000)),
                "emit_open_windows_at_end": bool(window.get("emit_open_windows_at_end", False)),
            }
        keys = [key] if isinstance(key, str) else list(key)
        self._b().aggregate(keys, list(aggregates.items()), w, combine)
        self._transforms += 1
        return self

    def to_sqlite(self, path: Union[str, os.PathLike], *, table: str = "", mode: str = "append",
                  key: Sequence[str] = (), statements: Sequence[str] = (),
                  init: Sequence[str] = (), add: Sequence[Mapping[str, Any]] = (),
                  append: Optional[Mapping[str, Any]] = None) -> "Pipeline":
        """[sink] type = "sqlite": output rows and progress rows in one transaction. ``mode``:
        "append" (into ``table``), "upsert" (by ``key``), "statements" (SQL with :field
        parameters, run per row: ``balance = balance + :amount`` stays exactly once) or
        "additive" (counters and balances: the batch's deltas summed per key, one upsert per key
        per batch). ``add`` (additive, the TOML's [[sink.add]]): dicts ``{"table": "accounts",
        "key": {"id": "from"}, "add": {"balance": "-amount"}}``; ``append`` (additive, the
        TOML's [sink.append]): ``{"table": "ledger", "columns": {"src": "from"}}``, the plain
        rows written in the same transaction. ``init``: statements run at open (CREATE TABLE IF
        NOT EXISTS ...)."""
        return self._to_sql("sqlite", os.fspath(path), table, mode, key, statements, init, add,
                            append)

    def to_postgres(self, conninfo: str, *, table: str = "", mode: str = "append",
                    key: Sequence[str] = (), statements: Sequence[str] = (),
                    init: Sequence[str] = (), add: Sequence[Mapping[str, Any]] = (),
                    append: Optional[Mapping[str, Any]] = None) -> "Pipeline":
        """[sink] type = "postgres": as :meth:`to_sqlite`, into PostgreSQL (a libpq connection
        string or URI)."""
        return self._to_sql("postgres", conninfo, table, mode, key, statements, init, add,
                            append)

    def _to_sql(self, type: str, target: str, table: str, mode: str, key: Sequence[str],
                statements: Sequence[str], init: Sequence[str], add: Sequence[Mapping[str, Any]],
                append: Optional[Mapping[str, Any]]) -> "Pipeline":
        """The one path of :meth:`to_sqlite` and :meth:`to_postgres` (the same TOML keys,
        checked the same way; only the target differs: a file or a connection string)."""
        self._b().to_sql(type, target, list(init), mode, table, list(key), list(statements),
                         _add_entries(add), _append_entry(append))
        return self

    def to_kafka(self, bootstrap: str, topic: str, *, key_field: str = "") -> "Pipeline":
        """[sink] type = "kafka": each task's rows (as JSON objects) and a progress marker in
        one Kafka transaction; read with read_committed."""
        self._b().to_kafka(bootstrap, topic, key_field)
        return self

    def options(self, *, batch_interval_ms: Optional[int] = None,
                max_records_per_partition: Optional[int] = None,
                max_task_failures: Optional[int] = None,
                max_batch_failures: Optional[int] = None, speculation: Optional[bool] = None,
                speculation_multiplier: float = 4.0, speculation_min_ms: int = 100,
                executor_threads: Optional[int] = None, commit_mode: Optional[str] = None,
                state_tasks: Optional[int] = None,
                state_cache_mb: Optional[int] = None,
                on_replay_mismatch: Optional[str] = None) -> "Pipeline":
        """The batch options, as the TOML file's top-level keys (README, "Pipeline config
        reference"); None keeps the default."""
        b = self._b()
        if batch_interval_ms is not None:
            b.batch_interval_ms(batch_interval_ms)
        if max_records_per_partition is not None:
            b.max_records_per_partition(max_records_per_partition)
        if max_task_failures is not None:
            b.max_task_failures(max_task_failures)
        if max_batch_failures is not None:
            b.max_batch_failures(max_batch_failures)
        if speculation is not None:
            b.speculation(speculation, speculation_multiplier, speculation_min_ms)
        if executor_threads is not None:
            b.executor_threads(executor_threads)
        if commit_mode is not None:
            b.commit_mode(commit_mode)
        if state_tasks is not None:
            b.state_tasks(state_tasks)
        if state_cache_mb is not None:
            b.state_cache_mb(state_cache_mb)
        if on_replay_mismatch is not None:
            b.on_replay_mismatch(on_replay_mismatch)
        return self

    # ---- running and auditing -------------------------------------------------------------

    def build(self) -> "Pipeline":
        """Validates the pipeline (done by the first run, status or verify otherwise); raises
        :class:`onceflow.Error` with the TOML validator's message ("pipeline config: <key>:
        <what is wrong>")."""
        if self._native is None:
            self._native = self._b().build()
            self._builder = None
        return self

    def run(self, *, until_caught_up: bool = False,
            max_batches: Optional[int] = None) -> Dict[str, int]:
        """Recovers from the checkpoint and runs batches until :meth:`stop`, until everything
        the source held when it started is committed (``until_caught_up``), ``max_batches``,
        or an error. The GIL is released while the engine runs; Ctrl-C stops after the current
        batch and raises KeyboardInterrupt. Returns :meth:`stats`. Raises
        :class:`onceflow.Error` with the engine's one-line message (its ``python_traceback``
        is the last Python function's traceback, if one failed)."""
        native = self.build()._native
        assert native is not None
        message, traceback = native.run(self.data_dir, until_caught_up,
                                        -1 if max_batches is None else max_batches)
        if message:
            error = Error(message)
            error.python_traceback = traceback or None  # type: ignore[attr-defined]
            raise error
        return self.stats()

    def stop(self) -> None:
        """Makes a running :meth:`run` (in another thread) return after its current batch."""
        if self._native is not None:
            self._native.stop()

    def stats(self) -> Dict[str, int]:
        """Counters since this object started running: batches_committed, records_in,
        rows_out, dead_letters, task_attempts, task_failures, batch_retries,
        already_committed, late_records, last_batch, ..., and python_ms (time in the Python
        functions, conversions included, summed over the threads)."""
        if self._native is None:
            return {}
        stats = dict(self._native.stats())
        # Time in the Python functions (from waiting for the GIL to their rows converted back),
        # summed over the executor threads.
        stats["python_ms"] = int(self._native.python_seconds() * 1000)
        return stats

    def status(self) -> Dict[str, Any]:
        """What ``onceflow status`` prints, as a dict: last_committed, epoch, per-partition
        committed offsets and lag, the sink's progress, and ``refusal`` (why run would refuse
        to start, or None). Safe while the pipeline runs."""
        native = self.build()._native
        assert native is not None
        return dict(native.status(self.data_dir))

    def verify(self) -> Dict[str, Any]:
        """What ``onceflow verify`` checks: the sink's progress rows cover exactly the committed
        ranges, no gap or overlap. ``{"ok", "first_violation", "violations", "summary", ...}``.
        Call it when the pipeline is not running."""
        native = self.build()._native
        assert native is not None
        return dict(native.verify(self.data_dir))

    def __repr__(self) -> str:
        return f"Pipeline({self.name!r}, data_dir={self.data_dir!r})"


def _name(fn: Any, default: str) -> str:
    n = getattr(fn, "__name__", None)
    return f"{default} {n}" if n and n != "<lambda>" else default
