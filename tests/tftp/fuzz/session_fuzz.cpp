// One read transfer as the server runs it (tftp/server/transfer.cpp), without sockets: the
// requested name is normalised, options negotiated, blocks read from a file or a virtual
// file (octet or netascii) and sent as the SendWindow allows, and the input plays the
// client: ACKs near the window or anywhere, and timeouts. Every resent block must equal
// its first sending (netascii rebuilds blocks from checkpoints), the window never runs
// past its size, and a finished transfer delivers exactly the file.
//
// Input: mode/backing flags, blksize, windowsize, file length, the file name up to '\n',
// the file, then one event per byte.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "tftp/server/block_source.hpp"
#include "tftp/server/file_cache.hpp"
#include "tftp/server/path.hpp"
#include "tftp/server/send_window.hpp"
#include "tftp/wire/netascii.hpp"
#include "tftp/wire/options.hpp"

namespace {

using drover::UniqueFd;
using namespace drover::tftp;
namespace tw = drover::tftp::wire;

void check(bool cond) {
  if (!cond) std::abort();
}

struct Input {
  const std::uint8_t* p;
  std::size_t n;
  std::uint8_t byte() {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
  std::string take(std::size_t count) {
    count = std::min(count, n);
    std::string s(reinterpret_cast<const char*>(p), count);
    p += count;
    n -= count;
    return s;
  }
  std::string line(std::size_t max) {
    std::string s;
    while (n > 0 && s.size() < max) {
      char c = static_cast<char>(byte());
      if (c == '\n') break;
      s.push_back(c);
    }
    return s;
  }
};

void checkPath(const std::string& raw) {
  auto path = normalizePath(raw);
  if (!path) return;
  check(!path->empty() && path->size() <= kMaxPathLength && path->front() != '/' &&
        path->back() != '/');
  check(path->find('\\') == std::string::npos && path->find("//") == std::string::npos);
  std::string_view rest = *path;
  while (!rest.empty()) {
    auto slash = rest.find('/');
    auto seg = rest.substr(0, slash);
    check(seg != "." && seg != "..");
    for (char c : seg) check(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
  }
  auto twice = normalizePath(*path);
  check(twice.ok() && *twice == *path);  // normalising twice changes nothing
}

BlockSource::Backing backing(const std::string& content, bool from_file) {
  if (!from_file) return std::make_shared<const std::string>(content);
  UniqueFd fd(::memfd_create("tftp-fuzz", MFD_CLOEXEC));
  check(fd.valid());
  check(::write(fd.get(), content.data(), content.size()) == static_cast<ssize_t>(content.size()));
  return std::make_shared<const SharedFile>(std::move(fd), content.size(), "fuzz");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in{data, size};
  const std::uint8_t flags = in.byte();
  const auto mode = flags & 1 ? tw::Mode::Netascii : tw::Mode::Octet;
  std::vector<tw::Option> options;
  if (flags & 2) options.push_back({"blksize", std::to_string(in.byte())});
  if (flags & 4) options.push_back({"windowsize", std::to_string(in.byte() % 80)});
  if (flags & 8) options.push_back({"tsize", "0"});
  const std::size_t length = std::size_t{in.byte()} * 8;
  checkPath(in.line(300));
  const std::string file = in.take(length);

  auto source_backing = backing(file, (flags & 16) != 0);
  auto options_used = tw::negotiate(options, mode, BlockSource(source_backing, mode, 1).wireSize(),
                                    tw::OptionLimits{1468, 16});
  const std::size_t blksize = options_used.blksize;
  check(blksize >= tw::kMinBlksize && blksize <= 1468);
  check(options_used.windowsize >= 1 && options_used.windowsize <= 16);
  BlockSource source(source_backing, mode, blksize);
  SendWindow window({options_used.windowsize, !options_used.oack.empty(), 3});
  const std::size_t batch = std::min<std::size_t>(options_used.windowsize, 8);
  std::vector<std::byte> buf(batch * blksize);
  std::map<std::uint64_t, std::string> sent;  // block index -> payload as first sent

  // Bounded: each event byte is one send round and one ACK or timeout.
  for (std::size_t events = 0; events < 4096 && !window.done(); ++events) {
    for (;;) {  // Transfer::sendWindow
      const auto k = static_cast<std::size_t>(std::min<std::uint64_t>(window.sendable(), batch));
      if (k == 0) break;
      if (window.next() == 0) {
        check(window.nextToSend() == 0u);
        continue;
      }
      const std::uint64_t first = window.next();
      auto total = source.readRun(first, k, buf);
      check(total.ok());
      std::size_t m = 0;
      while (m < k) {
        const std::size_t at = m * blksize;
        const std::size_t n = *total > at ? std::min(blksize, *total - at) : 0;
        std::string payload(reinterpret_cast<const char*>(buf.data()) + at, n);
        auto [it, fresh] = sent.emplace(first + m, payload);
        check(fresh || it->second == payload);
        ++m;
        if (n < blksize) {
          window.markLast(first + m - 1);
          break;
        }
      }
      for (std::size_t i = 0; i < m; ++i) check(window.nextToSend() == first + i);
    }
    check(window.next() >= window.base() &&
          window.next() - window.base() <= options_used.windowsize);
    if (in.n == 0) break;
    const std::uint8_t ev = in.byte();
    if (ev == 0xff) {
      if (window.onTimeout() == SendWindow::Timeout::GiveUp) return 0;
      continue;
    }
    const std::uint16_t block = ev & 0x80 ? static_cast<std::uint16_t>(in.byte() << 8 | in.byte())
                                          : SendWindow::wireBlock(window.base() + (ev & 0x7f) - 2);
    const auto base = window.base();
    switch (window.onAck(block)) {
      case SendWindow::Ack::Progress:
      case SendWindow::Ack::Done:
        check(window.base() > base);
        source.release(window.base());
        break;
      case SendWindow::Ack::Duplicate:
      case SendWindow::Ack::Unexpected:
        check(window.base() == base);
        break;
    }
  }
  if (!window.done()) return 0;
  std::string wire_bytes;
  for (std::uint64_t i = 1; i <= *window.last(); ++i) {
    auto it = sent.find(i);
    check(it != sent.end());
    check(i == *window.last() ? it->second.size() < blksize : it->second.size() == blksize);
    wire_bytes += it->second;
  }
  if (mode == tw::Mode::Octet) {
    check(wire_bytes == file);
  } else {
    auto decoded = tw::netasciiDecode(drover::wire::ByteView(
        reinterpret_cast<const std::byte*>(wire_bytes.data()), wire_bytes.size()));
    check(std::string(reinterpret_cast<const char*>(decoded.data()), decoded.size()) == file);
  }
  return 0;
}
