#include "agent/efi_boot.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include <fmt/format.h>

#include "common/fd.hpp"
#include "common/hex.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"

namespace drover::agent::efi {
namespace fs = std::filesystem;

namespace {

constexpr std::uint8_t kMessaging = 3;
constexpr std::uint8_t kMacSubtype = 11;
constexpr std::uint8_t kIpv4Subtype = 12;
constexpr std::uint8_t kUriSubtype = 24;
constexpr std::uint8_t kEnd = 0x7f;
constexpr std::uint32_t kEfivarfsMagic = 0xde5e81e4;
constexpr std::size_t kMaxVariable = 64 * 1024;  // load options are a few hundred bytes

Error bad(const std::string& what) {
  return makeError("bad_load_option", what);
}

std::uint16_t u16(std::span<const std::uint8_t> b, std::size_t at) {
  return static_cast<std::uint16_t>(b[at] | (b[at + 1] << 8));
}

std::uint32_t u32(std::span<const std::uint8_t> b, std::size_t at) {
  return static_cast<std::uint32_t>(b[at]) | (static_cast<std::uint32_t>(b[at + 1]) << 8) |
         (static_cast<std::uint32_t>(b[at + 2]) << 16) |
         (static_cast<std::uint32_t>(b[at + 3]) << 24);
}

void put16(std::vector<std::uint8_t>& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v & 0xff));
  out.push_back(static_cast<std::uint8_t>(v >> 8));
}

void put32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

void appendUtf8(std::string& out, std::uint32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xc0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3f));
  } else {
    out += static_cast<char>(0xe0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (c & 0x3f));
  }
}

// UTF-8 to UCS-2 code units; what UCS-2 cannot hold (and malformed bytes) becomes U+FFFD.
std::vector<std::uint16_t> toUcs2(const std::string& s) {
  std::vector<std::uint16_t> out;
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<std::uint8_t>(s[i]);
    std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : 0;
    if (len == 0 || i + len > s.size()) {
      out.push_back(0xfffd);
      i += len == 0 ? 1 : s.size() - i;
      continue;
    }
    std::uint32_t v = len == 1 ? c : len == 2 ? (c & 0x1f) : (c & 0x0f);
    for (std::size_t k = 1; k < len; ++k)
      v = (v << 6) | (static_cast<std::uint8_t>(s[i + k]) & 0x3f);
    out.push_back(v == 0 ? 0xfffd : static_cast<std::uint16_t>(v));
    i += len;
  }
  return out;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// The whole file, at most kMaxVariable bytes; nullopt when it cannot be read.
std::optional<std::vector<std::uint8_t>> readVariable(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::vector<std::uint8_t> bytes;
  char buf[4096];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    bytes.insert(bytes.end(), buf, buf + in.gcount());
    if (bytes.size() > kMaxVariable) return std::nullopt;
  }
  return bytes;
}

// Boot#### -> ####; other names -> nullopt.
std::optional<std::uint16_t> bootNumber(const std::string& file_name) {
  const std::string suffix = std::string("-") + kGlobalGuid;
  if (file_name.size() != 8 + suffix.size() || file_name.rfind("Boot", 0) != 0) return std::nullopt;
  if (lower(file_name.substr(8)) != suffix) return std::nullopt;
  std::array<std::uint8_t, 2> raw{};
  if (!fromHex(file_name.substr(4, 4), raw)) return std::nullopt;
  return static_cast<std::uint16_t>((raw[0] << 8) | raw[1]);
}

// Clears FS_IMMUTABLE_FL on an existing file; filesystems without flags have nothing to clear.
Status clearImmutable(const fs::path& file) {
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return {};
    return makeError("efivars", fmt::format("open {}: {}", file.string(), std::strerror(errno)));
  }
  int flags = 0;
  if (::ioctl(fd.get(), FS_IOC_GETFLAGS, &flags) != 0) {
    if (errno == ENOTTY || errno == EOPNOTSUPP || errno == EINVAL) return {};
    return makeError("efivars",
                     fmt::format("get flags of {}: {}", file.string(), std::strerror(errno)));
  }
  if ((flags & FS_IMMUTABLE_FL) == 0) return {};
  flags &= ~FS_IMMUTABLE_FL;
  if (::ioctl(fd.get(), FS_IOC_SETFLAGS, &flags) != 0)
    return makeError("efivars", fmt::format("clear the immutable flag of {}: {}", file.string(),
                                            std::strerror(errno)));
  return {};
}

}  // namespace

Result<LoadOption> decodeLoadOption(std::span<const std::uint8_t> data) {
  if (data.size() < 6)
    return bad(fmt::format("{} bytes: shorter than the 6-byte header", data.size()));
  LoadOption o;
  o.attributes = u32(data, 0);
  const std::size_t path_len = u16(data, 4);
  std::size_t at = 6;
  for (;; at += 2) {
    if (at + 2 > data.size()) return bad("the description has no terminating null");
    const std::uint16_t c = u16(data, at);
    if (c == 0) break;
    // UCS-2: a lone surrogate is not a character.
    appendUtf8(o.description, c >= 0xd800 && c <= 0xdfff ? 0xfffd : c);
  }
  at += 2;
  if (path_len > data.size() - at)
    return bad(
        fmt::format("the file path list says {} bytes, {} are left", path_len, data.size() - at));
  o.device_path.assign(data.begin() + at, data.begin() + at + path_len);
  if (auto nodes = parseDevicePath(o.device_path); !nodes) return nodes.error();
  o.optional_data.assign(data.begin() + at + path_len, data.end());
  return o;
}

std::vector<std::uint8_t> encodeLoadOption(const LoadOption& option) {
  std::vector<std::uint8_t> out;
  put32(out, option.attributes);
  put16(out, static_cast<std::uint16_t>(option.device_path.size()));
  for (auto c : toUcs2(option.description)) put16(out, c);
  put16(out, 0);
  out.insert(out.end(), option.device_path.begin(), option.device_path.end());
  out.insert(out.end(), option.optional_data.begin(), option.optional_data.end());
  return out;
}

Result<std::vector<DevicePathNode>> parseDevicePath(std::span<const std::uint8_t> path) {
  std::vector<DevicePathNode> nodes;
  std::size_t at = 0;
  while (true) {
    if (path.size() - at < 4)
      return bad(fmt::format("device path: no End node before byte {}", at));
    DevicePathNode n;
    n.type = path[at];
    n.subtype = path[at + 1];
    const std::size_t len = u16(path, at + 2);
    if (len < 4) return bad(fmt::format("device path: a node of {} bytes at byte {}", len, at));
    if (len > path.size() - at)
      return bad(fmt::format("device path: a {}-byte node at byte {} runs past the end", len, at));
    if (n.type == kEnd) return nodes;  // end of this instance or of the whole path
    n.data.assign(path.begin() + at + 4, path.begin() + at + len);
    nodes.push_back(std::move(n));
    at += len;
  }
}

std::optional<MacAddress> macOf(std::span<const std::uint8_t> device_path) {
  auto nodes = parseDevicePath(device_path);
  if (!nodes) return std::nullopt;
  for (const auto& n : *nodes) {
    if (n.type != kMessaging || n.subtype != kMacSubtype || n.data.size() < 6) continue;
    std::array<std::uint8_t, 6> octets{};
    std::copy_n(n.data.begin(), 6, octets.begin());
    return MacAddress(octets);
  }
  return std::nullopt;
}

NetMatch matchNetwork(const LoadOption& option, const MacAddress& mac) {
  if (auto nodes = parseDevicePath(option.device_path)) {
    for (std::size_t i = 0; i < nodes->size(); ++i) {
      const auto& n = (*nodes)[i];
      if (n.type != kMessaging || n.subtype != kMacSubtype || n.data.size() < 6) continue;
      if (!std::equal(mac.octets().begin(), mac.octets().end(), n.data.begin()))
        return NetMatch::kNone;
      bool ipv4 = false, uri = false;
      for (std::size_t k = i + 1; k < nodes->size(); ++k) {
        const auto& after = (*nodes)[k];
        if (after.type != kMessaging) continue;
        ipv4 = ipv4 || after.subtype == kIpv4Subtype;
        uri = uri || after.subtype == kUriSubtype;
      }
      return ipv4 && !uri ? NetMatch::kMacIpv4 : NetMatch::kMacNode;
    }
  }
  const auto d = lower(option.description);
  if (d.find("pxe") == std::string::npos && d.find("network") == std::string::npos)
    return NetMatch::kNone;
  const auto colons = lower(mac.str());
  std::string plain, dashes = colons;
  for (char c : colons)
    if (c != ':') plain += c;
  std::replace(dashes.begin(), dashes.end(), ':', '-');
  for (const auto& form : {plain, colons, dashes})
    if (d.find(form) != std::string::npos) return NetMatch::kDescription;
  return NetMatch::kNone;
}

std::optional<BootEntry> pickNetworkEntry(const std::vector<BootEntry>& entries,
                                          const MacAddress& mac) {
  const BootEntry* best = nullptr;
  auto rank = [&](const BootEntry& e) {
    return std::pair{static_cast<int>(matchNetwork(e.option, mac)),
                     (e.option.attributes & kLoadOptionActive) != 0};
  };
  for (const auto& e : entries) {
    const auto r = rank(e);
    if (r.first == static_cast<int>(NetMatch::kNone)) continue;
    if (best == nullptr) {
      best = &e;
      continue;
    }
    const auto b = rank(*best);
    // Active first, then the better match, then the lower number.
    if (std::pair{r.second, r.first} > std::pair{b.second, b.first} ||
        (std::pair{r.second, r.first} == std::pair{b.second, b.first} && e.number < best->number))
      best = &e;
  }
  if (best == nullptr) return std::nullopt;
  return *best;
}

std::string variableFile(const std::string& name) {
  return name + "-" + kGlobalGuid;
}

std::string bootName(std::uint16_t number) {
  return fmt::format("Boot{:04X}", number);
}

Result<std::vector<BootEntry>> readBootEntries(const fs::path& dir) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return makeError("efivars", fmt::format("read {}: {}", dir.string(), ec.message()));
  std::vector<BootEntry> out;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return makeError("efivars", fmt::format("read {}: {}", dir.string(), ec.message()));
    const auto number = bootNumber(it->path().filename().string());
    if (!number) continue;
    auto bytes = readVariable(it->path());
    Result<LoadOption> option = bad("cannot read the file or it is too large");
    if (bytes && bytes->size() >= 4)
      option = decodeLoadOption(std::span(*bytes).subspan(4));
    else if (bytes)
      option = bad("shorter than the attributes");
    if (!option) {
      metrics::Registry::global()
          .counter("agent_efi_bad_load_options_total", "Boot#### variables that did not decode")
          .fetch_add(1, std::memory_order_relaxed);
      log::get("agent")->warn("AGENT_EFI_BAD_LOAD_OPTION variable={} reason=\"{}\"",
                              bootName(*number), log::sanitize(option.error().message, 200));
      continue;
    }
    out.push_back({*number, std::move(*option)});
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.number < b.number; });
  return out;
}

Status writeBootNext(const fs::path& dir, std::uint16_t number) {
  const fs::path file = dir / variableFile("BootNext");
  if (auto st = clearImmutable(file); !st) return st;
  struct statfs sfs {};
  const bool efivarfs =
      ::statfs(dir.c_str(), &sfs) == 0 && static_cast<std::uint32_t>(sfs.f_type) == kEfivarfsMagic;
  std::vector<std::uint8_t> bytes;
  put32(bytes, kNonVolatile | kBootServiceAccess | kRuntimeAccess);
  put16(bytes, number);
  // efivarfs takes the attributes and the data in one write and cannot truncate; a plain
  // directory (tests) needs the truncation.
  UniqueFd fd(
      ::open(file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (efivarfs ? 0 : O_TRUNC), 0644));
  if (!fd)
    return makeError("efivars", fmt::format("open {}: {}", file.string(), std::strerror(errno)));
  const auto n = ::write(fd.get(), bytes.data(), bytes.size());
  if (n != static_cast<ssize_t>(bytes.size()))
    return makeError("efivars", fmt::format("write {}: {}", file.string(),
                                            n < 0 ? std::strerror(errno) : "short write"));
  if (fd.close() != 0)
    return makeError("efivars", fmt::format("close {}: {}", file.string(), std::strerror(errno)));
  const auto back = readBootNext(dir);
  if (!back || *back != number)
    return makeError(
        "boot_next_mismatch",
        fmt::format("BootNext reads back {} after writing {}",
                    back ? bootName(*back) : std::string("nothing"), bootName(number)));
  return {};
}

std::optional<std::uint16_t> readBootNext(const fs::path& dir) {
  auto bytes = readVariable(dir / variableFile("BootNext"));
  if (!bytes || bytes->size() != 6) return std::nullopt;
  const std::uint32_t want = kNonVolatile | kBootServiceAccess | kRuntimeAccess;
  if ((u32(*bytes, 0) & want) != want) return std::nullopt;
  return u16(*bytes, 4);
}

std::optional<bool> secureBootEnabled(const fs::path& dir) {
  auto bytes = readVariable(dir / variableFile("SecureBoot"));
  if (!bytes || bytes->size() != 5 || (*bytes)[4] > 1) return std::nullopt;
  return (*bytes)[4] == 1;
}

}  // namespace drover::agent::efi
