#include "agent/installed_root.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <link.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "agent/inventory.hpp"
#include "agent/root_files.hpp"
#include "agent/seed.hpp"
#include "common/fd.hpp"
#include "common/log.hpp"

namespace drover::agent {
namespace fs = std::filesystem;

MountedRoot::~MountedRoot() {
  if (!dir_.empty()) {
    ::sync();
    ::umount2(dir_.c_str(), 0);
  }
}

namespace {

struct Partition {
  std::string name;
  std::uint64_t size = 0;
  std::string dev;  // "major:minor"
};

std::vector<Partition> partitions(const std::string& disk) {
  std::vector<Partition> out;
  std::error_code ec;
  const fs::path dir = fs::path("/sys/block") / disk;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const auto n = it->path().filename().string();
    if (n.size() <= disk.size() || n.rfind(disk, 0) != 0) continue;
    Partition p{n, 0, readSysLine(it->path() / "dev")};
    p.size = std::strtoull(readSysLine(it->path() / "size").c_str(), nullptr, 10) * 512;
    out.push_back(p);
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.size > b.size; });
  return out;
}

// /dev/<name>, created from major:minor when devtmpfs did not make it.
std::string devNode(const Partition& p) {
  const std::string path = "/dev/" + p.name;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) return path;
  unsigned maj = 0, min = 0;
  if (std::sscanf(p.dev.c_str(), "%u:%u", &maj, &min) == 2) {
    ::mknod(path.c_str(), S_IFBLK | 0600, makedev(maj, min));
  }
  return path;
}

}  // namespace

Result<MountedRoot> mountInstalledRoot(const std::string& disk, const fs::path& mountpoint) {
  auto log = log::get("agent");
  const std::string dev = "/dev/" + disk;
  {
    UniqueFd fd(::open(dev.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return makeError("mount", "open " + dev + ": " + std::strerror(errno));
    if (::ioctl(fd.get(), BLKRRPART) != 0) {
      log->warn("AGENT_RRPART_FAILED disk={} reason=\"{}\"", disk, std::strerror(errno));
    }
  }
  std::vector<Partition> parts;
  for (int i = 0; i < 50 && parts.empty(); ++i) {  // udev-less: sysfs shows them shortly
    parts = partitions(disk);
    if (parts.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::error_code ec;
  fs::create_directories(mountpoint, ec);
  for (const auto& p : parts) {
    const std::string node = devNode(p);
    for (const char* type : {"ext4", "xfs", "btrfs"}) {
      // The image's device nodes and set-uid files mean nothing to the boot environment.
      if (::mount(node.c_str(), mountpoint.c_str(), type, MS_NODEV | MS_NOSUID, nullptr) != 0)
        continue;
      if (fs::exists(mountpoint / "etc/os-release", ec)) {
        log->info("AGENT_ROOT_MOUNTED device={} type={} at={}", node, type, mountpoint.string());
        return MountedRoot(mountpoint, node);
      }
      ::umount2(mountpoint.c_str(), 0);
      break;
    }
  }
  return makeError("mount", "no partition of " + dev + " holds a root filesystem (etc/os-release)");
}

nlohmann::json agentConfigToJson(const AgentConfig& c) {
  return {{"api", c.api}, {"ca", c.ca_fingerprint}, {"credential", c.credential}, {"node", c.node}};
}

Result<AgentConfig> loadAgentConfig(const fs::path& file) {
  std::ifstream in(file);
  if (!in) return makeError("config", "cannot read " + file.string());
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (!j.is_object()) return makeError("config", file.string() + " is not a JSON object");
  AgentConfig c;
  c.api = j.value("api", "");
  c.ca_fingerprint = j.value("ca", "");
  c.credential = j.value("credential", "");
  c.node = j.value("node", "");
  if (c.api.empty() || c.credential.empty()) {
    return makeError("config", file.string() + " lacks api or credential");
  }
  return c;
}

std::string renderUnit() {
  const std::string dir = std::string("/") + kAgentLibDir;
  return "[Unit]\n"
         "Description=Drover agent: start the container runtime and join the cluster\n"
         "Wants=network-online.target\n"
         "After=network-online.target cloud-final.service\n"
         "\n"
         "[Service]\n"
         "Type=simple\n"
         "ExecStart=" +
         dir + "/ld.so --library-path " + dir + " " + dir + "/drover-agent join --config /" +
         kAgentConfigPath +
         "\n"
         "Restart=on-failure\n"
         "RestartSec=10\n"
         "\n"
         "[Install]\n"
         "WantedBy=multi-user.target\n";
}

namespace {

int collectObject(dl_phdr_info* info, std::size_t, void* data) {
  auto* out = static_cast<std::vector<std::string>*>(data);
  if (info->dlpi_name && info->dlpi_name[0] == '/') out->push_back(info->dlpi_name);
  return 0;
}

}  // namespace

Status installAgentInto(const fs::path& root_path, const AgentConfig& cfg) {
  // Every path resolved inside the root (agent/root_files.hpp): the image's symlinks cannot
  // make these writes land in the boot environment.
  auto fail = [](const Error& e) { return makeError("install_agent", e.message); };
  auto root = RootDir::open(root_path);
  if (!root) return fail(root.error());
  auto lib = root->makeDirs(kAgentLibDir);
  if (!lib) return fail(lib.error());
  auto etc = root->makeDirs("etc/drover");
  if (!etc) return fail(etc.error());
  auto units = root->makeDirs("etc/systemd/system");
  if (!units) return fail(units.error());
  auto wants = root->makeDirs("etc/systemd/system/multi-user.target.wants");
  if (!wants) return fail(wants.error());

  std::vector<std::string> objects;
  ::dl_iterate_phdr(collectObject, &objects);
  for (const auto& o : objects) {
    std::error_code ec;
    const fs::path src = fs::canonical(o, ec);
    if (ec) return makeError("install_agent", "resolve " + o + ": " + ec.message());
    struct stat st {};
    const unsigned mode = ::stat(src.c_str(), &st) == 0 ? (st.st_mode & 0755) : 0755;
    // The dynamic loader is what the unit runs: give it a fixed name.
    const std::string base = fs::path(o).filename().string();
    const bool loader = base.rfind("ld-linux", 0) == 0;
    if (auto st2 = RootDir::copyFile(src, lib->get(), loader ? "ld.so" : base, mode); !st2) {
      return fail(st2.error());
    }
  }
  if (auto st = RootDir::copyFile("/proc/self/exe", lib->get(), "drover-agent", 0755); !st) {
    return fail(st.error());
  }
  if (auto st =
          RootDir::writeFile(etc->get(), "agent.json", agentConfigToJson(cfg).dump(2) + "\n", 0600);
      !st) {
    return fail(st.error());
  }
  if (auto st = RootDir::writeFile(units->get(), kUnitName, renderUnit(), 0644); !st) {
    return fail(st.error());
  }
  if (auto st = RootDir::symlink(wants->get(), kUnitName,
                                 std::string("/etc/systemd/system/") + kUnitName);
      !st) {
    return makeError("install_agent", "enable unit: " + st.error().message);
  }
  return {};
}

}  // namespace drover::agent
