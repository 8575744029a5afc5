// receiver_bench: ingest throughput and acknowledgement latency of the receiver (`onceflow
// serve`'s HTTP or TCP endpoint, in process) with 1, 16 and 64 concurrent clients, 100 B and
// 1 KiB records, acknowledgements after fsync against topics with durability = none, in the
// same run. See bench/README.md.
//
// How the figures are obtained:
//  - One Ingestor and one server over a fresh data directory (--dir, on the disk measured) with
//    a one-partition topic per durability. Each client is a thread with its own keep-alive
//    connection and producer id, sending requests of --records records (idempotent: producer id
//    and sequence) back to back, each waiting for its acknowledgement, for --seconds.
//  - Throughput: records acknowledged per second over the run. Latency: per request, from
//    sending to the acknowledgement (p50, p99).
//  - Every configuration runs --reps times, repetitions interleaved over the configurations;
//    medians are reported. The target (fsync >= 0.7 of none at 64 clients) is printed as
//    PASS/MISS, never asserted.
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "bench_stats.h"
#include "log/topic.h"
#include "receiver/http_server.h"
#include "receiver/ingest.h"
#include "receiver/tcp_client.h"
#include "receiver/tcp_server.h"
#include "util/file.h"

namespace onceflow::receiver {
namespace {

using onceflow::bench::Median;

struct Config {
  int clients;
  size_t record_bytes;
  log::Durability durability;
};

struct Sample {
  double records_per_s = 0;
  double p50_ms = 0, p99_ms = 0;
  int retries = 0;  // requests resent after a failed attempt
};

struct Flags {
  std::string dir = "receiver-bench-data";
  std::string protocol = "http";
  double seconds = 0.4;
  int reps = 3;
  int records = 32;  // per request
};

Sample RunOnce(const Flags& f, const Config& c, const std::string& topic, int http_port,
               int tcp_port, int rep) {
  const std::string value(c.record_bytes, 'x');
  std::vector<std::string_view> values(static_cast<size_t>(f.records), value);
  std::string body;
  for (int i = 0; i < f.records; ++i) body += value + "\n";
  std::atomic<bool> go{false}, stop{false};
  std::atomic<int> ready{0}, retries{0};
  std::vector<std::vector<double>> latencies(static_cast<size_t>(c.clients));
  std::vector<uint64_t> acked(static_cast<size_t>(c.clients), 0);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < c.clients; ++t) {
    threads.emplace_back([&, t] {
      const std::string producer = "bench-" + std::to_string(rep) + "-" + std::to_string(t) + "-" +
                                   std::to_string(c.clients) + "-" + std::to_string(c.record_bytes);
      int64_t seq = 0;
      std::unique_ptr<httplib::Client> http;
      std::unique_ptr<TcpClient> tcp;
      if (f.protocol == "http") {
        http = std::make_unique<httplib::Client>("127.0.0.1", http_port);
        http->set_keep_alive(true);
        http->set_tcp_nodelay(true);  // headers and body are separate writes: no Nagle delay
      } else {
        auto connected = TcpClient::Connect("127.0.0.1", tcp_port);
        if (!connected.has_value()) {
          ++failures;
          return;
        }
        tcp = std::move(*connected);
      }
      const std::string path = "/topics/" + topic + "/records";
      bool warm = false;  // the first request (connection set-up) is not measured
      while (!stop.load()) {
        const auto start = std::chrono::steady_clock::now();
        bool ok;
        if (http) {
          httplib::Headers h = {{kProducerIdHttpHeader, producer},
                                {kSequenceHttpHeader, std::to_string(seq)}};
          auto r = http->Post(path.c_str(), h, body, "text/plain");
          ok = r && r->status == 200;
          if (!ok) {
            std::fprintf(
                stderr, "request failed after %.0f ms: %s\n",
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                    .count(),
                r ? (std::to_string(r->status) + " " + r->body).c_str()
                  : httplib::to_string(r.error()).c_str());
          }
        } else {
          TcpRequest req;
          req.topic = topic;
          req.producer_id = producer;
          req.sequence = seq;
          req.values = values;
          auto r = tcp->Send(req);
          ok = r.has_value() && r->status == 200;
          if (!ok) {
            std::fprintf(stderr, "request failed: %s\n",
                         r.has_value() ? r->message.c_str() : r.error().ToString().c_str());
          }
        }
        if (!ok) {  // as a real client does: resend the same request (same sequence)
          ++retries;
          http.reset();
          if (http_port > 0 && f.protocol == "http") {
            http = std::make_unique<httplib::Client>("127.0.0.1", http_port);
            http->set_keep_alive(true);
            http->set_tcp_nodelay(true);
          } else {
            auto again = TcpClient::Connect("127.0.0.1", tcp_port);
            if (!again.has_value()) {
              ++failures;
              return;
            }
            tcp = std::move(*again);
          }
          continue;
        }
        if (warm)
          latencies[t].push_back(
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                  .count());
        seq += f.records;
        if (!warm) {
          warm = true;
          ready.fetch_add(1);
          while (!go.load()) std::this_thread::yield();
          continue;
        }
        acked[t] += static_cast<uint64_t>(f.records);
      }
    });
  }
  while (ready.load() + failures.load() < c.clients) std::this_thread::yield();
  const auto begin = std::chrono::steady_clock::now();
  go.store(true);
  std::this_thread::sleep_for(std::chrono::duration<double>(f.seconds));
  stop.store(true);
  for (auto& t : threads) t.join();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  if (failures.load() > 0) std::fprintf(stderr, "warning: %d clients failed\n", failures.load());
  std::vector<double> all;
  uint64_t records = 0;
  for (int t = 0; t < c.clients; ++t) {
    all.insert(all.end(), latencies[t].begin(), latencies[t].end());
    records += acked[t];
  }
  std::sort(all.begin(), all.end());
  Sample s;
  s.retries = retries.load();
  s.records_per_s = static_cast<double>(records) / elapsed;
  if (!all.empty()) {
    s.p50_ms = all[all.size() / 2];
    s.p99_ms = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  }
  return s;
}

int Main(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--dir")
      f.dir = next();
    else if (a == "--protocol")
      f.protocol = next();
    else if (a == "--seconds")
      f.seconds = std::atof(next().c_str());
    else if (a == "--reps")
      f.reps = std::atoi(next().c_str());
    else if (a == "--records")
      f.records = std::atoi(next().c_str());
    else {
      std::printf("usage: receiver_bench [--dir DIR (default %s)] [--protocol http|tcp] "
                  "[--seconds S (per run, %.1f)] [--reps N (%d)] [--records N (per request, "
                  "%d)]\n",
                  f.dir.c_str(), f.seconds, f.reps, f.records);
      return a == "--help" ? 0 : 2;
    }
  }
  if (f.protocol != "http" && f.protocol != "tcp") {
    std::fprintf(stderr, "--protocol must be http or tcp\n");
    return 2;
  }
  RemoveAll(f.dir).IgnoreError();  // a fresh directory; missing is fine
  for (log::Durability d : {log::Durability::kFsync, log::Durability::kNone}) {
    log::TopicConfig tc;
    tc.log.durability = d;
    auto t = log::Topic::Create(f.dir, std::string(log::DurabilityName(d)), tc);
    if (!t.has_value()) {
      std::fprintf(stderr, "%s\n", t.error().ToString().c_str());
      return 1;
    }
  }
  IngestOptions io;
  io.data_dir = f.dir;
  auto ingestor = Ingestor::Open(io);
  if (!ingestor.has_value()) {
    std::fprintf(stderr, "%s\n", ingestor.error().ToString().c_str());
    return 1;
  }
  HttpServerOptions ho;
  ho.port = 0;
  ho.threads = 80;
  auto http = HttpServer::Start(ingestor->get(), ho);
  TcpServerOptions to;
  to.port = 0;
  auto tcp = TcpServer::Start(ingestor->get(), to);
  if (!http.has_value() || !tcp.has_value()) {
    std::fprintf(stderr, "cannot start the servers\n");
    return 1;
  }

  std::vector<Config> configs;
  for (size_t bytes : {size_t{100}, size_t{1024}}) {
    for (int clients : {1, 16, 64}) {
      for (log::Durability d : {log::Durability::kFsync, log::Durability::kNone}) {
        configs.push_back({clients, bytes, d});
      }
    }
  }
  std::vector<std::vector<Sample>> samples(configs.size());
  int retries = 0;
  for (int rep = 0; rep < f.reps; ++rep) {
    for (size_t i = 0; i < configs.size(); ++i) {
      samples[i].push_back(RunOnce(f, configs[i],
                                   std::string(log::DurabilityName(configs[i].durability)),
                                   (*http)->port(), (*tcp)->port(), rep));
      retries += samples[i].back().retries;
    }
  }
  std::printf("receiver_bench: protocol %s, %d records per request, %.2f s per run, median of "
              "%d runs\n",
              f.protocol.c_str(), f.records, f.seconds, f.reps);
  std::printf("%-7s %-7s %-10s %12s %9s %9s %9s\n", "record", "clients", "durability", "records/s",
              "MB/s", "p50 ms", "p99 ms");
  std::map<std::pair<size_t, int>, std::pair<double, double>> rates;  // fsync, none
  for (size_t i = 0; i < configs.size(); ++i) {
    std::vector<double> rps, p50, p99;
    for (const Sample& s : samples[i]) {
      rps.push_back(s.records_per_s);
      p50.push_back(s.p50_ms);
      p99.push_back(s.p99_ms);
    }
    const Config& c = configs[i];
    const double r = Median(rps);
    std::printf("%-7s %-7d %-10s %12.0f %9.1f %9.2f %9.2f\n",
                c.record_bytes == 100 ? "100B" : "1KiB", c.clients,
                std::string(log::DurabilityName(c.durability)).c_str(), r,
                r * static_cast<double>(c.record_bytes) / 1e6, Median(p50), Median(p99));
    auto& slot = rates[{c.record_bytes, c.clients}];
    (c.durability == log::Durability::kFsync ? slot.first : slot.second) = r;
  }
  std::printf("\nrequests resent after a failed attempt: %d\n", retries);
  std::printf("fsync / none throughput:\n");
  for (const auto& [key, v] : rates) {
    const double ratio = v.second > 0 ? v.first / v.second : 0;
    std::printf(
        "  %-5s %2d clients: %.2f%s\n", key.first == 100 ? "100B" : "1KiB", key.second, ratio,
        key.second == 64 ? (ratio >= 0.7 ? "  PASS (target >= 0.7)" : "  MISS (target >= 0.7)")
                         : "");
  }
  (*http)->Stop();
  (*tcp)->Stop();
  ingestor->get()->Close().IgnoreError();  // the data directory is thrown away
  RemoveAll(f.dir).IgnoreError();
  return 0;
}

}  // namespace
}  // namespace onceflow::receiver

int main(int argc, char** argv) { return onceflow::receiver::Main(argc, argv); }
