// Fuzzes request/option parsing and negotiation: any datagram either parses or gives an
// error; a parsed packet re-encodes to bytes that parse to the same value (round trip);
// negotiation never yields values outside the limits.
#include <cstdint>
#include <cstdlib>
#include <variant>

#include "tftp/wire/options.hpp"
#include "tftp/wire/packet.hpp"

using namespace drover::tftp::wire;

namespace {

void check(bool cond) {
  if (!cond) std::abort();
}

void checkRequest(const Request& req) {
  Bytes again;
  encodeRequest(req, again);
  auto reparsed = parseRequest(again);
  check(reparsed.ok());
  check(*reparsed == req);
  OptionLimits limits;
  for (auto mode : {Mode::Octet, Mode::Netascii}) {
    auto n = negotiate(req.options, mode, 12345, limits);
    check(n.blksize >= kMinBlksize && n.blksize <= limits.max_blksize);
    check(n.windowsize >= 1 && n.windowsize <= limits.max_windowsize);
    check(n.oack.size() <= req.options.size());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ByteView in(reinterpret_cast<const std::byte*>(data), size);
  auto p = parsePacket(in);
  if (!p) return 0;
  if (auto* req = std::get_if<Request>(&*p)) {
    check(!req->filename.empty() && req->filename.size() <= kMaxFilename);
    check(req->options.size() <= kMaxOptions);
    checkRequest(*req);
  } else if (auto* oack = std::get_if<Oack>(&*p)) {
    Bytes again;
    encodeOack(oack->options, again);
    auto reparsed = parsePacket(again);
    check(reparsed.ok() && std::get<Oack>(*reparsed) == *oack);
  } else if (auto* ack = std::get_if<Ack>(&*p)) {
    Bytes again;
    encodeAck(ack->block, again);
    check(again.size() == 4 && again == Bytes(in.begin(), in.end()));
  }
  return 0;
}
