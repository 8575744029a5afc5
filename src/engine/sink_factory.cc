#include "engine/sink_factory.h"

#include "sink/postgres_sink.h"
#include "sink/kafka_sink.h"
#include "sink/sqlite_sink.h"

namespace onceflow::engine {

Result<std::unique_ptr<sink::Sink>> MakeSink(const config::SinkConfig& config) {
  if (config.type == "sqlite") {
    sink::SqliteSinkOptions o;
    o.path = config.path;
    o.init = config.init;
    o.mode = config.mode;
    o.table = config.table;
    o.key = config.key;
    o.statements = config.statements;
    return sink::MakeSqliteSink(std::move(o));
  }
  if (config.type == "postgres") {
    sink::PostgresSinkOptions o;
    o.conninfo = config.conninfo;
    o.init = config.init;
    o.mode = config.mode;
    o.table = config.table;
    o.key = config.key;
    o.statements = config.statements;
    return sink::MakePostgresSink(std::move(o));
  }
  if (config.type == "kafka") {
    sink::KafkaSinkOptions o;
    o.bootstrap = config.bootstrap;
    o.topic = config.topic;
    o.key_field = config.key_field;
    return sink::MakeKafkaSink(std::move(o));
  }
  return Err(Status::InvalidArgument("sink.type: '" + config.type +
                                     "' is not available in this build of onceflow"));
}

}  // namespace onceflow::engine
