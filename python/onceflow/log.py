"""The embedded log of a data directory: topics, produce, consume."""

from __future__ import annotations

import json
import os
from typing import Any, Iterable, List, NamedTuple, Optional, Union

from . import _onceflow

Value = Union[str, bytes, dict]


class Record(NamedTuple):
    """A record read back from a topic."""

    partition: int
    offset: int
    key: Optional[Union[str, bytes]]
    value: Union[str, bytes]
    timestamp_ms: int


def _encode(value: Any, index: int) -> Union[str, bytes]:
    if isinstance(value, (str, bytes)):
        return value
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    raise _onceflow.Error(
        f"values[{index}]: expected str, bytes or dict, got {type(value).__name__}")


class Log:
    """The embedded durable log under ``data_dir`` (what ``onceflow topics``, ``produce`` and
    ``consume`` use): a topic is a set of partitions of records at offsets 0, 1, 2, ...

    A record is acknowledged only once it is durable (fsynced): when :meth:`produce` returns,
    every record it was given is in the topic exactly once.
    """

    def __init__(self, data_dir: Union[str, os.PathLike] = "./onceflow-data") -> None:
        """The log of ``data_dir`` (created with the first topic)."""
        self.data_dir = os.fspath(data_dir)
        self._native = _onceflow.NativeLog(self.data_dir)

    def create_topic(self, name: str, partitions: int = 1) -> None:
        """Creates topic ``name`` with ``partitions`` partitions (1 .. 10000; fixed: a keyed
        record's partition is murmur2(key) modulo this count). Raises :class:`onceflow.Error` if
        it exists or the name is not letters, digits, '.', '_' or '-'."""
        self._native.create_topic(name, partitions)

    def topics(self) -> List[str]:
        """The names of the topics, sorted."""
        return list(self._native.topics())

    def describe(self, name: str) -> dict:
        """``{"name", "partitions": [{"partition", "earliest", "end", "records"}]}``: each
        partition's first offset still held, the next offset to be written, and the count."""
        return self._native.describe(name)

    def produce(self, topic: str, values: Iterable[Value],
                keys: Optional[Iterable[Optional[Union[str, bytes]]]] = None) -> int:
        """Appends ``values`` to ``topic`` in one batched, group-committed write and returns
        their count once all are durable. A dict is stored as compact JSON (what a
        ``format = "json"`` pipeline reads), str and bytes as they are. With ``keys`` (one per
        value, None for no key) a record goes to its key's partition (as Kafka's default
        partitioner); without, records are spread round robin. On an error nothing more is
        appended and :class:`onceflow.Error` names the partition."""
        encoded = [_encode(v, i) for i, v in enumerate(values)]
        key_list = None if keys is None else list(keys)
        return int(self._native.produce(topic, encoded, key_list))

    def consume(self, topic: str, partition: Optional[int] = None, offset: int = 0,
                max: Optional[int] = None, *, records: bool = False
                ) -> Union[List[Union[str, bytes]], List[Record]]:
        """The durable records of ``topic`` from ``offset`` (of each partition, or of
        ``partition`` only), partition by partition in offset order, up to ``max`` in all.
        Values come back as str (bytes if they are not UTF-8); ``records=True`` returns
        :class:`Record` tuples with partition, offset, key and timestamp."""
        description = self.describe(topic)
        parts = [p for p in description["partitions"]
                 if partition is None or p["partition"] == partition]
        if partition is not None and not parts:
            raise _onceflow.Error(f"topic '{topic}' has no partition {partition}")
        out: list = []
        for p in parts:
            at = offset if offset >= p["earliest"] else p["earliest"]
            while at < p["end"] and (max is None or len(out) < max):
                want = 10000 if max is None else min(10000, max - len(out))
                chunk = self._native.read(topic, p["partition"], at, want)
                if not chunk:
                    break
                for i, (key, value, ts) in enumerate(chunk):
                    out.append(Record(p["partition"], at + i, key, value, ts) if records else value)
                at += len(chunk)
        return out
