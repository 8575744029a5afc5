// The UI's static files (index.html, scripts, styles, the chart library), embedded in the
// binary. The server asks for them by path; the build provides the bytes.
#pragma once

#include <optional>
#include <string_view>
#include <utility>

namespace onceflow::ui {

// The bytes and the content type of the embedded file at `path` ("/index.html",
// "/assets/app.js"; a leading '/' included; "/" is the index), or nullopt when there is none.
// The bytes live as long as the program. Implemented by the file the build generates from ui/
// (cmake/embed_files.cmake, target onceflow::ui_assets).
std::optional<std::pair<std::string_view /*bytes*/, std::string_view /*content type*/>> StaticAsset(
    std::string_view path);

}  // namespace onceflow::ui
