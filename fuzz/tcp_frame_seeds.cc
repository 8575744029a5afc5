// Writes the seed corpus of tcp_frame_fuzz (fuzz/corpus/tcp_frame/): request frames (plain,
// idempotent with sequence and partition, several pipelined), acknowledgements, and generator
// input, each behind the target's mode byte.
//
// Usage: tcp_frame_seeds DIR
#include <string>

#include "receiver/tcp_frame.h"
#include "seed_writer.h"

namespace onceflow::receiver {
namespace {

using fuzz::WithMode;

int Main(int argc, char** argv) {
  fuzz::Seeds seeds;
  TcpRequest plain;
  plain.topic = "orders";
  plain.values = {"{\"id\":1}", "", "line with spaces"};
  TcpRequest idempotent;
  idempotent.topic = "transfers";
  idempotent.token = "s3cret";
  idempotent.producer_id = "client-7";
  idempotent.sequence = 41;
  idempotent.partition = 2;
  idempotent.values = {"a", "b"};
  const std::string a = EncodeRequestFrame(plain).value();
  const std::string b = EncodeRequestFrame(idempotent).value();
  seeds.emplace_back("frame-plain", WithMode(0, a));
  seeds.emplace_back("frame-idempotent", WithMode(0, b));
  seeds.emplace_back("frames-pipelined", WithMode(0, a + b + a));
  seeds.emplace_back("frame-repaired", WithMode(1, b));

  TcpAck ok;
  ok.partition = 2;
  ok.base_offset = Offset(1000);
  ok.count = 2;
  TcpAck busy;
  busy.status = 503;
  busy.retry_after_s = 1;
  busy.message = "the receiver is over its in-flight limit";
  TcpAck duplicate = ok;
  duplicate.duplicate = true;
  seeds.emplace_back("acks", WithMode(2, EncodeAck(ok) + EncodeAck(busy) + EncodeAck(duplicate)));
  seeds.emplace_back("generated", WithMode(3, "\x06orders\x02tk\x03p-1\x01\x07\x01\x01\x03"
                                              "abc"));
  return fuzz::WriteSeeds(argc, argv, seeds);
}

}  // namespace
}  // namespace onceflow::receiver

int main(int argc, char** argv) { return onceflow::receiver::Main(argc, argv); }
