// PrometheusText: the Prometheus text exposition format (version 0.0.4), written family by
// family: one # HELP and one # TYPE per metric name, then its samples, whichever order the
// samples were added in.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace onceflow::ui {

using Labels = std::vector<std::pair<std::string, std::string>>;

// Not thread-safe; build one per scrape.
class PrometheusText {
 public:
  // A sample of the counter `name` (which ends in _total).
  void Counter(std::string_view name, std::string_view help, const Labels& labels, double value);
  void Gauge(std::string_view name, std::string_view help, const Labels& labels, double value);
  // A histogram of `observations` over buckets with upper bounds `bounds` (ascending; +Inf
  // added): name_bucket{le=...} cumulative, name_sum, name_count.
  void Histogram(std::string_view name, std::string_view help, const Labels& labels,
                 std::span<const double> bounds, std::span<const double> observations);

  std::string Render() const;

 private:
  struct Family {
    std::string help;
    std::string type;
    std::string samples;
  };
  Family& FamilyOf(std::string_view name, std::string_view help, std::string_view type);
  std::vector<std::string> order_;
  std::map<std::string, Family, std::less<>> families_;
};

// `labels` as {a="x",b="y"} with the values escaped (backslash, quote, newline); "" when empty.
std::string FormatLabels(const Labels& labels);
// A sample value: integers without a fraction, others with up to 17 significant digits.
std::string FormatValue(double v);

}  // namespace onceflow::ui
