#include "engine/sink_factory.h"

#include "sink/blackhole_sink.h"
#include "sink/kafka_sink.h"
#include "sink/postgres_sink.h"
#include "sink/sqlite_sink.h"

namespace onceflow::engine {

Result<std::unique_ptr<sink::Sink>> MakeSink(const config::SinkConfig& config,
                                             const std::string& checkpoint_dir) {
  if (config.blackhole() != nullptr) {
    return std::unique_ptr<sink::Sink>(std::make_unique<sink::BlackholeSink>(checkpoint_dir));
  }
  if (const SqliteSinkOptions* o = config.sqlite()) return sink::MakeSqliteSink(*o);
  if (const PostgresSinkOptions* o = config.postgres()) return sink::MakePostgresSink(*o);
  if (const KafkaSinkOptions* o = config.kafka()) return sink::MakeKafkaSink(*o);
  return Err(Status::InvalidArgument("sink.type: '" + std::string(config.type()) +
                                     "' is not available in this build of onceflow"));
}

}  // namespace onceflow::engine
