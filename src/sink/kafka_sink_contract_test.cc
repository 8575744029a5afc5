// The sink contract (sink_contract_test.h) on the Kafka sink: progress markers in a progress
// topic of each test's own, against the test run's broker.
#include "sink/kafka_sink.h"
#include "sink/sink_contract_test.h"
#include "testing/kafka.h"

namespace onceflow::sink::testing {
namespace {

using ::onceflow::testing::CreateTestTopic;
using ::onceflow::testing::UniqueTopic;

class KafkaContractEnv {
 public:
  void SetUp() {
    ONCEFLOW_KAFKA_OR_SKIP(bootstrap);
    bootstrap_ = bootstrap;
    topic_ = UniqueTopic("contract");
    Status s = CreateTestTopic(bootstrap_, topic_, 1);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  void TearDown() {}

  std::unique_ptr<Sink> OpenSink() {
    KafkaSinkOptions o;
    o.bootstrap = bootstrap_;
    o.topic = topic_;
    o.progress_topic = topic_ + "-progress";
    o.dead_letter_topic = topic_ + "-dead";
    o.transaction_timeout = std::chrono::milliseconds(10000);
    return testing::OpenedOrFail(MakeKafkaSink(std::move(o)));
  }

  // Unique: the pipeline name is part of each task's transactional.id, and tests that run side
  // by side must not fence each other's producers.
  std::string Pipeline(const std::string& name) { return UniqueTopic(name); }

  // A marker as onceflow wrote it before it recorded sources and starts, committed by a
  // transactional producer of the task's own transactional.id (as the sink did).
  void WriteOldProgress(const std::string& pipeline, int32_t task, int64_t batch, int64_t epoch,
                        const std::string& ranges) {
    const std::string progress = topic_ + "-progress";
    ASSERT_TRUE(CreateTestTopic(bootstrap_, progress, 1, {{"cleanup.policy", "compact"}}).ok());
    auto producer =
        ::onceflow::testing::TestProducer::Make(bootstrap_, KafkaTransactionalId(pipeline, task));
    ASSERT_TRUE(producer.has_value()) << producer.error().ToString();
    ASSERT_TRUE(producer->Begin().ok());
    ASSERT_TRUE(producer
                    ->Send(progress, 0,
                           "batch=" + std::to_string(batch) + " epoch=" + std::to_string(epoch) +
                               " ranges=" + ranges,
                           pipeline + "/" + std::to_string(task))
                    .ok());
    Status s = producer->Commit();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

 private:
  std::string bootstrap_, topic_;
};

}  // namespace
}  // namespace onceflow::sink::testing

namespace onceflow::sink::testing::contract {
INSTANTIATE_TYPED_TEST_SUITE_P(Kafka, SinkContractTest, KafkaContractEnv);
}  // namespace onceflow::sink::testing::contract
