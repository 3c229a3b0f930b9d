#include "dhcp/wire/message.hpp"

#include <algorithm>
#include <array>

namespace drover::dhcp::wire {
namespace {

using drover::wire::Reader;
using drover::wire::Writer;

// Options whose shape the server relies on: a wrong length discards the datagram.
constexpr std::array<std::uint8_t, 6> kStrictOptions{opt::kRequestedAddress, opt::kLeaseTime,
                                                     opt::kOverload,         opt::kMessageType,
                                                     opt::kServerId,         opt::kMaxMessageSize};

constexpr std::uint8_t kOverloadFile = 1;
constexpr std::uint8_t kOverloadSname = 2;

// Parses one option area. `in_overload` is true for file/sname, where 52 must not appear.
Status parseArea(ByteView area, Options& out, bool in_overload) {
  Reader r(area);
  while (!r.atEnd()) {
    const std::uint8_t code = *r.u8();
    if (code == opt::kPad) continue;
    if (code == opt::kEnd) return {};
    auto len = r.u8();
    if (!len) return makeError("option_overrun", "option code without a length");
    auto value = r.bytes(*len);
    if (!value) return makeError("option_overrun", "option runs past the end of its field");
    if (code == opt::kOverload && in_overload)
      return makeError("overload_loop", "option 52 inside an overloaded field");
    out.append(code, *value);
  }
  return {};
}

std::string fieldString(ByteView field) {
  auto chars = drover::wire::asChars(field);
  return std::string(chars.substr(0, chars.find('\0')));
}

std::size_t chunkedSize(const Option& o) {
  const std::size_t pieces = o.data.empty() ? 1 : (o.data.size() + 254) / 255;
  return o.data.size() + 2 * pieces;
}

void writeChunked(Writer& w, const Option& o) {
  std::size_t pos = 0;
  do {
    const std::size_t n = std::min<std::size_t>(255, o.data.size() - pos);
    w.u8(o.code);
    w.u8(static_cast<std::uint8_t>(n));
    w.bytes(ByteView(o.data).subspan(pos, n));
    pos += n;
  } while (pos < o.data.size());
}

struct Area {
  std::size_t capacity = 0;  // bytes for options, End excluded
  std::size_t used = 0;
  std::vector<const Option*> options;

  bool take(const Option* o) {
    const std::size_t n = chunkedSize(*o);
    if (n > capacity - used) return false;
    used += n;
    options.push_back(o);
    return true;
  }
};

struct Layout {
  Area main, file, sname;
  std::vector<std::uint8_t> skipped;
};

Layout place(const std::vector<const Option*>& order, std::size_t main_capacity, bool use_file,
             bool use_sname) {
  Layout l;
  l.main.capacity = main_capacity;
  l.file.capacity = use_file ? kFileSize - 1 : 0;
  l.sname.capacity = use_sname ? kSnameSize - 1 : 0;
  for (const Option* o : order) {
    if (!l.main.take(o) && !l.file.take(o) && !l.sname.take(o)) l.skipped.push_back(o->code);
  }
  return l;
}

void writeField(Writer& w, const Area& area, bool overloaded, const std::string& text,
                std::size_t size) {
  const std::size_t start = w.size();
  if (overloaded) {
    for (const Option* o : area.options) writeChunked(w, *o);
    w.u8(opt::kEnd);
  } else {
    w.chars(text);
  }
  w.zeros(size - (w.size() - start));
}

}  // namespace

std::string_view messageTypeName(std::uint8_t type) {
  static constexpr std::array<std::string_view, 9> kNames{
      "unknown", "discover", "offer", "request", "decline", "ack", "nak", "release", "inform"};
  return type < kNames.size() ? kNames[type] : kNames[0];
}

MacAddress Message::mac() const {
  std::array<std::uint8_t, 6> o{};
  std::copy_n(chaddr.begin(), 6, o.begin());
  return MacAddress(o);
}

void Message::setMac(const MacAddress& m) {
  chaddr.fill(0);
  std::copy(m.octets().begin(), m.octets().end(), chaddr.begin());
  htype = 1;
  hlen = 6;
}

bool Message::zeroChaddr() const {
  const auto n = std::min<std::size_t>(hlen, kChaddrSize);
  return std::all_of(chaddr.begin(), chaddr.begin() + static_cast<std::ptrdiff_t>(n),
                     [](std::uint8_t b) { return b == 0; });
}

Result<Message> decode(ByteView datagram) {
  if (datagram.size() > kMaxMessageSize)
    return makeError("oversized", "datagram larger than " + std::to_string(kMaxMessageSize));
  if (datagram.size() < kBootpHeaderSize + kCookieSize)
    return makeError("truncated", "shorter than the BOOTP header and cookie");

  Reader r(datagram);
  Message m;
  m.op = *r.u8();
  m.htype = *r.u8();
  m.hlen = *r.u8();
  m.hops = *r.u8();
  m.xid = *r.u32();
  m.secs = *r.u16();
  m.flags = *r.u16();
  m.ciaddr = Ipv4Address(*r.u32());
  m.yiaddr = Ipv4Address(*r.u32());
  m.siaddr = Ipv4Address(*r.u32());
  m.giaddr = Ipv4Address(*r.u32());
  auto chaddr = *r.bytes(kChaddrSize);
  for (std::size_t i = 0; i < kChaddrSize; ++i)
    m.chaddr[i] = std::to_integer<std::uint8_t>(chaddr[i]);
  const ByteView sname = *r.bytes(kSnameSize);
  const ByteView file = *r.bytes(kFileSize);
  if (*r.u32() != kMagicCookie) return makeError("bad_cookie", "magic cookie is not 99.130.83.99");
  if (m.hlen > kChaddrSize) return makeError("bad_hlen", "hlen larger than chaddr");

  if (auto st = parseArea(r.rest(), m.options, false); !st) return st.error();
  std::uint8_t overload = 0;
  if (m.options.has(opt::kOverload)) {
    auto v = m.options.u8(opt::kOverload);
    if (!v || *v < 1 || *v > 3) return makeError("bad_overload", "option 52 is not 1, 2 or 3");
    overload = *v;
    m.options.erase(opt::kOverload);
  }
  // RFC 3396 5: options field, then file, then sname.
  if (overload & kOverloadFile) {
    if (auto st = parseArea(file, m.options, true); !st) return st.error();
  } else {
    m.file = fieldString(file);
  }
  if (overload & kOverloadSname) {
    if (auto st = parseArea(sname, m.options, true); !st) return st.error();
  } else {
    m.sname = fieldString(sname);
  }
  for (auto code : kStrictOptions) {
    auto v = m.options.get(code);
    if (v && !lengthValid(*findOption(code), v->size()))
      return makeError("bad_option_length", "option " + std::to_string(code) + " has a bad length");
  }
  return m;
}

Result<Bytes> encode(const Message& m, std::size_t max_size, EncodeReport* report) {
  if (m.sname.size() > kSnameSize) return makeError("field_too_long", "sname longer than 64");
  if (m.file.size() > kFileSize) return makeError("field_too_long", "file longer than 128");
  max_size = std::clamp(max_size, kDefaultMaxReply, kMaxUdpPayload);

  // 53 first, 82 last (RFC 3046 2.1), 52 is ours to decide.
  std::vector<const Option*> order;
  for (const auto& o : m.options.items())
    if (o.code == opt::kMessageType) order.push_back(&o);
  for (const auto& o : m.options.items())
    if (o.code != opt::kMessageType && o.code != opt::kRelayAgentInfo && o.code != opt::kOverload &&
        o.code != opt::kPad && o.code != opt::kEnd)
      order.push_back(&o);
  for (const auto& o : m.options.items())
    if (o.code == opt::kRelayAgentInfo) order.push_back(&o);

  const std::size_t fixed = kBootpHeaderSize + kCookieSize + 1;  // + End
  const std::size_t main_capacity = max_size - fixed;
  Layout layout = place(order, main_capacity, false, false);
  const bool can_file = m.file.empty();
  const bool can_sname = m.sname.empty();
  if (!layout.skipped.empty() && (can_file || can_sname))
    layout = place(order, main_capacity - 3, can_file, can_sname);  // 3: option 52 itself
  if (m.options.has(opt::kMessageType) && std::find(layout.skipped.begin(), layout.skipped.end(),
                                                    opt::kMessageType) != layout.skipped.end())
    return makeError("too_big", "option 53 does not fit");
  const bool in_file = !layout.file.options.empty();
  const bool in_sname = !layout.sname.options.empty();

  Bytes out;
  out.reserve(std::max(kMinBootpSize, fixed + layout.main.used + 3));
  Writer w(out, max_size);
  w.u8(m.op);
  w.u8(m.htype);
  w.u8(m.hlen);
  w.u8(m.hops);
  w.u32(m.xid);
  w.u16(m.secs);
  w.u16(m.flags);
  w.u32(m.ciaddr.value());
  w.u32(m.yiaddr.value());
  w.u32(m.siaddr.value());
  w.u32(m.giaddr.value());
  for (auto b : m.chaddr) w.u8(b);
  writeField(w, layout.sname, in_sname, m.sname, kSnameSize);
  writeField(w, layout.file, in_file, m.file, kFileSize);
  w.u32(kMagicCookie);
  if (in_file || in_sname)
    writeChunked(w, Option{opt::kOverload, Bytes{std::byte((in_file ? kOverloadFile : 0) |
                                                           (in_sname ? kOverloadSname : 0))}});
  for (const Option* o : layout.main.options) writeChunked(w, *o);
  w.u8(opt::kEnd);
  if (w.size() < kMinBootpSize) w.zeros(kMinBootpSize - w.size());
  if (!w.ok()) return makeError("too_big", "message does not fit");  // broken invariant guard
  if (report != nullptr) {
    report->skipped = std::move(layout.skipped);
    report->overloaded = in_file || in_sname;
  }
  return out;
}

std::size_t maxReplySize(const Message& request) {
  auto v = request.options.u16(opt::kMaxMessageSize);
  if (!v || *v < kMinMaxMessageSize) return kDefaultMaxReply;
  return std::size_t{*v} - kIpUdpHeaders;
}

}  // namespace drover::dhcp::wire
