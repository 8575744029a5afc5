// PrometheusText: families in first-added order, each with its HELP, TYPE and samples.
#include "ui/prometheus_text.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace onceflow::ui {

std::string FormatLabels(const Labels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ',';
    out += labels[i].first;
    out += "=\"";
    for (char c : labels[i].second) {
      if (c == '\\') {
        out += "\\\\";
      } else if (c == '"') {
        out += "\\\"";
      } else if (c == '\n') {
        out += "\\n";
      } else {
        out += c;
      }
    }
    out += '"';
  }
  return out + "}";
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[40];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof(buf), "%.0f", v);
    return buf;
  }
  // The shortest form that reads back as the same double.
  for (int precision = 6; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

PrometheusText::Family& PrometheusText::FamilyOf(std::string_view name, std::string_view help,
                                                 std::string_view type) {
  auto it = families_.find(name);
  if (it == families_.end()) {
    order_.emplace_back(name);
    it = families_.emplace(std::string(name), Family{std::string(help), std::string(type), ""})
             .first;
  }
  return it->second;
}

void PrometheusText::Counter(std::string_view name, std::string_view help, const Labels& labels,
                             double value) {
  FamilyOf(name, help, "counter").samples +=
      std::string(name) + FormatLabels(labels) + " " + FormatValue(value) + "\n";
}

void PrometheusText::Gauge(std::string_view name, std::string_view help, const Labels& labels,
                           double value) {
  FamilyOf(name, help, "gauge").samples +=
      std::string(name) + FormatLabels(labels) + " " + FormatValue(value) + "\n";
}

void PrometheusText::Histogram(std::string_view name, std::string_view help, const Labels& labels,
                               std::span<const double> bounds,
                               std::span<const double> observations) {
  Family& f = FamilyOf(name, help, "histogram");
  std::vector<uint64_t> counts(bounds.size() + 1, 0);
  double sum = 0;
  for (double o : observations) {
    size_t b = 0;
    while (b < bounds.size() && o > bounds[b]) ++b;
    ++counts[b];
    sum += o;
  }
  uint64_t cumulative = 0;
  for (size_t b = 0; b <= bounds.size(); ++b) {
    cumulative += counts[b];
    Labels with_le = labels;
    with_le.emplace_back("le", b < bounds.size() ? FormatValue(bounds[b]) : "+Inf");
    f.samples += std::string(name) + "_bucket" + FormatLabels(with_le) + " " +
                 std::to_string(cumulative) + "\n";
  }
  f.samples += std::string(name) + "_sum" + FormatLabels(labels) + " " + FormatValue(sum) + "\n";
  f.samples += std::string(name) + "_count" + FormatLabels(labels) + " " +
               std::to_string(observations.size()) + "\n";
}

std::string PrometheusText::Render() const {
  std::string out;
  for (const std::string& name : order_) {
    const Family& f = families_.find(name)->second;
    out += "# HELP " + name + " " + f.help + "\n# TYPE " + name + " " + f.type + "\n";
    out += f.samples;
  }
  return out;
}

}  // namespace onceflow::ui
