// A placeholder for the embedded UI pages: one index.html that lists the pipelines from the
// JSON API, until the generated file of the real pages replaces this one.
#include "ui/static_assets.h"

namespace onceflow::ui {
namespace {

constexpr std::string_view kIndex = R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>onceflow</title></head>
<body><h1>onceflow</h1><p>The pipelines of this data directory
(<a href="/api/v1/pipelines">/api/v1/pipelines</a>, <a href="/metrics">/metrics</a>):</p>
<pre id="pipelines">loading...</pre>
<script>
async function refresh() {
  const r = await fetch('/api/v1/pipelines', {headers: {'Authorization':
      'Bearer ' + (localStorage.getItem('onceflow-token') || '')}});
  document.getElementById('pipelines').textContent = JSON.stringify(await r.json(), null, 2);
}
refresh(); setInterval(refresh, 2000);
</script></body></html>
)";

}  // namespace

std::optional<std::pair<std::string_view, std::string_view>> StaticAsset(std::string_view path) {
  if (path == "/index.html") return std::pair(kIndex, std::string_view("text/html; charset=utf-8"));
  return std::nullopt;
}

}  // namespace onceflow::ui
