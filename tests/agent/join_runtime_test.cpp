// Join mode with the real runtime: containerd (own root, state and socket) + runc, an OCI
// archive holding Debian's etcd imported with ctr, an etcd member started by the recipe on
// loopback ports, and a recipe step that writes a key through etcd's JSON gateway.
#include "agent/join.hpp"

#include <cerrno>
#include <csignal>
#include <fstream>
#include <iterator>
#include <thread>

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/installed_root.hpp"
#include "agent/seed.hpp"
#include "tests/agent/test_server.hpp"

namespace drover::agent {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

int freePort() {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(s);
  return ntohs(a.sin_port);
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class JoinRuntime : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (containerd)";
    for (const char* tool : {"/usr/bin/containerd", "/usr/bin/ctr", "/usr/sbin/runc",
                             "/usr/bin/etcd", "/usr/bin/curl"}) {
      if (::access(tool, X_OK) != 0)
        GTEST_SKIP() << tool << " missing (scripts/packages/agent.txt)";
    }
    ASSERT_TRUE(server_.ok());
    id_ = "etcd-" + std::to_string(::getpid());
    rt_.root = tmp_.path() / "root";
    rt_.state = tmp_.path() / "state";
    rt_.socket = tmp_.path() / "state/containerd.sock";
    rt_.ns = "drover-test-" + std::to_string(::getpid());
  }

  void TearDown() override {
    if (containerd_pid_ <= 0) return;
    auto ctr = [&](std::vector<std::string> args) {
      std::vector<std::string> argv = {"ctr", "--address", rt_.socket.string(), "--namespace",
                                       rt_.ns};
      argv.insert(argv.end(), args.begin(), args.end());
      (void)runProcess({argv, {}, (tmp_.path() / "cleanup.log").string()});
    };
    ctr({"tasks", "kill", "-s", "SIGKILL", id_});
    ctr({"tasks", "rm", "-f", id_});
    ctr({"containers", "rm", id_});
    ctr({"images", "rm", "docker.io/drover/etcd:test"});
    ::kill(containerd_pid_, SIGTERM);
    int st = 0;
    ::waitpid(containerd_pid_, &st, 0);
    removeNamespaceCgroups();
  }

  // runc removes the container's cgroup, but the containerd namespace's own group stays
  // behind in every hierarchy (one per controller under cgroup v1); cgroup directories go
  // with rmdir, innermost first, once empty.
  void removeNamespaceCgroups() const {
    const fs::path top = "/sys/fs/cgroup";
    std::vector<fs::path> groups = {top / rt_.ns};
    std::error_code ec;
    // Non-throwing walks: the shim may still be removing a group while they read.
    for (fs::directory_iterator it(top, ec), end; !ec && it != end; it.increment(ec))
      if (it->is_directory(ec)) groups.push_back(it->path() / rt_.ns);
    for (const auto& group : groups) {
      if (!fs::is_directory(group, ec)) continue;
      std::vector<fs::path> dirs;
      for (fs::recursive_directory_iterator it(group, ec), end; !ec && it != end; it.increment(ec))
        if (it->is_directory(ec)) dirs.push_back(it->path());
      dirs.insert(dirs.begin(), group);
      // Innermost first; a group whose last task is still exiting is busy for a moment.
      for (auto it = dirs.rbegin(); it != dirs.rend(); ++it)
        for (int tries = 0; tries < 50 && ::rmdir(it->c_str()) != 0 && errno == EBUSY; ++tries)
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  test::TempDir tmp_;
  test::TestServer server_;
  RuntimePaths rt_;
  std::string id_;
  int containerd_pid_ = -1;
};

TEST_F(JoinRuntime, EtcdMemberJoinsThroughContainerd) {
  const auto archive = tmp_.path() / "etcd.tar";
  const std::string make = "python3 '" + (test::sourceDir() / "tests/agent/make_oci.py").string() +
                           "' '" + archive.string() +
                           "' docker.io/drover/etcd:test /usr/bin/etcd:/usr/bin/etcd " +
                           "/lib/x86_64-linux-gnu/libc.so.6:/lib/x86_64-linux-gnu/libc.so.6 " +
                           "/lib64/ld-linux-x86-64.so.2:/lib64/ld-linux-x86-64.so.2";
  ASSERT_EQ(std::system(make.c_str()), 0);

  const int client = freePort(), peer = freePort();
  const std::string curl_url = "http://127.0.0.1:" + std::to_string(client);
  const std::string peer_url = "http://127.0.0.1:" + std::to_string(peer);
  const json recipe = {
      {"runtime", "containerd"},
      {"recipe", "etcd-member"},
      {"env", {{"CLIENT", curl_url}, {"PEER", peer_url}}},
      {"steps",
       {{{"name", "import etcd"}, {"ctr_import", archive.string()}},
        {{"name", "start etcd"},
         {"ctr_run",
          {{"image", "docker.io/drover/etcd:test"},
           {"id", id_},
           {"net_host", true},
           {"args",
            {"/usr/bin/etcd", "--name", "${DROVER_NODE}", "--data-dir", "/tmp/etcd",
             "--listen-client-urls", "${CLIENT}", "--advertise-client-urls", "${CLIENT}",
             "--listen-peer-urls", "${PEER}", "--initial-advertise-peer-urls", "${PEER}",
             "--initial-cluster", "${DROVER_NODE}=${PEER}"}}}}},
        {{"name", "announce"},
         {"run",
          {"sh", "-c",
           "for i in $(seq 1 150); do curl -sf -X POST ${CLIENT}/v3/kv/put "
           "-d '{\"key\":\"ZHJvdmVy\",\"value\":\"am9pbmVk\"}' && exit 0; sleep 0.2; done; exit "
           "1"}}}}}};
  server_.setRoutes({{"GET /v1/agent/join", {{{"json", recipe}}}},
                     {"POST /v1/agent/events", {{{"json", json::object()}}}},
                     {"POST /v1/agent/heartbeat", {{{"json", json::object()}}}}});
  AgentConfig cfg{server_.url(""), "", "cred", "master-1"};
  ASSERT_TRUE(writeFileDurably(tmp_.path() / "agent.json", agentConfigToJson(cfg).dump()).ok());

  JoinOptions opt;
  opt.config = tmp_.path() / "agent.json";
  opt.marker = tmp_.path() / "joined";
  opt.runtime = rt_;
  opt.max_heartbeats = 1;
  opt.on_runtime_started = [this](int pid) { containerd_pid_ = pid; };
  auto st = runJoin(opt);
  ASSERT_TRUE(st.ok()) << st.error().message << "\n" << slurp(rt_.state / "containerd.log");
  ASSERT_GT(containerd_pid_, 0);
  EXPECT_TRUE(fs::exists(opt.marker));

  // The key the recipe wrote is in the etcd member that runs in the container.
  const auto out = tmp_.path() / "range.json";
  auto rc = runProcess(
      {{"curl", "-sf", "-X", "POST", curl_url + "/v3/kv/range", "-d", R"({"key":"ZHJvdmVy"})"},
       {},
       out.string()});
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(*rc, 0);
  EXPECT_NE(slurp(out).find("am9pbmVk"), std::string::npos) << slurp(out);

  // The timeline: the runtime, each step of the recipe by name, then joined.
  std::vector<std::string> events;
  for (const auto& r : server_.requests()) {
    if (r["path"] != "/v1/agent/events") continue;
    const auto e = json::parse(r["body"].get<std::string>());
    events.push_back(e["phase"].get<std::string>() +
                     (e["phase"] == "join_step" ? ":" + e["message"].get<std::string>() : ""));
  }
  EXPECT_EQ(events,
            (std::vector<std::string>{"runtime_started", "join_step:import etcd",
                                      "join_step:start etcd", "join_step:announce", "joined"}));
}

}  // namespace
}  // namespace drover::agent
