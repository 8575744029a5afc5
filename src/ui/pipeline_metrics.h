// The Prometheus metrics of pipelines (docs/metrics.md), from their batch history, checkpoint
// and, inside `run --ui`, the live counters of the run.
#pragma once

#include <span>

#include "ui/pipeline_view.h"
#include "ui/prometheus_text.h"

namespace onceflow::ui {

// Adds every pipeline metric of `view` (label pipeline="<name>") to `out`.
void AddPipelineMetrics(const PipelineView& view, PrometheusText* out);

}  // namespace onceflow::ui
