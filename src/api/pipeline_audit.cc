// Pipeline::Status and Pipeline::Verify: the public face of src/audit.
#include "audit/pipeline_status.h"
#include "audit/pipeline_verifier.h"
#include "engine/pipeline_spec.h"
#include "onceflow/pipeline.h"

namespace onceflow {

Result<PipelineStatus> Pipeline::Status(const std::string& data_dir,
                                        const AuditOptions& options) const {
  return audit::ReadPipelineStatus(spec_->config, data_dir, options);
}

Result<VerifyReport> Pipeline::Verify(const std::string& data_dir,
                                      const AuditOptions& options) const {
  return audit::VerifyPipeline(spec_->config, data_dir, options.reset_command);
}

}  // namespace onceflow
