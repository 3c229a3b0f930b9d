// Netascii (RFC 1350, RFC 764): on the wire every line ends in CR LF and a bare CR is sent
// as CR NUL. The encoder is resumable: it fills an output block from a source chunk and
// carries a pending byte across blocks, so a sender can rebuild any block from a
// checkpoint (source offset + state) without holding the whole file.
#pragma once

#include <cstddef>
#include <span>

#include "common/wire.hpp"

namespace drover::tftp::wire {

struct NetasciiState {
  bool pending = false;      // a CR was written and its second byte is still owed
  std::byte second{0};       // '\n' or '\0'
  friend bool operator==(const NetasciiState&, const NetasciiState&) = default;
};

struct NetasciiStep {
  std::size_t consumed = 0;  // source bytes used
  std::size_t produced = 0;  // bytes written to dst
};

// Encodes from `src` into `dst` until dst is full or src is used up.
NetasciiStep netasciiEncode(drover::wire::ByteView src, std::span<std::byte> dst,
                            NetasciiState& state);

// Decodes a whole netascii stream back to local text (CR LF -> LF, CR NUL -> CR).
drover::wire::Bytes netasciiDecode(drover::wire::ByteView src);

}  // namespace drover::tftp::wire
