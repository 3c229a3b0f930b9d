// Credentials kept out of the declaration: a YAML file in the state directory that maps
// names to {username, password} and that only its owner may read (mode 0600), or a pair of
// environment variables. Used for BMCs (power/credentials.hpp) and registries
// (images/registry/registry.hpp), each with its own file, variables and error code.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace drover::secrets {

struct UserPassword {
  std::string username{};
  std::string password{};
};

// PREFIX_USERNAME and PREFIX_PASSWORD: both set, or neither (nullopt); one alone is an
// error with `code`.
Result<std::optional<UserPassword>> fromEnvironment(std::string_view prefix, std::string_view code);

struct FileEntry {
  bool file_exists = false;
  std::optional<UserPassword> entry{};  // nullopt: no file, or no entry `name` in it
};

// The entry `name` of `file`. Errors (with `code`): the file cannot be read, is not a
// regular file, is readable by group or others, is not YAML or not a map of `what` to
// {username, password}, or its entry lacks one of them.
Result<FileEntry> readEntry(const std::filesystem::path& file, const std::string& name,
                            std::string_view code, std::string_view what);

}  // namespace drover::secrets
