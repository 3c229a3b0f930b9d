#include "tftp/wire/packet.hpp"

#include <algorithm>

namespace drover::tftp::wire {
namespace {

using drover::wire::Reader;
using drover::wire::Writer;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  });
  return out;
}

bool allZero(ByteView b) {
  return std::all_of(b.begin(), b.end(), [](std::byte x) { return x == std::byte{0}; });
}

// name\0value\0 pairs up to the end of the datagram. Trailing NUL padding (sent by some
// firmware) is ignored; anything else that does not form a pair rejects the datagram.
Result<std::vector<Option>> parseOptions(ByteView datagram, Reader& r) {
  std::vector<Option> options;
  std::size_t seen = 0;
  while (!r.atEnd()) {
    if (allZero(datagram.subspan(r.position()))) break;
    auto name = r.cstring();
    auto value = name ? r.cstring() : std::nullopt;
    if (!name || !value || name->empty()) return makeError("bad_option", "option is not name\\0value\\0");
    if (++seen > kMaxOptions) return makeError("too_many_options", "more options than any client sends");
    auto key = lower(*name);
    // Duplicates: the first one counts.
    if (std::none_of(options.begin(), options.end(), [&](const Option& o) { return o.name == key; }))
      options.push_back(Option{std::move(key), std::string(*value)});
  }
  return options;
}

Result<Request> parseRequestBody(ByteView datagram, Opcode op, Reader& r) {
  Request req;
  req.opcode = op;
  auto filename = r.cstring();
  if (!filename) return makeError("no_filename", "filename is not NUL-terminated");
  if (filename->empty()) return makeError("bad_filename", "empty filename");
  if (filename->size() > kMaxFilename) return makeError("filename_too_long", "filename too long");
  auto mode = r.cstring();
  if (!mode) return makeError("no_mode", "mode is not NUL-terminated");
  auto m = lower(*mode);
  if (m == "octet") {
    req.mode = Mode::Octet;
  } else if (m == "netascii") {
    req.mode = Mode::Netascii;
  } else if (m == "mail") {
    req.mode = Mode::Mail;
  } else {
    return makeError("bad_mode", "unknown transfer mode");
  }
  req.filename = std::string(*filename);
  auto options = parseOptions(datagram, r);
  if (!options) return options.error();
  req.options = std::move(*options);
  return req;
}

void writeOptions(Writer& w, const std::vector<Option>& options) {
  for (const auto& o : options) {
    w.chars(o.name);
    w.u8(0);
    w.chars(o.value);
    w.u8(0);
  }
}

}  // namespace

Result<Packet> parsePacket(ByteView datagram) {
  Reader r(datagram);
  auto op = r.u16();
  if (!op) return makeError("short", "datagram shorter than an opcode");
  switch (static_cast<Opcode>(*op)) {
    case Opcode::Rrq:
    case Opcode::Wrq: {
      auto req = parseRequestBody(datagram, static_cast<Opcode>(*op), r);
      if (!req) return req.error();
      return Packet{std::move(*req)};
    }
    case Opcode::Data: {
      auto block = r.u16();
      if (!block) return makeError("short", "DATA without a block number");
      return Packet{Data{*block, r.rest()}};
    }
    case Opcode::Ack: {
      auto block = r.u16();
      if (!block) return makeError("short", "ACK without a block number");
      if (!r.atEnd()) return makeError("trailing_bytes", "ACK longer than 4 bytes");
      return Packet{Ack{*block}};
    }
    case Opcode::Error: {
      auto code = r.u16();
      if (!code) return makeError("short", "ERROR without a code");
      // The message should be NUL-terminated; some clients omit the NUL, so take what is there.
      auto rest = r.rest();
      auto text = drover::wire::asChars(rest);
      if (auto nul = text.find('\0'); nul != std::string_view::npos) text = text.substr(0, nul);
      if (text.size() > kMaxErrorMessage) text = text.substr(0, kMaxErrorMessage);
      return Packet{ErrorPacket{static_cast<ErrorCode>(*code), std::string(text)}};
    }
    case Opcode::Oack: {
      auto options = parseOptions(datagram, r);
      if (!options) return options.error();
      return Packet{Oack{std::move(*options)}};
    }
  }
  return makeError("bad_opcode", "unknown opcode");
}

Result<Request> parseRequest(ByteView datagram) {
  auto p = parsePacket(datagram);
  if (!p) return p.error();
  if (auto* req = std::get_if<Request>(&*p)) return std::move(*req);
  return makeError("not_request", "not a read or write request");
}

std::string_view modeName(Mode mode) {
  switch (mode) {
    case Mode::Octet: return "octet";
    case Mode::Netascii: return "netascii";
    case Mode::Mail: return "mail";
  }
  return "octet";
}

void encodeRequest(const Request& req, Bytes& out) {
  out.clear();
  Writer w(out);
  w.u16(static_cast<std::uint16_t>(req.opcode));
  w.chars(req.filename);
  w.u8(0);
  w.chars(modeName(req.mode));
  w.u8(0);
  writeOptions(w, req.options);
}

void encodeData(std::uint16_t block, ByteView payload, Bytes& out) {
  out.clear();
  Writer w(out);
  w.u16(static_cast<std::uint16_t>(Opcode::Data));
  w.u16(block);
  w.bytes(payload);
}

void writeDataHeader(std::uint16_t block, std::span<std::byte> buf) {
  buf[0] = std::byte{0};
  buf[1] = std::byte{static_cast<std::uint8_t>(Opcode::Data)};
  buf[2] = std::byte{static_cast<std::uint8_t>(block >> 8)};
  buf[3] = std::byte{static_cast<std::uint8_t>(block & 0xff)};
}

void encodeAck(std::uint16_t block, Bytes& out) {
  out.clear();
  Writer w(out);
  w.u16(static_cast<std::uint16_t>(Opcode::Ack));
  w.u16(block);
}

void encodeError(ErrorCode code, std::string_view message, Bytes& out) {
  out.clear();
  Writer w(out);
  w.u16(static_cast<std::uint16_t>(Opcode::Error));
  w.u16(static_cast<std::uint16_t>(code));
  auto text = message.substr(0, std::min(message.size(), kMaxErrorMessage));
  // A NUL inside the message would end it early on the client: cut there.
  if (auto nul = text.find('\0'); nul != std::string_view::npos) text = text.substr(0, nul);
  w.chars(text);
  w.u8(0);
}

void encodeOack(const std::vector<Option>& options, Bytes& out) {
  out.clear();
  Writer w(out);
  w.u16(static_cast<std::uint16_t>(Opcode::Oack));
  writeOptions(w, options);
}

std::string_view errorCodeText(ErrorCode code) {
  switch (code) {
    case ErrorCode::NotDefined: return "Not defined";
    case ErrorCode::FileNotFound: return "File not found";
    case ErrorCode::AccessViolation: return "Access violation";
    case ErrorCode::DiskFull: return "Disk full or allocation exceeded";
    case ErrorCode::IllegalOperation: return "Illegal TFTP operation";
    case ErrorCode::UnknownTid: return "Unknown transfer ID";
    case ErrorCode::FileExists: return "File already exists";
    case ErrorCode::NoSuchUser: return "No such user";
    case ErrorCode::OptionRefused: return "Option negotiation refused";
  }
  return "Not defined";
}

}  // namespace drover::tftp::wire
