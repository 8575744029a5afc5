// The files of the web UI (`onceflow ui`, `onceflow run --ui`): pages, scripts, styles and the
// chart library, compiled into the binary so that the UI works offline.
#pragma once

#include <optional>
#include <string_view>
#include <utility>

namespace onceflow::ui {

// Returns the bytes and the content type of the asset served at `path` ("/index.html",
// "/assets/app.js"; "/" is the index), or nullopt if there is none. The views point into static
// storage and stay valid for the life of the program.
std::optional<std::pair<std::string_view, std::string_view>> StaticAsset(std::string_view path);

}  // namespace onceflow::ui
