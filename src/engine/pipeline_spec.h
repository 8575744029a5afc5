// PipelineSpec: everything a Pipeline is made of — its config (source, sink, policies) and the
// operators between source and sink, whether they came from a TOML file or the C++ builder.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "config/pipeline_config.h"
#include "onceflow/pipeline.h"
#include "onceflow/row.h"
#include "operators/keyed_operator.h"
#include "operators/transforms.h"

namespace onceflow::internal {

// One row operator. Exactly one of the members is set, as `kind` says.
struct Stage {
  enum class Kind { kTransform, kMap, kFilter, kFlatMap, kBatch };
  Kind kind = Kind::kTransform;
  std::shared_ptr<const operators::RowTransform> transform;
  std::function<Row(Row)> map;
  std::function<bool(const Row&)> filter;
  std::function<std::vector<Row>(Row)> flat_map;
  // kBatch: a whole-batch function over one map task's rows (engine/batch_stages.h), and the
  // name its errors give it ("map_batch").
  std::function<Result<BatchOutput>(std::vector<Row>, const BatchContext&)> batch;
  std::string name;
};

// Whether any stage is a whole-batch function (the map tasks then need the batch's context).
inline bool HasBatchStages(std::span<const Stage> stages) {
  for (const Stage& s : stages) {
    if (s.kind == Stage::Kind::kBatch) return true;
  }
  return false;
}

struct PipelineSpec {
  config::PipelineConfig config;
  bool has_sink = false;
  std::vector<Stage> stages;
  std::vector<std::string> key_by;
  std::function<Row(Row, const Row&)> reduce;
  // A stateful operator after the row operators (aggregate, update_state): its output rows go
  // to the sink; its state to the state store (engine/state_step.h).
  std::shared_ptr<const operators::KeyedOperator> keyed;
  std::function<Status(const BatchContext&, std::span<const Row>)> foreach_batch;
  Status build_error;  // the first bad builder call, reported by Build()
};

// The spec a Pipeline runs, for the engine's tests and tools.
struct PipelineAccess {
  static const PipelineSpec& Spec(const Pipeline& pipeline) { return *pipeline.spec_; }
  // The pipeline a config loaded from a TOML file describes, as Pipeline::FromConfigFile makes
  // it (`onceflow chaos` runs a copy under another name into another sink: its reference run).
  static Result<std::unique_ptr<Pipeline>> FromConfig(config::PipelineConfig config);
};

}  // namespace onceflow::internal
