"""The systems bench/peers compares: how each is started on an input topic, and what it writes.

Each system is a `System`: `kind` "pg" (the ledger in PostgreSQL: tables accounts and ledger)
or "kafka" (an output topic; for a ledger also a balances topic), `exact` (does it promise
exactly once), and `command(ctx, run)`: the argv that starts it (again, after a kill -9: the
same argv resumes from its own checkpoint, consumer group or application id).
"""
import os
import sys
from dataclasses import dataclass, field

import peers_lib

HERE = os.path.dirname(os.path.abspath(__file__))


@dataclass
class Run:
    """One run of one system: its names are unique so that no run sees another's state."""
    tag: str
    in_topic: str
    out_topic: str = ""
    balances_topic: str = ""
    work: str = ""  # the run's own directory (checkpoints, state, logs)


@dataclass
class System:
    name: str
    kind: str  # "pg" or "kafka"
    exact: bool
    ledger: bool  # keeps balances (else a passthrough)
    command: callable = field(repr=False)


def _toml_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def onceflow_ledger_toml(ctx, run):
    """The seed's ledger (examples/ledger.toml) with a Kafka source and a PostgreSQL sink; the
    engine's defaults except the example's batch interval."""
    stmts = ",\n  ".join(_toml_str(s) for s in peers_lib.LEDGER_STATEMENTS)
    init = ", ".join(_toml_str(s) for s in peers_lib.LEDGER_DDL)
    return f"""name = {_toml_str(run.tag)}
batch_interval_ms = 20
[source]
type = "kafka"
bootstrap = {_toml_str(ctx.bootstrap)}
topic = {_toml_str(run.in_topic)}
starting_offsets = "earliest"
format = "json"
[sink]
type = "postgres"
conninfo = {_toml_str(ctx.conninfo)}
init = [{init}]
mode = "statements"
statements = [
  {stmts}]
"""


def onceflow_additive_toml(ctx, run):
    """The same ledger with the sink's additive mode (examples/ledger_additive.toml): a batch's
    debits and credits summed per account, one upsert per account per batch, the ledger rows
    appended in the same transaction."""
    base = onceflow_ledger_toml(ctx, run)
    base = base[:base.index('mode = "statements"')]
    return base + """mode = "additive"
[[sink.add]]
table = "accounts"
key = { id = "from" }
add = { balance = "-amount" }
[[sink.add]]
table = "accounts"
key = { id = "to" }
add = { balance = "amount" }
[sink.append]
table = "ledger"
columns = { id = "id", src = "from", dst = "to", amount = "amount" }
"""


def onceflow_k2k_toml(ctx, run):
    return f"""name = {_toml_str(run.tag)}
batch_interval_ms = 20
[source]
type = "kafka"
bootstrap = {_toml_str(ctx.bootstrap)}
topic = {_toml_str(run.in_topic)}
starting_offsets = "earliest"
format = "json"
[sink]
type = "kafka"
bootstrap = {_toml_str(ctx.bootstrap)}
topic = {_toml_str(run.out_topic)}
key_field = "from"
"""


def _onceflow(toml_fn):
    def command(ctx, run, until_caught_up=False):
        path = os.path.join(run.work, "pipeline.toml")
        with open(path, "w") as f:
            f.write(toml_fn(ctx, run))
        argv = [ctx.onceflow, "run", path, "--data", os.path.join(run.work, "data")]
        return argv + (["--until-caught-up"] if until_caught_up else [])
    return command


def _kstreams(mode):
    def command(ctx, run, until_caught_up=False):
        cp = os.path.join(ctx.kstreams, "target", "peers-kstreams-1.jar") + ":" + \
            os.path.join(ctx.kstreams, "target", "lib", "*")
        argv = ["java", "-Xmx512m", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", cp,
                "onceflow.peers.PeersApp", mode, ctx.bootstrap, run.tag,
                os.path.join(run.work, "state"), run.in_topic, run.out_topic]
        return argv + ([run.balances_topic] if mode == "ledger" else [])
    return command


def _spark(ctx, run, until_caught_up=False):
    return [ctx.python, os.path.join(HERE, "spark_ledger.py"), ctx.bootstrap, run.in_topic,
            ctx.conninfo, os.path.join(run.work, "checkpoint"), str(ctx.spark_max_offsets)]


def _alo(auto):
    def command(ctx, run, until_caught_up=False):
        return [ctx.python, os.path.join(HERE, "alo_consumer.py"), ctx.bootstrap, run.in_topic,
                run.tag, ctx.conninfo, str(ctx.alo_batch)] + (["auto"] if auto else [])
    return command


SYSTEMS = {s.name: s for s in [
    System("onceflow-pg", "pg", True, True, _onceflow(onceflow_ledger_toml)),
    System("onceflow-pg-additive", "pg", True, True, _onceflow(onceflow_additive_toml)),
    System("alo-pg", "pg", False, True, _alo(False)),
    System("alo-autocommit-pg", "pg", False, True, _alo(True)),
    System("kstreams-ledger", "kafka", True, True, _kstreams("ledger")),
    System("onceflow-k2k", "kafka", True, False, _onceflow(onceflow_k2k_toml)),
    System("kstreams-k2k", "kafka", True, False, _kstreams("passthrough")),
    System("spark-pg", "pg", True, True, _spark),
]}


def spark_env(ctx):
    """Spark's environment: the Kafka connector from Maven Central (resolved by Spark's own
    --packages into an Ivy cache under the work directory), two local cores."""
    env = dict(os.environ)
    env["PYSPARK_SUBMIT_ARGS"] = (
        "--master local[2] --driver-memory 1g "
        f"--conf spark.jars.ivy={os.path.join(ctx.work, 'ivy')} "
        "--conf spark.sql.shuffle.partitions=4 --conf spark.ui.enabled=false "
        f"--packages org.apache.spark:spark-sql-kafka-0-10_2.13:{ctx.spark_version} "
        "pyspark-shell")
    env["PYSPARK_PYTHON"] = ctx.python
    return env


def env_for(ctx, system):
    return spark_env(ctx) if system.name.startswith("spark") else None


if __name__ == "__main__":
    print("\n".join(SYSTEMS), file=sys.stdout)
