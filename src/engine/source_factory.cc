#include "engine/source_factory.h"

#include "source/kafka_source.h"
#include "source/log_source.h"

namespace onceflow::engine {

Result<std::unique_ptr<source::Source>> MakeSource(const config::PipelineConfig& config,
                                                   const std::string& data_dir) {
  const config::SourceConfig& s = config.source;
  if (s.type == "log") {
    ONCEFLOW_ASSIGN_OR_RETURN(auto source, source::LogSource::Open(data_dir, s.topic));
    return std::unique_ptr<source::Source>(std::move(source));
  }
  if (s.type == "kafka") {
    source::KafkaSourceOptions o;
    o.bootstrap = s.bootstrap;
    o.topic = s.topic;
    o.group = s.group.empty() ? "onceflow-" + config.name : s.group;
    o.group_member = s.assign_group;
    o.session_timeout = std::chrono::milliseconds(s.session_timeout_ms);
    ONCEFLOW_ASSIGN_OR_RETURN(auto source, source::KafkaSource::Open(std::move(o)));
    return std::unique_ptr<source::Source>(std::move(source));
  }
  return Err(Status::InvalidArgument("source.type: '" + s.type +
                                     "' is not available in this build of onceflow"));
}

}  // namespace onceflow::engine
