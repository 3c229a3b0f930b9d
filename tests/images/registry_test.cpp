// Pulls from a real registry (Debian's docker-registry on 127.0.0.1, TLS from a test CA,
// token auth from a token service the test runs, a second instance with htpasswd Basic auth)
// holding images pushed with skopeo (tests/images/registry_env.py): by tag and by digest, an
// index resolved per architecture, a layer shared by two images fetched once, a tampered
// blob refused, a cut transfer resumed with Range (a proxy that cuts it), credentials and TLS
// refused, and `drover images pull NAME REF` with the credentials file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "common/metrics.hpp"
#include "images/fetch/fetcher.hpp"
#include "images/oci/oci_import.hpp"
#include "images/registry/registry.hpp"
#include "tests/images/shell.hpp"
#include "tests/support/temp_dir.hpp"

namespace drover::images::registry {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

// The registries and their helpers, one set for the whole suite (about 4 s to start).
struct Env {
  pid_t pid = -1;
  json info;
  test::TempDir dir{"registry-test"};
  std::string error;
};
Env* env = nullptr;

std::string missingTool() {
  for (const char* t : {"/usr/bin/docker-registry", "/usr/bin/skopeo", "/usr/bin/python3"})
    if (::access(t, X_OK) != 0) return t;
  if (test::run("/usr/bin/python3 -c 'import jwt, bcrypt, cryptography'") != 0)
    return "python3-jwt, python3-bcrypt or python3-cryptography";
  return "";
}

class RegistryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!missingTool().empty()) return;
    env = new Env;
    const auto start = std::chrono::steady_clock::now();
    const char* src = std::getenv("DROVER_SOURCE_DIR");
    const std::string script = std::string(src ? src : ".") + "/tests/images/registry_env.py";
    int out[2];
    ASSERT_EQ(::pipe(out), 0);
    env->pid = ::fork();
    if (env->pid == 0) {
      ::dup2(out[1], 1);
      ::close(out[0]);
      ::close(out[1]);
      ::execl("/usr/bin/python3", "python3", script.c_str(), env->dir.path().c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(out[1]);
    std::string line;
    for (int i = 0; i < 1200 && line.find('\n') == std::string::npos; ++i) {  // 120 s at most
      pollfd p{out[0], POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buf[4096];
      const ssize_t n = ::read(out[0], buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<std::size_t>(n));
    }
    ::close(out[0]);
    env->info = json::parse(line, nullptr, false);
    if (!env->info.is_object()) env->error = "registry_env.py did not start: " + line;
    std::printf("registry environment ready in %.2f s\n",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  static void TearDownTestSuite() {
    if (env == nullptr) return;
    if (env->pid > 0) {
      ::kill(env->pid, SIGTERM);
      ::waitpid(env->pid, nullptr, 0);
    }
    delete env;
    env = nullptr;
  }
  void SetUp() override {
    if (const auto t = missingTool(); !t.empty())
      GTEST_SKIP() << t << " missing (scripts/packages/images.txt)";
    ASSERT_NE(env, nullptr);
    ASSERT_TRUE(env->error.empty()) << env->error;
  }

  static std::string at(const char* which) { return env->info[which].get<std::string>(); }
  static std::string digest(const char* ref) {
    return env->info["digests"][ref].get<std::string>();
  }
  Options options(bool via_proxy = false) const {
    Options o;
    o.ca_file = (env->dir.path() / "ca.crt").string();
    o.credentials = Credentials{"drover", "s3cret"};
    o.plain_http = via_proxy;
    o.backoff = std::chrono::milliseconds(20);
    return o;
  }
  static Reference ref(const std::string& registry, const std::string& rest) {
    auto r = parseReference(registry + "/" + rest);
    EXPECT_TRUE(r) << r.error().message;
    return *r;
  }
  Result<PullResult> pullTimed(const Reference& r, const Options& o) {
    const auto start = std::chrono::steady_clock::now();
    auto out = pull(r, o, store_, layout_);
    std::printf("pull %s: %.3f s\n", r.str().c_str(),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    return out;
  }
  // The pulled layout imported like import-oci does (no disk); `file` of its rootfs.
  std::string fileInRootfs(const std::string& file) {
    auto r = oci::importImage(layout_, tmp_.path() / "out", tmp_.path() / "work", false);
    EXPECT_TRUE(r) << r.error().message;
    if (!r) return "";
    return test::output("tar -xOf " + r->rootfs_tar.string() + " " + file);
  }
  static json proxyStats() {
    auto body = fetch::fetchSmall("http://" + at("proxy") + "/_stats", "");
    return body ? json::parse(*body, nullptr, false) : json();
  }
  static std::uint64_t failures(const std::string& reason) {
    return static_cast<std::uint64_t>(metrics::Registry::global().valueForTest(
        "registry_pull_failures_total", "reason=\"" + reason + "\""));
  }

  test::TempDir tmp_{"registry-pull"};
  store::BlobStore store_{tmp_.path() / "store"};
  fs::path layout_ = tmp_.path() / "layout";
};

TEST(RegistryReference, Parses) {
  auto r = parseReference("registry.example:5000/team/node:v1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->registry, "registry.example:5000");
  EXPECT_EQ(r->repository, "team/node");
  EXPECT_EQ(r->tag, "v1");
  EXPECT_EQ(r->str(), "registry.example:5000/team/node:v1");
  r = parseReference("localhost/node");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->tag, "latest");
  const std::string d = "sha256:" + std::string(64, 'a');
  r = parseReference("registry.example/node@" + d);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->digest, d);
  EXPECT_EQ(r->ref(), d);
  // Docker Hub, as Docker reads references: no registry host, or docker.io.
  for (const auto& [text, want] : std::vector<std::pair<std::string, std::string>>{
           {"debian", "docker.io/library/debian:latest"},
           {"debian:bookworm", "docker.io/library/debian:bookworm"},
           {"team/node:v1", "docker.io/team/node:v1"},
           {"docker.io/debian:12", "docker.io/library/debian:12"},
           {"index.docker.io/team/node", "docker.io/team/node:latest"},
           {"registry-1.docker.io/library/debian@" + d, "docker.io/library/debian@" + d}}) {
    auto h = parseReference(text);
    ASSERT_TRUE(h) << text << ": " << h.error().message;
    EXPECT_EQ(h->str(), want) << text;
    EXPECT_EQ(h->registry, "docker.io") << "the credentials' key";
    EXPECT_EQ(h->host(), "registry-1.docker.io") << "the API's host";
  }
  EXPECT_EQ(parseReference("localhost:5000/node")->host(), "localhost:5000");
  for (const char* bad :
       {"Node:v1", "team//node", "registry.example/Node:v1", "registry.example/node@sha512:aa",
        "registry.example/node@sha256:zz", "registry.example/node:", "registry.example//node",
        "r.example/node:-x"}) {
    auto b = parseReference(bad);
    ASSERT_FALSE(b) << bad;
    EXPECT_EQ(b.error().code, "bad_reference") << bad;
  }
}

TEST_F(RegistryTest, ByTagThenByDigestWithASharedLayerFetchedOnce) {
  // Through the counting proxy (plain HTTP to it, TLS behind it), so the registry's side of
  // the story is counted too.
  auto v1 = pullTimed(ref(at("proxy"), "node:v1"), options(true));
  ASSERT_TRUE(v1) << v1.error().message;
  EXPECT_EQ(v1->blobs_fetched, 3u) << "config, base layer, app layer";
  EXPECT_EQ(v1->blobs_cached, 0u);
  EXPECT_EQ("sha256:" + v1->manifest_digest.hex(), digest("node:v1"));
  EXPECT_EQ(fileInRootfs("app/one"), "one\n");
  EXPECT_EQ(fileInRootfs("etc/os-release"), "ID=drover-test\n");
  auto image = oci::openImage(layout_, tmp_.path() / "open");
  ASSERT_TRUE(image) << image.error().message;
  const std::string base = "sha256:" + image->layers.at(0).digest.hex();

  auto v2 = pullTimed(ref(at("proxy"), "node:v2"), options(true));
  ASSERT_TRUE(v2) << v2.error().message;
  EXPECT_EQ(v2->blobs_fetched, 2u) << "config and its own layer; the base is stored";
  EXPECT_EQ(v2->blobs_cached, 1u);
  EXPECT_EQ(fileInRootfs("app/two"), "two\n");
  EXPECT_EQ(proxyStats()["blob_gets"].value(base, 0), 1) << "the shared layer went over once";

  // By digest, directly over TLS: everything is stored already.
  auto again = pullTimed(ref(at("registry"), "node@" + digest("node:v1")), options());
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->blobs_fetched, 0u);
  EXPECT_EQ(again->blobs_cached, 3u);
  EXPECT_EQ(fileInRootfs("app/one"), "one\n");
  for (const auto& d : store_.list()) EXPECT_TRUE(store_.verify(d)) << d.hex();
}

TEST_F(RegistryTest, AnIndexResolvesToTheArchitecture) {
  auto amd = pullTimed(ref(at("registry"), "multi:latest"), options());
  ASSERT_TRUE(amd) << amd.error().message;
  EXPECT_EQ(amd->platform, "linux/amd64");
  EXPECT_EQ("sha256:" + amd->index_digest.hex(), digest("multi:latest"));
  EXPECT_EQ(fileInRootfs("etc/arch"), "amd64\n");

  auto o = options();
  o.architecture = "arm64";
  auto arm = pullTimed(ref(at("registry"), "multi:latest"), o);
  ASSERT_TRUE(arm) << arm.error().message;
  EXPECT_EQ(arm->platform, "linux/arm64");
  EXPECT_NE(arm->manifest_digest, amd->manifest_digest);
  EXPECT_EQ(arm->blobs_cached, 1u) << "the base layer both architectures share";
  EXPECT_EQ(fileInRootfs("etc/arch"), "arm64\n");

  o.architecture = "s390x";
  const auto before = failures("no_platform");
  auto none = pullTimed(ref(at("registry"), "multi:latest"), o);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, "no_platform");
  EXPECT_THAT(none.error().message, HasSubstr("linux/amd64, linux/arm64"));
  o.architecture = "arm64";
  auto single = pullTimed(ref(at("registry"), "node:v1"), o);
  ASSERT_FALSE(single);
  EXPECT_EQ(single.error().code, "no_platform") << single.error().message;
  EXPECT_EQ(failures("no_platform"), before + 2);
}

TEST_F(RegistryTest, ATamperedBlobIsRefusedAndNotStored) {
  const auto before = failures("digest_mismatch");
  auto r = pullTimed(ref(at("registry"), "bad:v1"), options());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "digest_mismatch") << r.error().message;
  auto bad = Sha256::parse(env->info["bad_layer"].get<std::string>());
  ASSERT_TRUE(bad);
  EXPECT_FALSE(store_.has(*bad));
  for (const auto& e : fs::directory_iterator(store_.tmpDir()))
    EXPECT_NE(e.path().extension(), ".partial") << "no partial file kept: " << e.path();
  EXPECT_EQ(failures("digest_mismatch"), before + 1);
}

TEST_F(RegistryTest, ACutTransferResumesWithRange) {
  const auto stats0 = proxyStats();
  auto r = pullTimed(ref(at("proxy"), "big:v1"), options(true));
  ASSERT_TRUE(r) << r.error().message;
  const auto stats = proxyStats();
  EXPECT_EQ(stats["cuts"].get<int>(), stats0["cuts"].get<int>() + 1);
  EXPECT_EQ(stats["ranges"].get<int>(), stats0["ranges"].get<int>() + 1);
  EXPECT_EQ(r->resumes, 1);
  EXPECT_EQ(r->blobs_fetched, 2u);
  EXPECT_GE(r->bytes_fetched, 3u << 20);
  EXPECT_LT(r->bytes_fetched, (3u << 20) + (1u << 20)) << "the resumed part only, not it all again";
  for (const auto& d : store_.list()) EXPECT_TRUE(store_.verify(d)) << d.hex();
  auto o = oci::importImage(layout_, tmp_.path() / "out", tmp_.path() / "work", false);
  ASSERT_TRUE(o) << o.error().message;
}

TEST_F(RegistryTest, APartialFileFromAnEarlierRunIsResumed) {
  auto first = pullTimed(ref(at("registry"), "node:v1"), options());
  ASSERT_TRUE(first) << first.error().message;
  auto image = oci::openImage(layout_, tmp_.path() / "open");
  ASSERT_TRUE(image) << image.error().message;
  const auto base = image->layers.at(0);
  const std::string bytes = test::readFile(store_.blobPath(base.digest));
  ASSERT_EQ(bytes.size(), base.size);

  // Another store in which an interrupted run left the first half of the base layer.
  store::BlobStore other(tmp_.path() / "other");
  ASSERT_TRUE(other.init());
  test::writeFile(other.tmpDir() / ("registry-" + base.digest.hex() + ".partial"),
                  bytes.substr(0, bytes.size() / 2));
  auto r = pull(ref(at("registry"), "node:v1"), options(), other, tmp_.path() / "layout2");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->resumes, 1);
  EXPECT_EQ(r->blobs_fetched, 3u);
  EXPECT_EQ(r->bytes_fetched, first->bytes_fetched - bytes.size() / 2);
  EXPECT_TRUE(other.verify(base.digest));
}

TEST_F(RegistryTest, RefusalsAreErrorsWithReasons) {
  auto unknown_tag = pullTimed(ref(at("registry"), "node:nope"), options());
  ASSERT_FALSE(unknown_tag);
  EXPECT_EQ(unknown_tag.error().code, "not_found");
  EXPECT_THAT(unknown_tag.error().message, HasSubstr("MANIFEST_UNKNOWN"));
  auto unknown_digest =
      pullTimed(ref(at("registry"), "node@sha256:" + std::string(64, '1')), options());
  ASSERT_FALSE(unknown_digest);
  EXPECT_EQ(unknown_digest.error().code, "not_found");

  auto o = options();
  o.credentials = Credentials{"drover", "wrong"};
  auto refused = pullTimed(ref(at("registry"), "node:v1"), o);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, "unauthorized");
  EXPECT_THAT(refused.error().message, HasSubstr("token service"));
  o.credentials.reset();
  auto anonymous = pullTimed(ref(at("registry"), "node:v1"), o);
  ASSERT_FALSE(anonymous);
  EXPECT_EQ(anonymous.error().code, "unauthorized");

  o = options();
  o.ca_file.clear();  // the system's CAs do not know the test CA
  auto untrusted = pullTimed(ref(at("registry"), "node:v1"), o);
  ASSERT_FALSE(untrusted);
  EXPECT_EQ(untrusted.error().code, "tls");
  // A self-signed registry with the explicit opt-out (Basic auth: no token service).
  auto insecure = pullTimed(ref(at("basic"), "node:v1"), [&] {
    auto b = options();
    b.ca_file.clear();
    b.insecure_tls = true;
    return b;
  }());
  ASSERT_TRUE(insecure) << insecure.error().message;
  EXPECT_TRUE(store_.list().size() >= 3u);
}

TEST_F(RegistryTest, BasicAuthAgainstHtpasswd) {
  auto ok = pullTimed(ref(at("basic"), "node:v2"), options());
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(fileInRootfs("app/two"), "two\n");
  auto o = options();
  o.credentials = Credentials{"drover", "wrong"};
  auto refused = pullTimed(ref(at("basic"), "node:v2"), o);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, "unauthorized") << refused.error().message;
}

TEST_F(RegistryTest, CommandReadsTheCredentialsFile) {
  const fs::path d = tmp_.path() / "site";
  test::writeFile(d / "k", "kernel");
  const std::string zero(64, '0');
  test::writeFile(d / "cluster.yaml",
                  "server:\n  advertise: 192.0.2.1\n  state: { path: " + d.string() +
                      "/state/state.db }\nnetworks:\n  - name: lan\n    subnet: 192.0.2.0/24\n"
                      "images:\n  boot-env:\n    kernel: { path: " +
                      d.string() + "/k, sha256: " + zero + " }\n    initrd: { path: " + d.string() +
                      "/k, sha256: " + zero + " }\n");
  const fs::path creds = d / "state" / std::string(kCredentialsFile);
  test::writeFile(creds, "\"" + at("registry") + "\": { username: drover, password: s3cret }\n");
  ::chmod(creds.c_str(), 0644);
  cli::ImagesTarget t;
  t.config = (d / "cluster.yaml").string();
  cli::RegistryFlags f;
  f.ca_file = (env->dir.path() / "ca.crt").string();
  f.disk = false;
  std::ostringstream out, err;
  const std::string r = at("registry") + "/node:v1";
  EXPECT_EQ(cli::runImagesPullRegistry(t, "../node", r, f, out, err), 1);
  EXPECT_THAT(err.str(), HasSubstr("not an image name"));
  err.str("");
  EXPECT_EQ(cli::runImagesPullRegistry(t, "node", r, f, out, err), 1);
  EXPECT_THAT(err.str(), HasSubstr("chmod 600"));
  ::chmod(creds.c_str(), 0600);
  err.str("");
  ASSERT_EQ(cli::runImagesPullRegistry(t, "node", r, f, out, err), 0) << err.str();
  EXPECT_THAT(out.str(), HasSubstr("3 blob(s) fetched"));
  const fs::path tar = d / "state/images/oci/node/rootfs.tar";
  EXPECT_EQ(test::output("tar -xOf " + tar.string() + " app/one"), "one\n");
  EXPECT_TRUE(fs::is_directory(d / "state/images/registry/blobs/sha256"));
  EXPECT_FALSE(fs::exists(d / "state/images/tmp/registry-node")) << "scratch removed";
}

}  // namespace
}  // namespace drover::images::registry
