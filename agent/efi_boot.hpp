// UEFI boot variables, for sending an installed machine to the network once without a BMC:
// the Boot#### load options (UEFI spec 2.10, 3.1.3 EFI_LOAD_OPTION) are decoded, the entry
// that boots the NIC Drover installed the machine through is picked, and BootNext names it.
//
// The codec is pure (bytes in, values out). The variables are read and written through
// efivarfs (Documentation/filesystems/efivarfs.rst): each file holds the variable's
// attributes (u32, little-endian) followed by its data, and files are immutable until the
// flag is cleared (FS_IOC_SETFLAGS).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/net.hpp"
#include "common/result.hpp"

namespace drover::agent::efi {

// EFI_GLOBAL_VARIABLE: the vendor GUID of Boot####, BootOrder and BootNext.
inline constexpr const char* kGlobalGuid = "8be4df61-93ca-11d2-aa0d-00e098032b8c";
inline constexpr const char* kEfivarsDir = "/sys/firmware/efi/efivars";

// Variable attributes.
inline constexpr std::uint32_t kNonVolatile = 0x1;
inline constexpr std::uint32_t kBootServiceAccess = 0x2;
inline constexpr std::uint32_t kRuntimeAccess = 0x4;
// Load option attributes.
inline constexpr std::uint32_t kLoadOptionActive = 0x1;

struct LoadOption {
  std::uint32_t attributes = 0;
  std::string description{};                // UTF-8 (from UCS-2)
  std::vector<std::uint8_t> device_path{};  // the file path list, up to and with its End node
  std::vector<std::uint8_t> optional_data{};
};

// Decodes EFI_LOAD_OPTION bytes (the variable's data, without efivarfs' attribute prefix).
// Errors (code bad_load_option) name what is wrong: short input, a description without its
// terminating null, a file path list longer than the data, a malformed device path.
Result<LoadOption> decodeLoadOption(std::span<const std::uint8_t> data);
// The inverse, for tests and tools.
std::vector<std::uint8_t> encodeLoadOption(const LoadOption& option);

// One node of a device path (EFI_DEVICE_PATH_PROTOCOL): type, subtype and its data.
struct DevicePathNode {
  std::uint8_t type = 0;
  std::uint8_t subtype = 0;
  std::vector<std::uint8_t> data{};
};
// Walks the first instance of a device path up to its End node. Errors: a node shorter than
// its 4-byte header, longer than what is left, or no End node.
Result<std::vector<DevicePathNode>> parseDevicePath(std::span<const std::uint8_t> path);

// Messaging (3) / MAC address (11): the Ethernet address of the first MAC node, if any.
std::optional<MacAddress> macOf(std::span<const std::uint8_t> device_path);

// How a Boot#### entry relates to a NIC, best first.
enum class NetMatch {
  kNone,         // not this NIC
  kDescription,  // its description says PXE or Network and names the MAC
  kMacNode,      // its device path holds the NIC's MAC address node
  kMacIpv4,      // ... followed by an IPv4 node and no URI node: PXE over IPv4
};
NetMatch matchNetwork(const LoadOption& option, const MacAddress& mac);

struct BootEntry {
  std::uint16_t number = 0;  // Boot####
  LoadOption option{};
};

// The entry to boot `mac` from the network: the best match, active entries first, then the
// lowest number. None: no entry boots that NIC.
std::optional<BootEntry> pickNetworkEntry(const std::vector<BootEntry>& entries,
                                          const MacAddress& mac);

// "Boot0003", "BootNext" with the global GUID: the efivarfs file name.
std::string variableFile(const std::string& name);
std::string bootName(std::uint16_t number);  // "Boot0003"

// Reads every Boot#### variable under `dir` (an efivarfs mount, or a test's directory).
// Entries that do not decode are skipped, logged and counted
// (drover_agent_efi_bad_load_options_total); a directory that cannot be read is an error
// (code efivars).
Result<std::vector<BootEntry>> readBootEntries(const std::filesystem::path& dir);

// Writes BootNext = `number` (attributes NV|BS|RT) and reads it back. The file's immutable
// flag is cleared first when it exists. Errors: efivars (cannot write), boot_next_mismatch
// (read back something else).
Status writeBootNext(const std::filesystem::path& dir, std::uint16_t number);

// BootNext as stored under `dir`, if it is there and well-formed.
std::optional<std::uint16_t> readBootNext(const std::filesystem::path& dir);

// The firmware's SecureBoot variable under `dir`: true when the firmware enforces Secure
// Boot. nullopt when it is not there or malformed (BIOS, no efivarfs).
std::optional<bool> secureBootEnabled(const std::filesystem::path& dir);

}  // namespace drover::agent::efi
