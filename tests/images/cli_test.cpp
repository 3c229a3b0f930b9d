// `drover images list | pull | verify | rm | gc` on a declaration whose images come from a
// real upstream (image_server.py on loopback), and the serve side: url-declared artifacts
// opened from the catalog (fetched on first use) with the sha256 as ETag.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cluster/loader.hpp"
#include "images/oci/oci_import.hpp"
#include "images/verify/signature.hpp"
#include "server/image_updates.hpp"
#include "server/server_files.hpp"
#include "state/sqlite_store.hpp"
#include "tests/images/image_server.hpp"
#include "tests/images/keys.hpp"
#include "tests/support/temp_dir.hpp"

namespace drover::cli {
namespace {

using ::testing::HasSubstr;

std::string sha(const std::string& s) {
  images::verify::Sha256Hasher h;
  h.update({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
  return h.finish().hex();
}

class ImagesCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(upstream_);
    test::writeFile(upstream_ / "os.raw", os_);
    test::writeFile(upstream_ / "vmlinuz", "kernel bytes");
    test::writeFile(dir_.path() / "initrd.img", "initrd bytes");
    ASSERT_TRUE(test::makeKeyPair(dir_.path(), "release", "ec"));
    ASSERT_TRUE(test::sign(dir_.path(), "release", upstream_ / "os.raw", upstream_ / "os.raw.sig"));
    server_ = std::make_unique<test::ImageServer>(upstream_);
    const std::string d = dir_.path().string();
    test::writeFile(config_, "server:\n  advertise: 192.0.2.1\n  state: { path: " + d +
                                 "/state/state.db }\n"
                                 "networks:\n  - name: lan\n    subnet: 192.0.2.0/24\n"
                                 "trust:\n  keys:\n    release: " +
                                 d +
                                 "/release.pub\n"
                                 "images:\n"
                                 "  boot-env:\n"
                                 "    kernel: { url: \"" +
                                 server_->url("vmlinuz") + "\", sha256: " + sha("kernel bytes") +
                                 " }\n"
                                 "    initrd: { path: " +
                                 d + "/initrd.img, sha256: " + sha("initrd bytes") +
                                 " }\n"
                                 "  os:\n"
                                 "    disk: { url: \"" +
                                 server_->url("os.raw") + "\", signature: { url: \"" +
                                 server_->url("os.raw.sig") +
                                 "\", key: release } }\n"
                                 "    update: { expire: 1h }\n"
                                 "profiles:\n  os:\n    install: { image: os }\n"
                                 "defaults:\n  profile: os\n");
    target_.config = config_.string();
  }
  int run(const std::function<int(std::ostream&, std::ostream&)>& fn) {
    out_.str("");
    err_.str("");
    return fn(out_, err_);
  }

  test::TempDir dir_{"images-cli-test"};
  std::filesystem::path upstream_ = dir_.path() / "upstream";
  std::filesystem::path config_ = dir_.path() / "cluster.yaml";
  std::string os_ = std::string(200000, 'o') + "s";
  std::unique_ptr<test::ImageServer> server_;
  ImagesTarget target_;
  std::ostringstream out_, err_;
};

TEST_F(ImagesCliTest, PullListVerifyRmGc) {
  ASSERT_EQ(run([&](auto& o, auto& e) { return runImagesList(target_, false, o, e); }), 0)
      << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("not cached"));
  EXPECT_THAT(out_.str(), HasSubstr("local"));

  ASSERT_EQ(run([&](auto& o, auto& e) { return runImagesPull(target_, "os", o, e); }), 0)
      << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("os/disk: pulled " + sha(os_).substr(0, 12)));
  ASSERT_EQ(run([&](auto& o, auto& e) { return runImagesPull(target_, "boot-env", o, e); }), 0)
      << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("boot-env/kernel: pulled"));
  ASSERT_EQ(run([&](auto& o, auto& e) { return runImagesPull(target_, "os", o, e); }), 0);
  EXPECT_THAT(out_.str(), HasSubstr("already cached"));
  EXPECT_EQ(run([&](auto& o, auto& e) { return runImagesPull(target_, "nope", o, e); }), 1);

  ASSERT_EQ(run([&](auto& o, auto& e) { return runImagesList(target_, true, o, e); }), 0);
  auto j = nlohmann::json::parse(out_.str());
  int pinned = 0;
  for (const auto& r : j["images"]) pinned += r.value("pinned", false) ? 1 : 0;
  EXPECT_EQ(pinned, 2);

  ASSERT_EQ(run([&](auto& o, auto& e) { return runImagesVerify(target_, o, e); }), 0) << out_.str();
  EXPECT_THAT(out_.str(), HasSubstr("boot-env/initrd (local"));
  // A corrupted blob is found.
  const auto blob = dir_.path() / "state/images/blobs/sha256" / sha(os_);
  std::filesystem::permissions(blob, std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::add);
  test::writeFile(blob, "tampered");
  EXPECT_EQ(run([&](auto& o, auto& e) { return runImagesVerify(target_, o, e); }), 1);
  EXPECT_THAT(out_.str(), HasSubstr("os/disk@" + sha(os_).substr(0, 12) + ": sha256 is"));

  // Pinned: gc keeps them; rm removes.
  ASSERT_EQ(run([&](auto& o, auto& e) { return runImagesGc(target_, o, e); }), 0);
  EXPECT_THAT(out_.str(), HasSubstr("0 version(s)"));
  ASSERT_EQ(run([&](auto& o, auto& e) { return runImagesRm(target_, "os", o, e); }), 0)
      << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("removed os/disk@"));
  EXPECT_FALSE(std::filesystem::exists(blob));
  EXPECT_EQ(run([&](auto& o, auto& e) { return runImagesRm(target_, "os", o, e); }), 1);
}

TEST_F(ImagesCliTest, ImportOciWritesTarballAndDisk) {
  const char* src = std::getenv("DROVER_SOURCE_DIR");
  const auto layout = dir_.path() / "layout";
  ASSERT_EQ(
      test::run("python3 " + std::string(src ? src : ".") + "/tests/images/make_oci_layout.py " +
                layout.string() + " " + (dir_.path() / "img.tar").string()),
      0);
  ASSERT_EQ(run([&](auto& o, auto& e) {
              return runImagesImportOci(target_, "node-os", (dir_.path() / "img.tar").string(),
                                        true, o, e);
            }),
            0)
      << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("node-os: 3 layers -> "));
  EXPECT_THAT(out_.str(), HasSubstr("disk: { path: " + dir_.path().string() +
                                    "/state/images/oci/node-os/disk.raw"));
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "state/images/oci/node-os/rootfs.tar"));
  EXPECT_EQ(run([&](auto& o, auto& e) {
              return runImagesImportOci(target_, "x", "/nonexistent", true, o, e);
            }),
            1);
}

// `images build`: an image without a kernel is refused with the reason; a --from that is
// neither a file here nor a reference is refused before anything is read; one whose tree
// carries a kernel (make_oci.py --tree) becomes a disk that boots (the disk itself:
// images_oci_boot_test; booted: the e2e label).
TEST_F(ImagesCliTest, BuildNeedsAKernelInTheImage) {
  const std::string src = std::getenv("DROVER_SOURCE_DIR") ? std::getenv("DROVER_SOURCE_DIR") : ".";
  ASSERT_EQ(test::run("python3 " + src + "/tests/images/make_oci_layout.py " +
                      (dir_.path() / "layout").string() + " " + (dir_.path() / "img.tar").string()),
            0);
  BuildFlags f;
  f.from = (dir_.path() / "img.tar").string();
  EXPECT_EQ(run([&](auto& o, auto& e) { return runImagesBuild(target_, "node-os", f, o, e); }), 1);
  EXPECT_THAT(err_.str(), HasSubstr("drover images build: the image carries no kernel"));
  EXPECT_THAT(err_.str(), HasSubstr("(no_kernel)"));

  f.from = (dir_.path() / "missing.tar").string();
  EXPECT_EQ(run([&](auto& o, auto& e) { return runImagesBuild(target_, "node-os", f, o, e); }), 1);
  EXPECT_THAT(err_.str(), HasSubstr("missing.tar: no such file or directory"));
  f.from = "not a reference";
  EXPECT_EQ(run([&](auto& o, auto& e) { return runImagesBuild(target_, "node-os", f, o, e); }), 1);
  EXPECT_THAT(err_.str(),
              HasSubstr("is neither an OCI archive or layout here nor an image reference"));

  if (!std::filesystem::exists(images::oci::BootOptions{}.shim) ||
      test::run("command -v syslinux mcopy mkfs.vfat >/dev/null") != 0)
    GTEST_SKIP()
        << "shim-signed, syslinux, mtools or dosfstools missing (scripts/packages/e2e.txt)";
  const auto tree = dir_.path() / "tree";
  test::writeFile(tree / "etc/os-release", "ID=test\n");
  test::writeFile(tree / "boot/vmlinuz-6.1.0-28-cloud-amd64", "kernel");
  test::writeFile(tree / "boot/initrd.img-6.1.0-28-cloud-amd64", "initrd");
  ASSERT_EQ(test::run("python3 " + src + "/tests/agent/make_oci.py " +
                      (dir_.path() / "k.tar").string() + " test/node:1 --tree " + tree.string()),
            0);
  f.from = (dir_.path() / "k.tar").string();
  f.cmdline = "console=ttyS0";
  ASSERT_EQ(run([&](auto& o, auto& e) { return runImagesBuild(target_, "node-os", f, o, e); }), 0)
      << err_.str();
  EXPECT_THAT(out_.str(),
              HasSubstr("disk that boots (GPT: ESP with syslinux for BIOS and shim + GRUB"));
  EXPECT_THAT(out_.str(), HasSubstr("kernel 6.1.0-28-cloud-amd64 -> " + dir_.path().string() +
                                    "/state/images/oci/node-os/disk.raw"));
  EXPECT_THAT(out_.str(), ::testing::ContainsRegex(
                              "kernel command line: root=UUID=[0-9a-f-]{36} ro console=ttyS0"));
  EXPECT_THAT(out_.str(), HasSubstr("declare it as:"));

  // `images list` shows how it was made, beside the catalog.
  ASSERT_EQ(run([&](auto& o, auto& e) { return runImagesList(target_, true, o, e); }), 0)
      << err_.str();
  const auto made = nlohmann::json::parse(out_.str())["made"];
  ASSERT_EQ(made.size(), 1u) << out_.str();
  EXPECT_EQ(made[0]["name"], "node-os");
  EXPECT_EQ(made[0]["made_by"], "build");
  EXPECT_EQ(made[0]["source"], f.from);
  EXPECT_EQ(made[0]["kernel"], "6.1.0-28-cloud-amd64");
  EXPECT_EQ(made[0]["disk_size"],
            std::filesystem::file_size(dir_.path() / "state/images/oci/node-os/disk.raw"));
  EXPECT_TRUE(made[0]["declared_as"].empty());
  ASSERT_EQ(run([&](auto& o, auto& e) { return runImagesList(target_, false, o, e); }), 0);
  EXPECT_THAT(out_.str(), ::testing::ContainsRegex("MADE HERE +BY +DISK"));
  EXPECT_THAT(out_.str(), ::testing::ContainsRegex("node-os +build +[0-9a-f]{12} "));
}

TEST_F(ImagesCliTest, ServeOpensUrlArtifactsFromTheCatalogOnFirstUse) {
  auto loaded = cluster::loadConfigFile(config_.string());
  ASSERT_TRUE(loaded.ok()) << loaded.errors[0].str();
  const auto& c = *loaded.config;
  server::setImageStateDir(dir_.path() / "serve-state");
  auto file = server::openImageArtifact(c, *c.findImage("os"), "disk");
  ASSERT_TRUE(file) << file.error().message;
  EXPECT_EQ(file->size, os_.size());
  EXPECT_THAT(file->etag, HasSubstr(sha(os_)));
  EXPECT_EQ(server_->gets("os.raw"), 1);
  // Again, and by version: from the cache.
  ASSERT_TRUE(server::openImageArtifact(c, *c.findImage("os"), "disk"));
  ASSERT_TRUE(server::openImageArtifact(c, *c.findImage("os"), "disk", *Sha256::parse(sha(os_))));
  EXPECT_EQ(server_->gets("os.raw"), 1);
  // The signature it was verified with is kept for install plans.
  EXPECT_TRUE(server::serveCatalog(c).signatureOf(*Sha256::parse(sha(os_))));
  // Unknown versions and kinds are not found; local files still open.
  EXPECT_FALSE(server::openImageArtifact(c, *c.findImage("os"), "disk",
                                         *Sha256::parse(std::string(64, 'a'))));
  EXPECT_FALSE(server::openImageArtifact(c, *c.findImage("os"), "kernel"));
  ASSERT_TRUE(server::openImageArtifact(c, *c.findImage("boot-env"), "initrd"));
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "serve-state/images/index.json"));
}

// `drover images gc` leaves a version that a node is being installed from, even when nothing
// declares it any more, like the background collection; once the install is over it goes.
TEST_F(ImagesCliTest, GcKeepsTheVersionAnInstallInProgressUses) {
  auto loaded = cluster::loadConfigFile(config_.string());
  ASSERT_TRUE(loaded.ok()) << loaded.errors[0].str();
  server::setImageStateDir(dir_.path() / "state");
  ASSERT_TRUE(server::openImageArtifact(*loaded.config, *loaded.config->findImage("os"), "disk"));
  server::setImageStateDir("");
  const auto blob = dir_.path() / "state/images/blobs/sha256" / sha(os_);
  ASSERT_TRUE(std::filesystem::exists(blob));
  // node-1 is installing from it.
  {
    auto store = state::SqliteStore::open(dir_.path() / "state/state.db");
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE(
        state::applyEvent(**store, "node-1", state::NodeEvent::kRegistered, {1, "registered", ""})
            .ok());
    ASSERT_TRUE(
        (*store)
            ->updateNode(
                "node-1",
                [&](const std::optional<state::NodeRecord>& cur) -> Result<state::NodeRecord> {
                  auto r = *cur;
                  r.install_version = server::installVersion("os", sha(os_));
                  return r;
                },
                {})
            .ok());
  }
  // The image is no longer declared: the profile installs another one.
  auto text = test::readFile(config_);
  text.replace(text.find("  os:\n    disk:"), 5, "  o2:\n");
  text.replace(text.find("install: { image: os }"), 22, "install: { image: o2 }");
  test::writeFile(config_, text);
  ASSERT_EQ(run([&](auto& o, auto& e) { return runImagesGc(target_, o, e); }), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("0 version(s)"));
  EXPECT_TRUE(std::filesystem::exists(blob));
  // Installed: nothing holds it.
  {
    auto store = state::SqliteStore::open(dir_.path() / "state/state.db");
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE(
        state::applyEvent(**store, "node-1", state::NodeEvent::kInstalled, {2, "installed", ""})
            .ok());
  }
  ASSERT_EQ(run([&](auto& o, auto& e) { return runImagesGc(target_, o, e); }), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("removed os/disk@"));
  EXPECT_FALSE(std::filesystem::exists(blob));
}

}  // namespace
}  // namespace drover::cli
