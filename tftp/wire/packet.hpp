// TFTP packet codec (RFC 1350, option extension RFC 2347). Pure: bytes in, values out and
// back; no sockets, no files, no logging. Everything that arrives from the network goes
// through parsePacket(), which either returns a complete packet or a named error and never
// reads past the datagram.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/result.hpp"
#include "common/wire.hpp"

namespace drover::tftp::wire {

using drover::wire::ByteView;
using drover::wire::Bytes;

enum class Opcode : std::uint16_t { Rrq = 1, Wrq = 2, Data = 3, Ack = 4, Error = 5, Oack = 6 };

// RFC 1350 error codes, plus 8 from RFC 2347 (option negotiation refused).
enum class ErrorCode : std::uint16_t {
  NotDefined = 0,
  FileNotFound = 1,
  AccessViolation = 2,
  DiskFull = 3,
  IllegalOperation = 4,
  UnknownTid = 5,
  FileExists = 6,
  NoSuchUser = 7,
  OptionRefused = 8,
};

enum class Mode { Octet, Netascii, Mail };

// Limits, named with their source.
inline constexpr std::size_t kDefaultBlksize = 512;          // RFC 1350
inline constexpr std::size_t kMinBlksize = 8;                // RFC 2348
inline constexpr std::size_t kMaxBlksize = 65464;            // RFC 2348
inline constexpr std::size_t kMaxDatagram = 4 + kMaxBlksize; // DATA header + payload
inline constexpr std::size_t kMaxFilename = 255;             // names longer are refused
inline constexpr std::size_t kMaxOptions = 16;               // more is not a real client
inline constexpr std::size_t kMaxErrorMessage = 255;

// One option as sent: the name lower-cased (names are case-insensitive, RFC 2347), the
// value as given.
struct Option {
  std::string name;
  std::string value;
  friend bool operator==(const Option&, const Option&) = default;
};

struct Request {
  Opcode opcode = Opcode::Rrq;  // Rrq or Wrq
  std::string filename;         // raw, as sent (not yet normalised)
  Mode mode = Mode::Octet;
  std::vector<Option> options;  // in the order sent; duplicates already dropped
  friend bool operator==(const Request&, const Request&) = default;
};

struct Data {
  std::uint16_t block = 0;
  ByteView payload;  // view into the parsed datagram
};

struct Ack {
  std::uint16_t block = 0;
  friend bool operator==(const Ack&, const Ack&) = default;
};

struct ErrorPacket {
  ErrorCode code = ErrorCode::NotDefined;
  std::string message;
  friend bool operator==(const ErrorPacket&, const ErrorPacket&) = default;
};

struct Oack {
  std::vector<Option> options;
  friend bool operator==(const Oack&, const Oack&) = default;
};

using Packet = std::variant<Request, Data, Ack, ErrorPacket, Oack>;

// Decodes one datagram. Error codes: "short", "bad_opcode", "no_filename", "no_mode",
// "bad_mode", "bad_filename", "filename_too_long", "bad_option", "too_many_options",
// "trailing_bytes", "bad_error".
Result<Packet> parsePacket(ByteView datagram);

// Decodes a request (RRQ/WRQ) only; other opcodes give "not_request".
Result<Request> parseRequest(ByteView datagram);

std::string_view modeName(Mode mode);

// Encoders. They append to `out` (cleared first) and cannot fail for valid values.
void encodeRequest(const Request& req, Bytes& out);
void encodeData(std::uint16_t block, ByteView payload, Bytes& out);
// Writes the DATA header into the first 4 bytes of `buf` (which must have room); the
// payload is expected right after it. Lets a sender read file data in place.
void writeDataHeader(std::uint16_t block, std::span<std::byte> buf);
void encodeAck(std::uint16_t block, Bytes& out);
void encodeError(ErrorCode code, std::string_view message, Bytes& out);
void encodeOack(const std::vector<Option>& options, Bytes& out);

// Standard message for an error code ("File not found", ...).
std::string_view errorCodeText(ErrorCode code);

}  // namespace drover::tftp::wire
