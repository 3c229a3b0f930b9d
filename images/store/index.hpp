// The catalog's index: which images and artifacts are cached, their versions and the blob
// each version is. A JSON file next to the blobs (<root>/index.json), rewritten atomically
// (temp file + fsync + rename) under an exclusive flock, so `drover serve` and the
// `drover images` commands can share one store.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "common/values.hpp"

namespace drover::images::store {

struct Version {
  Sha256 sha256;
  std::uint64_t size = 0;
  std::string url;   // where it came from
  std::string etag;  // validators for the next conditional re-check
  std::string last_modified;
  std::int64_t fetched_ms = 0;  // unix ms
  std::int64_t used_ms = 0;     // last served or installed
  bool pinned = false;          // explicitly pulled: never expires
};

// What happened to an artifact in the background (images/catalog/updater.hpp): an update
// check's outcome ("unchanged", "updated", "failed") or a version "collected". Unchanged
// checks in a row are one event whose `count` grows.
struct Event {
  std::int64_t ts_ms = 0;
  std::string event;
  std::string sha256{};  // the version it is about (hex), "" when none
  std::string detail{};  // the error of a failed check
  std::int64_t count = 1;
  std::int64_t first_ms = 0;  // coalesced unchanged checks: the first one
};

// One artifact of one image ("debian-12" / "disk"). Versions oldest first; the last one is
// the current one.
struct Entry {
  std::string image;
  std::string kind;
  std::int64_t checked_ms = 0;  // last time upstream was asked
  std::vector<Version> versions;
  // Background checks: the last outcome, when the next one is due, and the replica (or
  // process) that holds the check until `claim_until_ms` (a claim taken by compare-and-swap
  // on the index, so one replica checks an artifact at a time).
  std::string last_result{};
  std::string last_error{};
  std::int64_t next_check_ms = 0;
  std::string claim_owner{};
  std::int64_t claim_until_ms = 0;
  std::vector<Event> events{};  // oldest first, at most kMaxEvents

  static constexpr std::size_t kMaxEvents = 32;
  // Appends `e`, folding an unchanged check into a last event that was one too.
  void addEvent(Event e);

  const Version* current() const { return versions.empty() ? nullptr : &versions.back(); }
  Version* current() { return versions.empty() ? nullptr : &versions.back(); }
  Version* find(const Sha256& digest);
};

struct IndexData {
  std::map<std::string, Entry> entries;  // keyed "image/kind"

  static std::string key(const std::string& image, const std::string& kind) {
    return image + "/" + kind;
  }
  Entry& entry(const std::string& image, const std::string& kind);
  const Entry* find(const std::string& image, const std::string& kind) const;
  // Whether any version of any entry is this blob.
  bool references(const Sha256& digest) const;
};

// The index as the JSON document index.json holds (also the value of the etcd key).
std::string encodeIndex(const IndexData& data);
// Error code bad_index. Empty text: an empty index.
Result<IndexData> decodeIndex(std::string_view text);

class Index {
 public:
  explicit Index(std::filesystem::path file);

  // The index as last written (empty when there is none yet). Error codes eio, bad_index.
  Result<IndexData> read() const;

  // Reads, applies `change`, and writes the result back, all under the lock. Nothing is
  // written when `change` fails.
  Status update(const std::function<Status(IndexData&)>& change);

 private:
  Result<IndexData> readUnlocked() const;
  std::filesystem::path file_;
};

}  // namespace drover::images::store
