// Evaluation speed of computed fields (src/expr through the compute transform), rows/s per
// core, against hand-written C++ doing the same work on the same Rows in the same run (the
// ceiling): a q1-like `price * 0.908` and a q22-like `SPLIT_INDEX(url, '/', 3)`, and the
// q14/q21-like CASE and REGEXP_EXTRACT for context. Single thread; the time is the thread's CPU
// time (a loaded machine's other processes do not count), wall time beside it.
//
//   expression_bench [--rows N] [--reps R]
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "bench_stats.h"
#include "config/pipeline_config.h"
#include "operators/transforms.h"

namespace onceflow::bench {
namespace {

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Nexmark-like bids, as the JSON decoder makes them: auction, bidder, price, channel, url,
// dateTime, extra.
std::vector<Row> Bids(int n) {
  static const char* kChannels[] = {"Apple", "Google", "Facebook", "Baidu", "channel-1234"};
  std::vector<Row> rows;
  rows.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    const int64_t auction = 1000 + i % 997;
    rows.push_back(Row{{"auction", auction},
                       {"bidder", int64_t{2000 + i % 7919}},
                       {"price", int64_t{100 + (i * 7919) % 100000}},
                       {"channel", std::string(kChannels[i % 5])},
                       {"url", "https://www.nexmark.com/" + std::to_string(i % 31) + "/item" +
                                   std::to_string(i % 17) +
                                   "/page.htm?query=1&channel_id=" + std::to_string(i % 1000)},
                       {"dateTime", int64_t{1700000000000} + int64_t{i} * 37},
                       {"extra", std::string(20, 'c')}});
  }
  return rows;
}

struct Figures {
  double cpu_rows_per_s;
  double wall_rows_per_s;
};

// Median rows/s over `reps` passes of `fn` over a fresh copy of `input` each time (copying is
// outside the timed part).
Figures Measure(const std::vector<Row>& input, int reps, const std::function<void(Row&)>& fn) {
  std::vector<double> cpu, wall;
  for (int r = 0; r < reps; ++r) {
    std::vector<Row> rows = input;
    const double c0 = ThreadCpuSeconds();
    const int64_t w0 = NowNs();
    for (Row& row : rows) fn(row);
    const double c = ThreadCpuSeconds() - c0;
    const double w = static_cast<double>(NowNs() - w0) * 1e-9;
    cpu.push_back(static_cast<double>(rows.size()) / c);
    wall.push_back(static_cast<double>(rows.size()) / w);
  }
  return {Median(cpu), Median(wall)};
}

std::unique_ptr<operators::RowTransform> Compute(const std::string& name, const std::string& text) {
  config::TransformConfig t;
  t.type = config::TransformConfig::Type::kCompute;
  t.computed = {{name, text}};
  auto made = operators::MakeTransforms({t});
  if (!made.has_value()) {
    std::fprintf(stderr, "expression_bench: %s\n", made.error().ToString().c_str());
    std::exit(1);
  }
  return std::move((*made)[0]);
}

void Report(const char* what, const Figures& engine, const Figures& ceiling) {
  std::printf("%-14s %12.2f M rows/s %12.2f M rows/s %7.2f   (wall: %.2f vs %.2f M rows/s)\n", what,
              engine.cpu_rows_per_s / 1e6, ceiling.cpu_rows_per_s / 1e6,
              engine.cpu_rows_per_s / ceiling.cpu_rows_per_s, engine.wall_rows_per_s / 1e6,
              ceiling.wall_rows_per_s / 1e6);
}

int Main(int argc, char** argv) {
  int rows = 1000000;
  int reps = 5;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--rows") == 0 && i + 1 < argc) {
      rows = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
      reps = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: expression_bench [--rows N] [--reps R]\n");
      return 2;
    }
  }
  const std::vector<Row> input = Bids(rows);
  std::printf("%d rows, median of %d passes, one thread, per CPU second\n", rows, reps);
  std::printf("%-14s %20s %20s %7s\n", "query", "compute transform", "hand-written C++", "ratio");
  bool keep = true;
  auto apply = [&](const operators::RowTransform& t) {
    return [&t, &keep](Row& row) {
      if (!t.Apply(&row, &keep).ok()) std::abort();
    };
  };

  auto q1 = Compute("price", "price * 0.908");
  Report("q1 price*0.908", Measure(input, reps, apply(*q1)), Measure(input, reps, [](Row& row) {
           const Value* p = row.Get("price");
           if (p == nullptr || !std::holds_alternative<int64_t>(*p)) std::abort();
           row.Set("price", static_cast<double>(std::get<int64_t>(*p)) * 0.908);
         }));

  auto q22 = Compute("dir1", "SPLIT_INDEX(url, '/', 3)");
  Report("q22 SPLIT_INDEX", Measure(input, reps, apply(*q22)), Measure(input, reps, [](Row& row) {
           const Value* u = row.Get("url");
           if (u == nullptr || !std::holds_alternative<std::string>(*u)) std::abort();
           std::string_view s = std::get<std::string>(*u);
           size_t begin = 0;
           for (int i = 0; i < 3 && begin != std::string_view::npos; ++i) {
             begin = s.find('/', begin);
             if (begin != std::string_view::npos) ++begin;
           }
           Value out;
           if (begin != std::string_view::npos) {
             size_t end = s.find('/', begin);
             out =
                 std::string(s.substr(begin, end == std::string_view::npos ? s.npos : end - begin));
           }
           row.Set("dir1", std::move(out));
         }));

  auto q14 = Compute("bidTimeType",
                     "CASE WHEN HOUR(dateTime) >= 8 AND HOUR(dateTime) <= 18 THEN 'dayTime' "
                     "WHEN HOUR(dateTime) <= 6 OR HOUR(dateTime) >= 20 THEN 'nightTime' "
                     "ELSE 'otherTime' END");
  Report("q14 CASE HOUR", Measure(input, reps, apply(*q14)), Measure(input, reps, [](Row& row) {
           const Value* t = row.Get("dateTime");
           if (t == nullptr || !std::holds_alternative<int64_t>(*t)) std::abort();
           const int64_t h = std::get<int64_t>(*t) % 86400000 / 3600000;
           row.Set("bidTimeType", std::string(h >= 8 && h <= 18   ? "dayTime"
                                              : h <= 6 || h >= 20 ? "nightTime"
                                                                  : "otherTime"));
         }));

  auto q21 = Compute("channel_id", "REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', 2)");
  Report("q21 REGEXP", Measure(input, reps, apply(*q21)), Measure(input, reps, [](Row& row) {
           const Value* u = row.Get("url");
           if (u == nullptr || !std::holds_alternative<std::string>(*u)) std::abort();
           std::string_view s = std::get<std::string>(*u);
           size_t at = s.find("channel_id=");
           Value out;
           if (at != std::string_view::npos) {
             std::string_view rest = s.substr(at + 11);
             out = std::string(rest.substr(0, rest.find('&')));
           }
           row.Set("channel_id", std::move(out));
         }));
  return 0;
}

}  // namespace
}  // namespace onceflow::bench

int main(int argc, char** argv) { return onceflow::bench::Main(argc, argv); }
