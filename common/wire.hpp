// Bounds-checked reading and writing of network byte order data.
//
// Reader keeps the invariant begin <= cursor <= end and compares lengths, never pointers.
// Every read either succeeds completely or fails and leaves the reader marked bad; callers
// check ok() (or the optional) and drop the datagram on the first failure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace drover::wire {

using Bytes = std::vector<std::byte>;
using ByteView = std::span<const std::byte>;

inline ByteView asBytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}
inline std::string_view asChars(ByteView b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

class Reader {
 public:
  explicit Reader(ByteView data) : data_(data) {}

  std::size_t remaining() const { return data_.size() - pos_; }
  std::size_t position() const { return pos_; }
  bool ok() const { return ok_; }
  bool atEnd() const { return remaining() == 0; }

  std::optional<std::uint8_t> u8();
  std::optional<std::uint16_t> u16();
  std::optional<std::uint32_t> u32();
  // A view of the next n bytes, or nullopt (and bad) if fewer remain.
  std::optional<ByteView> bytes(std::size_t n);
  // Everything left.
  ByteView rest();
  // Skips n bytes; false (and bad) if fewer remain.
  bool skip(std::size_t n);
  // Bytes up to (not including) the next NUL, consuming the NUL; nullopt if there is none.
  std::optional<std::string_view> cstring();

 private:
  bool take(std::size_t n) {
    if (!ok_ || n > remaining()) {
      ok_ = false;
      return false;
    }
    return true;
  }

  ByteView data_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

// Appends to a byte vector up to a fixed limit; writes past the limit fail and mark the
// writer bad instead of growing.
class Writer {
 public:
  explicit Writer(Bytes& out, std::size_t limit = SIZE_MAX) : out_(out), limit_(limit) {}

  bool ok() const { return ok_; }
  std::size_t size() const { return out_.size(); }
  std::size_t room() const { return limit_ > out_.size() ? limit_ - out_.size() : 0; }

  bool u8(std::uint8_t v);
  bool u16(std::uint16_t v);
  bool u32(std::uint32_t v);
  bool bytes(ByteView b);
  bool chars(std::string_view s) { return bytes(asBytes(s)); }
  bool zeros(std::size_t n);
  // Overwrites a big-endian u16 already written at offset.
  bool patchU16(std::size_t offset, std::uint16_t v);

 private:
  bool fits(std::size_t n) {
    if (!ok_ || n > room()) {
      ok_ = false;
      return false;
    }
    return true;
  }

  Bytes& out_;
  std::size_t limit_;
  bool ok_ = true;
};

}  // namespace drover::wire
