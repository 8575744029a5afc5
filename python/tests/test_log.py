"""onceflow.Log: topics, produce (durable when it returns), consume."""

import pytest

import onceflow


def test_create_list_describe_produce_consume(data_dir):
    log = onceflow.Log(data_dir)
    log.create_topic("events", partitions=3)
    log.create_topic("other")
    assert log.topics() == ["events", "other"]
    values = [{"n": i} for i in range(100)] + ["plain text", b"\xff\xfe raw"]
    assert log.produce("events", values, keys=[str(i % 7) for i in range(len(values))]) == 102
    d = log.describe("events")
    assert d["name"] == "events"
    assert [p["partition"] for p in d["partitions"]] == [0, 1, 2]
    assert sum(p["records"] for p in d["partitions"]) == 102
    back = log.consume("events")
    assert sorted(map(str, back)) == sorted(map(str, ['{"n":%d}' % i for i in range(100)]
                                                  + ["plain text", b"\xff\xfe raw"]))
    # A key always lands in one partition, in order.
    recs = log.consume("events", records=True)
    by_key = {}
    for r in recs:
        by_key.setdefault(r.key, set()).add(r.partition)
    assert all(len(parts) == 1 for parts in by_key.values())
    first = log.consume("events", partition=recs[0].partition, offset=1, max=2, records=True)
    assert [r.offset for r in first] == [1, 2]


def test_errors_name_what_is_wrong(data_dir):
    log = onceflow.Log(data_dir)
    log.create_topic("t")
    with pytest.raises(onceflow.Error, match="exists"):
        log.create_topic("t")
    with pytest.raises(onceflow.Error, match="values\\[1\\]: expected str, bytes or dict, got int"):
        log.produce("t", ["a", 5])
    with pytest.raises(onceflow.Error, match="missing"):
        log.produce("missing", ["a"])
    with pytest.raises(onceflow.Error, match="no partition 3"):
        log.consume("t", partition=3)
