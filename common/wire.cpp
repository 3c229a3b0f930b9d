#include "common/wire.hpp"

#include <cstring>

namespace drover::wire {

std::optional<std::uint8_t> Reader::u8() {
  if (!take(1)) return std::nullopt;
  return std::to_integer<std::uint8_t>(data_[pos_++]);
}

std::optional<std::uint16_t> Reader::u16() {
  if (!take(2)) return std::nullopt;
  auto v = static_cast<std::uint16_t>((std::to_integer<unsigned>(data_[pos_]) << 8) |
                                      std::to_integer<unsigned>(data_[pos_ + 1]));
  pos_ += 2;
  return v;
}

std::optional<std::uint32_t> Reader::u32() {
  if (!take(4)) return std::nullopt;
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | std::to_integer<std::uint32_t>(data_[pos_ + i]);
  pos_ += 4;
  return v;
}

std::optional<ByteView> Reader::bytes(std::size_t n) {
  if (!take(n)) return std::nullopt;
  auto v = data_.subspan(pos_, n);
  pos_ += n;
  return v;
}

ByteView Reader::rest() {
  auto v = data_.subspan(pos_);
  pos_ = data_.size();
  return v;
}

bool Reader::skip(std::size_t n) {
  if (!take(n)) return false;
  pos_ += n;
  return true;
}

std::optional<std::string_view> Reader::cstring() {
  if (!ok_) return std::nullopt;
  for (std::size_t i = pos_; i < data_.size(); ++i) {
    if (data_[i] == std::byte{0}) {
      auto s = asChars(data_.subspan(pos_, i - pos_));
      pos_ = i + 1;
      return s;
    }
  }
  ok_ = false;
  return std::nullopt;
}

bool Writer::u8(std::uint8_t v) {
  if (!fits(1)) return false;
  out_.push_back(std::byte{v});
  return true;
}

bool Writer::u16(std::uint16_t v) {
  if (!fits(2)) return false;
  out_.push_back(std::byte(v >> 8));
  out_.push_back(std::byte(v & 0xff));
  return true;
}

bool Writer::u32(std::uint32_t v) {
  if (!fits(4)) return false;
  for (int shift = 24; shift >= 0; shift -= 8) out_.push_back(std::byte((v >> shift) & 0xff));
  return true;
}

bool Writer::bytes(ByteView b) {
  if (!fits(b.size())) return false;
  out_.insert(out_.end(), b.begin(), b.end());
  return true;
}

bool Writer::zeros(std::size_t n) {
  if (!fits(n)) return false;
  out_.insert(out_.end(), n, std::byte{0});
  return true;
}

bool Writer::patchU16(std::size_t offset, std::uint16_t v) {
  if (!ok_ || offset > out_.size() || out_.size() - offset < 2) {
    ok_ = false;
    return false;
  }
  out_[offset] = std::byte(v >> 8);
  out_[offset + 1] = std::byte(v & 0xff);
  return true;
}

}  // namespace drover::wire
