// Hardware inventory from /sys and /proc under a root path (tests pass captured trees).
// The JSON it produces is the body of POST /v1/agent/register (docs/api.md).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace drover::agent {

struct DiskFacts {
  std::string name;           // vda, sda, nvme0n1
  std::uint64_t size_bytes = 0;
  std::string model;
  std::string serial;         // device/serial, else serial (virtio), wwid, device/wwid
  bool rotational = false;
  bool removable = false;
};

struct NicFacts {
  std::string name;
  std::string mac;
  std::string driver;         // basename of device/driver link; empty for virtual NICs
  bool link = false;          // carrier == 1 (operstate up when carrier is unreadable)
  bool physical = false;      // has a device/ link
};

struct Facts {
  std::string mac;            // MAC of the boot NIC: first physical NIC with link, else first
  std::string uuid;           // SMBIOS product_uuid, lowercase
  std::string arch;           // bios | efi-x64 | efi-arm64
  std::string cpu_model;
  int cpu_count = 0;
  std::uint64_t memory_bytes = 0;
  std::vector<DiskFacts> disks;
  std::vector<NicFacts> nics;
  std::string smbios_vendor, smbios_product, smbios_serial, smbios_uuid;
};

struct InventoryOptions {
  bool include_virtual_disks = false;  // loop*, ram*, dm-*, zram*, sr*, md* (skipped by default)
  std::string boot_mac;                // preferred boot NIC MAC (e.g. from BOOTIF=)
};

// Reads <root>/proc/cpuinfo, <root>/proc/meminfo, <root>/sys/block, <root>/sys/class/net,
// <root>/sys/class/dmi/id, <root>/sys/firmware/efi. Missing files leave fields empty:
// inventory never fails, it reports what it finds.
Facts collectFacts(const std::filesystem::path& root, const InventoryOptions& opt = {});

nlohmann::json factsToJson(const Facts& f);

// First line of a small sysfs/procfs file, trailing whitespace trimmed; "" if unreadable.
std::string readSysLine(const std::filesystem::path& p);

}  // namespace drover::agent
