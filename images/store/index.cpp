#include "images/store/index.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/fd.hpp"
#include "images/store/blob_store.hpp"

namespace drover::images::store {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// flock on <index>.lock for the lifetime of the object.
class FileLock {
 public:
  FileLock(const fs::path& path, int op)
      : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
    if (fd_) {
      while (::flock(fd_.get(), op) != 0 && errno == EINTR) {
      }
    }
  }
  bool ok() const { return fd_.valid(); }

 private:
  UniqueFd fd_;
};

json toJson(const Version& v) {
  return json{{"sha256", v.sha256.hex()},
              {"size", v.size},
              {"url", v.url},
              {"etag", v.etag},
              {"last_modified", v.last_modified},
              {"fetched_ms", v.fetched_ms},
              {"used_ms", v.used_ms},
              {"pinned", v.pinned}};
}

Result<Version> versionFrom(const json& j) {
  Version v;
  auto digest = Sha256::parse(j.value("sha256", std::string()));
  if (!digest) return makeError("bad_index", digest.error().message);
  v.sha256 = *digest;
  v.size = j.value("size", std::uint64_t{0});
  v.url = j.value("url", std::string());
  v.etag = j.value("etag", std::string());
  v.last_modified = j.value("last_modified", std::string());
  v.fetched_ms = j.value("fetched_ms", std::int64_t{0});
  v.used_ms = j.value("used_ms", std::int64_t{0});
  v.pinned = j.value("pinned", false);
  return v;
}

json toJson(const Event& e) {
  json j{{"ts_ms", e.ts_ms}, {"event", e.event}};
  if (!e.sha256.empty()) j["sha256"] = e.sha256;
  if (!e.detail.empty()) j["detail"] = e.detail;
  if (e.count != 1) j["count"] = e.count;
  if (e.first_ms != 0) j["first_ms"] = e.first_ms;
  return j;
}

Event eventFrom(const json& j) {
  Event e;
  e.ts_ms = j.value("ts_ms", std::int64_t{0});
  e.event = j.value("event", std::string());
  e.sha256 = j.value("sha256", std::string());
  e.detail = j.value("detail", std::string());
  e.count = j.value("count", std::int64_t{1});
  e.first_ms = j.value("first_ms", std::int64_t{0});
  return e;
}

}  // namespace

void Entry::addEvent(Event e) {
  if (e.event == "unchanged" && !events.empty() && events.back().event == "unchanged" &&
      events.back().sha256 == e.sha256) {
    auto& last = events.back();
    if (last.first_ms == 0) last.first_ms = last.ts_ms;
    last.ts_ms = e.ts_ms;
    ++last.count;
    return;
  }
  events.push_back(std::move(e));
  if (events.size() > kMaxEvents)
    events.erase(events.begin(),
                 events.begin() + static_cast<std::ptrdiff_t>(events.size() - kMaxEvents));
}

Version* Entry::find(const Sha256& digest) {
  for (auto& v : versions)
    if (v.sha256 == digest) return &v;
  return nullptr;
}

Entry& IndexData::entry(const std::string& image, const std::string& kind) {
  auto& e = entries[key(image, kind)];
  e.image = image;
  e.kind = kind;
  return e;
}

const Entry* IndexData::find(const std::string& image, const std::string& kind) const {
  auto it = entries.find(key(image, kind));
  return it == entries.end() ? nullptr : &it->second;
}

bool IndexData::references(const Sha256& digest) const {
  for (const auto& [k, e] : entries)
    for (const auto& v : e.versions)
      if (v.sha256 == digest) return true;
  return false;
}

Index::Index(fs::path file) : file_(std::move(file)) {}

Result<IndexData> Index::read() const {
  FileLock lock(fs::path(file_).concat(".lock"), LOCK_SH);
  if (!lock.ok()) return makeError("eio", file_.string() + ".lock: " + std::strerror(errno));
  return readUnlocked();
}

Result<IndexData> decodeIndex(std::string_view text) {
  IndexData data;
  if (text.empty()) return data;
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return makeError("bad_index", "not a JSON object");
  for (const auto& je : j.value("entries", json::array())) {
    Entry e;
    e.image = je.value("image", std::string());
    e.kind = je.value("kind", std::string());
    e.checked_ms = je.value("checked_ms", std::int64_t{0});
    e.last_result = je.value("last_result", std::string());
    e.last_error = je.value("last_error", std::string());
    e.next_check_ms = je.value("next_check_ms", std::int64_t{0});
    e.claim_owner = je.value("claim_owner", std::string());
    e.claim_until_ms = je.value("claim_until_ms", std::int64_t{0});
    for (const auto& jev : je.value("events", json::array()))
      if (jev.is_object()) e.events.push_back(eventFrom(jev));
    for (const auto& jv : je.value("versions", json::array())) {
      auto v = versionFrom(jv);
      if (!v) return v.error();
      e.versions.push_back(std::move(*v));
    }
    data.entries[IndexData::key(e.image, e.kind)] = std::move(e);
  }
  return data;
}

std::string encodeIndex(const IndexData& data) {
  json entries = json::array();
  for (const auto& [k, e] : data.entries) {
    if (e.versions.empty()) continue;
    json versions = json::array();
    for (const auto& v : e.versions) versions.push_back(toJson(v));
    json je{
        {"image", e.image}, {"kind", e.kind}, {"checked_ms", e.checked_ms}, {"versions", versions}};
    if (!e.last_result.empty()) je["last_result"] = e.last_result;
    if (!e.last_error.empty()) je["last_error"] = e.last_error;
    if (e.next_check_ms != 0) je["next_check_ms"] = e.next_check_ms;
    if (!e.claim_owner.empty()) {
      je["claim_owner"] = e.claim_owner;
      je["claim_until_ms"] = e.claim_until_ms;
    }
    if (!e.events.empty()) {
      json events = json::array();
      for (const auto& ev : e.events) events.push_back(toJson(ev));
      je["events"] = events;
    }
    entries.push_back(std::move(je));
  }
  return json{{"version", 1}, {"entries", entries}}.dump(2) + "\n";
}

Result<IndexData> Index::readUnlocked() const {
  std::ifstream in(file_);
  if (!in) return IndexData{};  // no index yet
  std::stringstream text;
  text << in.rdbuf();
  auto data = decodeIndex(text.str());
  if (!data) return makeError("bad_index", file_.string() + ": " + data.error().message);
  return data;
}

Status Index::update(const std::function<Status(IndexData&)>& change) {
  FileLock lock(fs::path(file_).concat(".lock"), LOCK_EX);
  if (!lock.ok()) return makeError("eio", file_.string() + ".lock: " + std::strerror(errno));
  auto data = readUnlocked();
  if (!data) return data.error();
  if (auto st = change(*data); !st) return st;

  const fs::path tmp = fs::path(file_).concat(".tmp");
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << encodeIndex(*data);
    if (!out.flush()) return makeError("eio", tmp.string() + ": write failed");
  }
  if (auto st = syncPath(tmp); !st) return st;
  std::error_code ec;
  fs::rename(tmp, file_, ec);
  if (ec) return makeError("eio", file_.string() + ": " + ec.message());
  return syncPath(file_.parent_path());
}

}  // namespace drover::images::store
