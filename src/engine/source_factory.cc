#include "engine/source_factory.h"

#include "source/kafka_source.h"
#include "source/log_source.h"
#include "source/nexmark_source.h"

namespace onceflow::engine {

Result<std::unique_ptr<source::Source>> MakeSource(const config::PipelineConfig& config,
                                                   const std::string& data_dir) {
  if (const KafkaSourceOptions* kafka = config.source.kafka()) {
    KafkaSourceOptions o = *kafka;
    if (o.group.empty()) o.group = "onceflow-" + config.name;
    ONCEFLOW_ASSIGN_OR_RETURN(auto source, source::KafkaSource::Open(std::move(o)));
    return std::unique_ptr<source::Source>(std::move(source));
  }
  if (const NexmarkSourceOptions* nexmark = config.source.nexmark()) {
    ONCEFLOW_ASSIGN_OR_RETURN(auto source, source::NexmarkSource::Open(*nexmark));
    return std::unique_ptr<source::Source>(std::move(source));
  }
  ONCEFLOW_ASSIGN_OR_RETURN(auto source, source::LogSource::Open(data_dir, config.source.topic()));
  return std::unique_ptr<source::Source>(std::move(source));
}

}  // namespace onceflow::engine
