// Builder, Pipeline and BatchContext: the C++ PipelineBuilder and Pipeline with the TOML keys'
// names and choices (and the same messages), for python/onceflow/pipeline.py.
#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "batch_functions.h"
#include "binding.h"
#include "onceflow/pipeline.h"
#include "reports.h"

namespace onceflow::python {
namespace {

using std::chrono::milliseconds;

// A TOML choice by name, or EngineError as the TOML reader words it.
template <typename E>
E Choose(const std::string& key, const std::string& got,
         std::initializer_list<std::pair<const char*, E>> choices) {
  std::string expected = "expected one of ";
  bool first = true;
  for (const auto& [name, value] : choices) {
    if (got == name) return value;
    expected += first ? "" : ", ";
    expected += name;
    first = false;
  }
  throw EngineError("pipeline config: " + key + ": " + expected + ", got '" + got + "'");
}

bool MissingAsNull(const std::string& prefix, const std::string& on_missing) {
  return Choose<bool>(prefix + ".on_missing", on_missing, {{"error", false}, {"null", true}});
}

RecordOptions Records(const std::string& format, std::vector<std::string> csv_columns,
                      std::string csv_delimiter, const std::string& starting_offsets) {
  RecordOptions r;
  r.format = Choose<RecordFormat>(
      "source.format", format,
      {{"json", RecordFormat::kJson}, {"csv", RecordFormat::kCsv}, {"raw", RecordFormat::kRaw}});
  r.csv_columns = std::move(csv_columns);
  r.csv_delimiter = std::move(csv_delimiter);
  r.starting_offsets = Choose<StartingOffsets>(
      "source.starting_offsets", starting_offsets,
      {{"earliest", StartingOffsets::kEarliest}, {"latest", StartingOffsets::kLatest}});
  return r;
}

SinkMode Mode(const std::string& mode) {
  return Choose<SinkMode>("sink.mode", mode,
                          {{"append", SinkMode::kAppend},
                           {"upsert", SinkMode::kUpsert},
                           {"statements", SinkMode::kStatements},
                           {"additive", SinkMode::kAdditive}});
}

// Additive mode's [[sink.add]] entries and [sink.append] table, as the Python layer passes them:
// (table, [(column, field)] key, [(column, field)] add) and (table, [(column, field)] columns).
using ColumnPairs = std::vector<std::pair<std::string, std::string>>;
using AddEntry = std::tuple<std::string, ColumnPairs, ColumnPairs>;
using AppendEntry = std::pair<std::string, ColumnPairs>;

std::vector<ColumnField> ColumnFields(const ColumnPairs& pairs) {
  std::vector<ColumnField> out;
  for (const auto& [column, field] : pairs) out.push_back({.column = column, .field = field});
  return out;
}

std::vector<AddTo> AddTos(const std::vector<AddEntry>& entries) {
  std::vector<AddTo> out;
  for (const auto& [table, key, add] : entries) {
    out.push_back({.table = table, .key = ColumnFields(key), .add = ColumnFields(add)});
  }
  return out;
}

AppendTo AppendOf(const AppendEntry& append) {
  return {.table = append.first, .columns = ColumnFields(append.second)};
}

// The builder and what the pipeline's Python functions share.
struct Builder {
  explicit Builder(std::string name)
      : builder(std::move(name)), errors(std::make_shared<UserErrors>()) {}
  PipelineBuilder builder;
  std::shared_ptr<UserErrors> errors;
  int transforms = 0;  // numbered as a TOML file's [[transform]] tables, for messages
};

// A built pipeline. Run blocks (without the GIL); Stop, stats and Status may be called from
// other Python threads meanwhile.
struct PyPipeline {
  std::unique_ptr<Pipeline> pipeline;
  std::shared_ptr<UserErrors> errors;
};

// Runs the pipeline on a thread of its own while this (the calling) thread waits without the
// GIL, waking every 100 ms to let Python run its signal handlers: Ctrl-C (KeyboardInterrupt)
// stops the pipeline after its current batch, and is raised once it has stopped.
// Returns (error message or "", the last Python traceback of a user function).
nb::tuple Run(PyPipeline& self, const std::string& data_dir, bool until_caught_up,
              int64_t max_batches) {
  RunOptions options;
  options.data_dir = data_dir;
  options.until_caught_up = until_caught_up;
  options.max_batches = max_batches;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  Status result;
  std::thread runner([&] {
    Status s = self.pipeline->Run(options);
    std::lock_guard lock(mu);
    result = std::move(s);
    done = true;
    cv.notify_all();
  });
  std::optional<nb::python_error> pending;
  for (;;) {
    {
      nb::gil_scoped_release release;
      std::unique_lock lock(mu);
      if (cv.wait_for(lock, milliseconds(100), [&] { return done; })) break;
    }
    if (PyErr_CheckSignals() != 0) {
      // Stop after the current batch; the first such exception is raised once it has.
      if (!pending) {
        pending.emplace();
      } else {
        PyErr_Clear();
      }
      self.pipeline->Stop();
    }
  }
  {
    nb::gil_scoped_release release;
    runner.join();
  }
  if (pending) {
    pending->restore();
    throw nb::python_error();
  }
  return nb::make_tuple(result.ok() ? std::string() : result.message(),
                        result.ok() ? std::string() : self.errors->last_traceback());
}

}  // namespace

void RegisterContext(nb::module_& m) {
  nb::class_<BatchContext>(m, "BatchContext",
                           "What a batch function sees besides its rows; the same on every "
                           "attempt and every re-run of the batch.")
      .def_ro("pipeline", &BatchContext::pipeline, "The pipeline's name.")
      .def_prop_ro(
          "batch_id", [](const BatchContext& c) { return c.batch_id.value(); },
          "The batch: 0, 1, 2, ... in the pipeline's order.")
      .def_prop_ro(
          "epoch", [](const BatchContext& c) { return c.epoch.value(); },
          "The epoch of this process's commits (grows at each start; not part of the key).")
      .def_prop_ro(
          "ranges", [](const BatchContext& c) { return Ranges(c.ranges); },
          "The batch's input: (partition, from, until) per partition, until excluded.")
      .def_ro("batch_time_ms", &BatchContext::batch_time_ms,
              "The batch's time (ms since the Unix epoch), recorded with its intent: use it "
              "instead of the clock.")
      .def_ro("watermark_ms", &BatchContext::watermark_ms, "The event-time watermark (ms).")
      // The engine's 64 seed bits read as a signed integer: a row holds it as it is (rows hold
      // 64-bit signed integers; the unsigned value would be a dead letter half the time), and
      // the mapping is one to one, so the seed stays as deterministic and as distinct.
      .def_prop_ro(
          "seed", [](const BatchContext& c) { return static_cast<int64_t>(c.seed); },
          "A per-batch seed, the same on every attempt and re-run of the batch: use it instead "
          "of unseeded randomness (random.Random(ctx.seed)). A 64-bit signed integer, so that "
          "a row can carry it as it is.")
      .def_ro("task", &BatchContext::task,
              "The map task (its input partition); -1 in foreach_batch, which sees the whole "
              "batch.")
      .def_ro("idempotency_key", &BatchContext::idempotency_key,
              "Stable per (pipeline, task, batch and its ranges): key external effects by it.")
      .def("__repr__", [](const BatchContext& c) {
        return "BatchContext(pipeline='" + c.pipeline +
               "', batch_id=" + std::to_string(c.batch_id.value()) +
               ", task=" + std::to_string(c.task) + ", idempotency_key='" + c.idempotency_key +
               "')";
      });
}

void RegisterPipeline(nb::module_& m) {
  nb::class_<Builder>(m, "Builder", "The C++ PipelineBuilder (use onceflow.Pipeline).")
      .def(nb::init<std::string>(), nb::arg("name"))
      .def(
          "from_log",
          [](Builder& b, std::string topic, std::string format,
             std::vector<std::string> csv_columns, std::string csv_delimiter,
             std::string starting_offsets) {
            b.builder.FromLog({.topic = std::move(topic),
                               .records = Records(format, std::move(csv_columns),
                                                  std::move(csv_delimiter), starting_offsets)});
          },
          nb::arg("topic"), nb::arg("format"), nb::arg("csv_columns"), nb::arg("csv_delimiter"),
          nb::arg("starting_offsets"))
      .def(
          "from_kafka",
          [](Builder& b, std::string bootstrap, std::string topic, std::string group,
             std::string assign, int64_t session_timeout_ms, std::string format,
             std::vector<std::string> csv_columns, std::string csv_delimiter,
             std::string starting_offsets) {
            KafkaSourceOptions o;
            o.bootstrap = std::move(bootstrap);
            o.topic = std::move(topic);
            o.group = std::move(group);
            o.assign = Choose<KafkaAssignment>(
                "source.assign", assign,
                {{"all", KafkaAssignment::kAll}, {"group", KafkaAssignment::kGroup}});
            o.session_timeout = milliseconds(session_timeout_ms);
            o.records =
                Records(format, std::move(csv_columns), std::move(csv_delimiter), starting_offsets);
            b.builder.FromKafka(std::move(o));
          },
          nb::arg("bootstrap"), nb::arg("topic"), nb::arg("group"), nb::arg("assign"),
          nb::arg("session_timeout_ms"), nb::arg("format"), nb::arg("csv_columns"),
          nb::arg("csv_delimiter"), nb::arg("starting_offsets"))
      .def(
          "select",
          [](Builder& b, std::vector<std::string> fields, const std::string& on_missing) {
            const std::string key = "transform[" + std::to_string(b.transforms++) + "]";
            b.builder.Select(std::move(fields), MissingAsNull(key, on_missing));
          },
          nb::arg("fields"), nb::arg("on_missing"))
      .def(
          "rename",
          [](Builder& b, std::vector<std::pair<std::string, std::string>> fields,
             const std::string& on_missing) {
            const std::string key = "transform[" + std::to_string(b.transforms++) + "]";
            b.builder.Rename(std::move(fields), MissingAsNull(key, on_missing));
          },
          nb::arg("fields"), nb::arg("on_missing"))
      .def(
          "where",
          [](Builder& b, std::vector<std::string> conditions, const std::string& on_missing) {
            const std::string key = "transform[" + std::to_string(b.transforms++) + "]";
            b.builder.Where(std::move(conditions), MissingAsNull(key, on_missing));
          },
          nb::arg("conditions"), nb::arg("on_missing"))
      .def(
          "aggregate",
          [](Builder& b, std::vector<std::string> key,
             std::vector<std::pair<std::string, std::string>> aggregates, nb::object window,
             bool combine) {
            const std::string prefix = "transform[" + std::to_string(b.transforms++) + "]";
            std::optional<WindowSpec> w;
            if (!window.is_none()) {
              nb::dict d = nb::cast<nb::dict>(window);
              WindowSpec spec;
              spec.type = Choose<WindowType>(
                  prefix + ".window.type", nb::cast<std::string>(d["type"]),
                  {{"tumbling", WindowType::kTumbling}, {"sliding", WindowType::kSliding}});
              spec.size = milliseconds(nb::cast<int64_t>(d["size"]));
              spec.slide = milliseconds(nb::cast<int64_t>(d["slide"]));
              spec.time_field = nb::cast<std::string>(d["time_field"]);
              spec.allowed_lateness = milliseconds(nb::cast<int64_t>(d["allowed_lateness"]));
              spec.emit = Choose<WindowEmit>(
                  prefix + ".window.emit", nb::cast<std::string>(d["emit"]),
                  {{"update", WindowEmit::kUpdate}, {"final", WindowEmit::kFinal}});
              spec.idle_timeout = milliseconds(nb::cast<int64_t>(d["idle_timeout"]));
              spec.emit_open_windows_at_end = nb::cast<bool>(d["emit_open_windows_at_end"]);
              w = spec;
            }
            b.builder.Aggregate(std::move(key), std::move(aggregates), w, combine);
          },
          nb::arg("key"), nb::arg("aggregates"), nb::arg("window").none(), nb::arg("combine"))
      .def(
          "batch_function",
          [](Builder& b, nb::object fn, const std::string& kind, std::string name) {
            const BatchKind k = Choose<BatchKind>("kind", kind,
                                                  {{"map", BatchKind::kMap},
                                                   {"filter", BatchKind::kFilter},
                                                   {"flat_map", BatchKind::kFlatMap}});
            auto batch_fn = MakeBatchFunction(std::move(fn), k, name, b.errors);
            b.builder.TransformBatch(std::move(batch_fn), std::move(name));
          },
          nb::arg("fn"), nb::arg("kind"), nb::arg("name"))
      .def(
          "update_state",
          [](Builder& b, std::vector<std::string> key, nb::object fn, int64_t timeout_ms) {
            StateOptions options;
            if (timeout_ms >= 0) options.timeout = milliseconds(timeout_ms);
            b.builder.UpdateStateBatch(std::move(key), MakeUpdateState(std::move(fn), b.errors),
                                       options);
          },
          nb::arg("key"), nb::arg("fn"), nb::arg("timeout_ms"))
      .def(
          "update_state_per_key",
          [](Builder& b, std::vector<std::string> key, nb::object fn, int64_t timeout_ms) {
            StateOptions options;
            if (timeout_ms >= 0) options.timeout = milliseconds(timeout_ms);
            b.builder.UpdateStateRows(std::move(key),
                                      MakeUpdateStatePerKey(std::move(fn), b.errors), options);
          },
          nb::arg("key"), nb::arg("fn"), nb::arg("timeout_ms"),
          "update_state with the GIL taken per key (the path before the per-batch step), for "
          "the benchmark's comparison only.")
      .def(
          "foreach_batch",
          [](Builder& b, nb::object fn) {
            b.builder.ForeachBatch(MakeForeachBatch(std::move(fn), b.errors));
          },
          nb::arg("fn"))
      .def(
          "to_sql",
          [](Builder& b, const std::string& type, std::string target, std::vector<std::string> init,
             const std::string& mode, std::string table, std::vector<std::string> key,
             std::vector<std::string> statements, const std::vector<AddEntry>& add,
             const AppendEntry& append) {
            auto fill = [&](auto& o) {
              o.init = std::move(init);
              o.mode = Mode(mode);
              o.table = std::move(table);
              o.key = std::move(key);
              o.statements = std::move(statements);
              o.add = AddTos(add);
              o.append = AppendOf(append);
            };
            if (type == "sqlite") {
              SqliteSinkOptions o;
              o.path = std::move(target);
              fill(o);
              b.builder.ToSqlite(std::move(o));
            } else if (type == "postgres") {
              PostgresSinkOptions o;
              o.conninfo = std::move(target);
              fill(o);
              b.builder.ToPostgres(std::move(o));
            } else {
              throw EngineError("pipeline config: sink.type: expected one of sqlite, postgres, "
                                "got '" +
                                type + "'");
            }
          },
          nb::arg("type"), nb::arg("target"), nb::arg("init"), nb::arg("mode"), nb::arg("table"),
          nb::arg("key"), nb::arg("statements"), nb::arg("add"), nb::arg("append"),
          "The SQL sinks, one path: type \"sqlite\" (target: the file) or \"postgres\" "
          "(target: the libpq connection string); the other arguments as their TOML keys.")
      .def(
          "to_kafka",
          [](Builder& b, std::string bootstrap, std::string topic, std::string key_field) {
            KafkaSinkOptions o;
            o.bootstrap = std::move(bootstrap);
            o.topic = std::move(topic);
            o.key_field = std::move(key_field);
            b.builder.ToKafka(std::move(o));
          },
          nb::arg("bootstrap"), nb::arg("topic"), nb::arg("key_field"))
      .def(
          "batch_interval_ms",
          [](Builder& b, int64_t v) { b.builder.BatchInterval(milliseconds(v)); }, nb::arg("v"))
      .def(
          "max_records_per_partition",
          [](Builder& b, int64_t v) { b.builder.MaxRecordsPerPartition(v); }, nb::arg("v"))
      .def(
          "max_task_failures", [](Builder& b, int v) { b.builder.MaxTaskFailures(v); },
          nb::arg("v"))
      .def(
          "max_batch_failures", [](Builder& b, int v) { b.builder.MaxBatchFailures(v); },
          nb::arg("v"))
      .def(
          "speculation",
          [](Builder& b, bool enabled, double multiplier, int64_t min_ms) {
            b.builder.Speculation(enabled, multiplier, milliseconds(min_ms));
          },
          nb::arg("enabled"), nb::arg("multiplier"), nb::arg("min_ms"))
      .def(
          "executor_threads", [](Builder& b, int v) { b.builder.ExecutorThreads(v); }, nb::arg("v"))
      .def(
          "commit_mode",
          [](Builder& b, const std::string& v) {
            b.builder.CommitMode(Choose<CommitMode>(
                "commit_mode", v, {{"batch", CommitMode::kBatch}, {"task", CommitMode::kTask}}));
          },
          nb::arg("v"))
      .def(
          "on_replay_mismatch",
          [](Builder& b, const std::string& v) {
            b.builder.OnReplayMismatch(Choose<ReplayMismatch>("on_replay_mismatch", v,
                                                              {{"warn", ReplayMismatch::kWarn},
                                                               {"fail", ReplayMismatch::kFail},
                                                               {"off", ReplayMismatch::kOff}}));
          },
          nb::arg("v"))
      .def(
          "state_tasks", [](Builder& b, int v) { b.builder.StateTasks(v); }, nb::arg("v"))
      .def(
          "state_cache_mb", [](Builder& b, int64_t v) { b.builder.StateCacheMb(v); }, nb::arg("v"))
      .def(
          "build",
          [](Builder& b) {
            Result<std::unique_ptr<Pipeline>> p = b.builder.Build();
            if (!p.has_value()) throw EngineError(p.error().message());
            return new PyPipeline{std::move(*p), b.errors};
          },
          "Validates and builds the pipeline (the builder is used up).");

  nb::class_<PyPipeline>(m, "NativePipeline", "A built pipeline (use onceflow.Pipeline).")
      .def_static(
          "from_toml",
          [](const std::string& path) {
            Result<std::unique_ptr<Pipeline>> p = Pipeline::FromConfigFile(path);
            if (!p.has_value()) throw EngineError(p.error().message());
            return new PyPipeline{std::move(*p), std::make_shared<UserErrors>()};
          },
          nb::arg("path"))
      .def_prop_ro("name", [](const PyPipeline& p) { return p.pipeline->name(); })
      .def("run", &Run, nb::arg("data_dir"), nb::arg("until_caught_up"), nb::arg("max_batches"))
      .def("stop", [](PyPipeline& p) { p.pipeline->Stop(); })
      .def("stats", [](const PyPipeline& p) { return StatsDict(p.pipeline->stats()); })
      .def("user_errors", [](const PyPipeline& p) { return p.errors->count(); })
      .def("python_seconds", [](const PyPipeline& p) { return double(p.errors->nanos()) / 1e9; })
      .def(
          "status",
          [](const PyPipeline& p, const std::string& data_dir) {
            Result<PipelineStatus> s;
            {
              nb::gil_scoped_release release;
              s = p.pipeline->Status(data_dir);
            }
            if (!s.has_value()) throw EngineError(s.error().message());
            return StatusDict(*s);
          },
          nb::arg("data_dir"))
      .def(
          "verify",
          [](const PyPipeline& p, const std::string& data_dir) {
            Result<VerifyReport> r;
            {
              nb::gil_scoped_release release;
              r = p.pipeline->Verify(data_dir);
            }
            if (!r.has_value()) throw EngineError(r.error().message());
            return VerifyDict(*r);
          },
          nb::arg("data_dir"));
}

}  // namespace onceflow::python
