// EFI_LOAD_OPTION decoding (agent/efi_boot.hpp): never reads past the input, never loops on
// a zero-length device path node, and what decodes re-encodes to the same bytes, matches a
// NIC the same way and yields the same MAC address.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "agent/efi_boot.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace drover::agent::efi;
  // Corpus files are efivarfs files: 4 bytes of attributes, then the load option. Both
  // readings are tried.
  std::span<const std::uint8_t> in(data, size);
  for (auto bytes : {in, size >= 4 ? in.subspan(4) : in}) {
    auto option = decodeLoadOption(bytes);
    if (!option) continue;
    auto again = decodeLoadOption(encodeLoadOption(*option));
    if (!again || again->attributes != option->attributes ||
        again->device_path != option->device_path || again->optional_data != option->optional_data)
      std::abort();
    const auto mac = macOf(option->device_path);
    if (mac != macOf(again->device_path)) std::abort();
    if (mac && matchNetwork(*option, *mac) < NetMatch::kMacNode) std::abort();
  }
  return 0;
}
