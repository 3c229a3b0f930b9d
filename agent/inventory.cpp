#include "agent/inventory.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <system_error>

namespace drover::agent {
namespace fs = std::filesystem;

namespace {

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::uint64_t toU64(const std::string& s) {
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') break;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

// Sorted directory entry names; empty when the directory is missing.
std::vector<std::string> listDir(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    names.push_back(it->path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool isVirtualDisk(const std::string& name) {
  for (const char* p : {"loop", "ram", "dm-", "zram", "sr", "md", "nbd", "fd"}) {
    if (name.rfind(p, 0) == 0) return true;
  }
  return false;
}

void readCpu(const fs::path& root, Facts& f) {
  std::ifstream in(root / "proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    auto key = trim(line.substr(0, colon));
    auto val = trim(line.substr(colon + 1));
    if (key == "processor") {
      ++f.cpu_count;
    } else if (f.cpu_model.empty() && (key == "model name" || key == "Model" || key == "cpu model")) {
      f.cpu_model = val;
    }
  }
}

void readMemory(const fs::path& root, Facts& f) {
  std::ifstream in(root / "proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("MemTotal:", 0) == 0) {
      std::istringstream ss(line.substr(9));
      std::uint64_t kb = 0;
      ss >> kb;
      f.memory_bytes = kb * 1024;
      return;
    }
  }
}

void readDisks(const fs::path& root, const InventoryOptions& opt, Facts& f) {
  const fs::path block = root / "sys/block";
  for (const auto& name : listDir(block)) {
    if (!opt.include_virtual_disks && isVirtualDisk(name)) continue;
    const fs::path d = block / name;
    DiskFacts disk;
    disk.name = name;
    disk.size_bytes = toU64(readSysLine(d / "size")) * 512;  // always 512-byte sectors
    disk.model = readSysLine(d / "device/model");
    disk.serial = readSysLine(d / "device/serial");
    if (disk.serial.empty()) disk.serial = readSysLine(d / "serial");  // virtio_blk
    if (disk.serial.empty()) disk.serial = readSysLine(d / "wwid");
    if (disk.serial.empty()) disk.serial = readSysLine(d / "device/wwid");
    disk.rotational = readSysLine(d / "queue/rotational") == "1";
    disk.removable = readSysLine(d / "removable") == "1";
    f.disks.push_back(std::move(disk));
  }
}

void readNics(const fs::path& root, Facts& f) {
  const fs::path net = root / "sys/class/net";
  for (const auto& name : listDir(net)) {
    if (name == "lo") continue;
    const fs::path n = net / name;
    NicFacts nic;
    nic.name = name;
    nic.mac = lower(readSysLine(n / "address"));
    std::error_code ec;
    nic.physical = fs::exists(n / "device", ec);
    auto drv = fs::read_symlink(n / "device/driver", ec);
    if (!ec) nic.driver = drv.filename().string();
    const auto carrier = readSysLine(n / "carrier");
    nic.link = carrier.empty() ? readSysLine(n / "operstate") == "up" : carrier == "1";
    f.nics.push_back(std::move(nic));
  }
}

void readSmbios(const fs::path& root, Facts& f) {
  const fs::path dmi = root / "sys/class/dmi/id";
  f.smbios_vendor = readSysLine(dmi / "sys_vendor");
  f.smbios_product = readSysLine(dmi / "product_name");
  f.smbios_serial = readSysLine(dmi / "product_serial");
  f.smbios_uuid = lower(readSysLine(dmi / "product_uuid"));
  f.uuid = f.smbios_uuid;
}

void readArch(const fs::path& root, Facts& f) {
  std::error_code ec;
  if (!fs::exists(root / "sys/firmware/efi", ec)) {
    f.arch = "bios";
    return;
  }
#if defined(__aarch64__)
  f.arch = "efi-arm64";
#else
  f.arch = "efi-x64";
#endif
}

std::string pickBootMac(const Facts& f, const std::string& preferred) {
  if (!preferred.empty()) return lower(preferred);
  for (const auto& n : f.nics) {
    if (n.physical && n.link && !n.mac.empty()) return n.mac;
  }
  for (const auto& n : f.nics) {
    if (n.physical && !n.mac.empty()) return n.mac;
  }
  return f.nics.empty() ? std::string() : f.nics.front().mac;
}

}  // namespace

std::string readSysLine(const fs::path& p) {
  std::ifstream in(p);
  std::string line;
  if (!in || !std::getline(in, line)) return {};
  return trim(line);
}

Facts collectFacts(const fs::path& root, const InventoryOptions& opt) {
  Facts f;
  readCpu(root, f);
  readMemory(root, f);
  readDisks(root, opt, f);
  readNics(root, f);
  readSmbios(root, f);
  readArch(root, f);
  f.mac = pickBootMac(f, opt.boot_mac);
  return f;
}

nlohmann::json factsToJson(const Facts& f) {
  using nlohmann::json;
  json disks = json::array();
  for (const auto& d : f.disks) {
    disks.push_back({{"name", d.name}, {"size_bytes", d.size_bytes}, {"model", d.model},
                     {"serial", d.serial}, {"rotational", d.rotational}});
  }
  json nics = json::array();
  for (const auto& n : f.nics) {
    nics.push_back({{"name", n.name}, {"mac", n.mac}, {"driver", n.driver}, {"link", n.link}});
  }
  return json{{"mac", f.mac},
              {"uuid", f.uuid},
              {"arch", f.arch},
              {"cpu", {{"model", f.cpu_model}, {"count", f.cpu_count}}},
              {"memory_bytes", f.memory_bytes},
              {"disks", std::move(disks)},
              {"nics", std::move(nics)},
              {"smbios",
               {{"vendor", f.smbios_vendor},
                {"product", f.smbios_product},
                {"serial", f.smbios_serial},
                {"uuid", f.smbios_uuid}}}};
}

}  // namespace drover::agent
