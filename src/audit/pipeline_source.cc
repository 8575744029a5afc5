// Opening a pipeline's source for a look, and the start checks of `run` made by a look.
#include "audit/pipeline_source.h"

#include "engine/source_check.h"
#include "engine/source_factory.h"

namespace onceflow::audit {

Result<OpenedSource> OpenPipelineSource(const config::PipelineConfig& config,
                                        const std::string& data_dir) {
  config::PipelineConfig look = config;
  // A look must not take partitions from the running group.
  if (auto* kafka = std::get_if<KafkaSourceOptions>(&look.source.options)) {
    kafka->assign = KafkaAssignment::kAll;
  }
  OpenedSource out;
  ONCEFLOW_ASSIGN_OR_RETURN(out.source, engine::MakeSource(look, data_dir));
  ONCEFLOW_ASSIGN_OR_RETURN(out.bounds, out.source->OffsetBounds());
  for (size_t p = 0; p < out.bounds.end.size(); ++p) {
    out.partitions.push_back(
        {p < out.bounds.earliest.size() ? out.bounds.earliest[p] : Offset(0), out.bounds.end[p]});
  }
  return out;
}

Status CheckPipelineSource(const config::PipelineConfig& config, const CheckpointState& cp,
                           OpenedSource* source, const std::string& reset_command,
                           const std::string& data_dir) {
  if (!cp.last_intent) return Status::Ok();
  ONCEFLOW_ASSIGN_OR_RETURN(source::SourceIdentity identity, source->source->Identity());
  ONCEFLOW_RETURN_IF_ERROR(engine::CheckSourceIdentity(
      config.name, cp.source, identity, engine::ResetWayOut(reset_command, data_dir, config.name)));
  return engine::CheckSourceHoldsCommitted(
      source->source.get(), source->bounds, engine::ReadUpTo(cp.last_intent), cp.marks,
      engine::LossOrResetWayOut(reset_command, data_dir, config.name));
}

}  // namespace onceflow::audit
