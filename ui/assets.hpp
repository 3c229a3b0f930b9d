// The dashboard's files (ui/*.html, *.js, *.css), compiled into the binary by
// cmake/EmbedFiles.cmake: `drover serve` needs nothing on disk and nothing from a CDN.
#pragma once

#include <span>
#include <string_view>

namespace drover::ui {

struct EmbeddedFile {
  std::string_view path;  // relative to ui/, e.g. "app.js"
  std::string_view data;
};

std::span<const EmbeddedFile> embeddedFiles();

// The file at `path`, or null.
inline const EmbeddedFile* findFile(std::string_view path) {
  for (const auto& f : embeddedFiles())
    if (f.path == path) return &f;
  return nullptr;
}

}  // namespace drover::ui
