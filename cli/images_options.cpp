// The options of `drover images`: each subcommand's flags and the run* function it calls
// (images_command.cpp).
#include <memory>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"

namespace drover::cli {

void addImagesCommands(CLI::App& root, Context& ctx) {
  auto* images = root.add_subcommand(
      "images", "The image catalog: list, pull, verify, rm, gc, capture, import-oci, build");
  images->require_subcommand(1);
  auto target = std::make_shared<ImagesTarget>();
  auto common = [target](CLI::App* cmd) {
    cmd->add_option("-c,--config", target->config, "Cluster declaration (YAML)")->required();
    cmd->add_option("--state-dir", target->state_dir,
                    "State directory (default: the directory of server.state.path)");
  };
  auto name = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);

  auto* list = images->add_subcommand("list", "Declared images and every cached version");
  common(list);
  list->add_flag("--json", *as_json, "JSON instead of a table");
  list->callback([&ctx, target, as_json] {
    ctx.exit_code = runImagesList(*target, *as_json, ctx.out, ctx.err);
  });

  auto* pull = images->add_subcommand(
      "pull",
      "Fetch and verify an image's url files now, and pin them; or, given REF, pull an image "
      "from an OCI registry and import it like import-oci");
  common(pull);
  auto ref = std::make_shared<std::string>();
  auto rf = std::make_shared<RegistryFlags>();
  auto pull_no_disk = std::make_shared<bool>(false);
  pull->add_option("IMAGE", *name, "image name")->required();
  auto* ref_opt = pull->add_option(
      "REF", *ref, "registry reference: host[:port]/repository[:tag] or ...@sha256:<digest>");
  pull->add_flag("--progress", target->progress,
                 "Progress lines even when stderr is not a terminal");
  pull->add_option("--arch", rf->arch, "REF: architecture to pick from an index (default amd64)");
  pull->add_option("--variant", rf->variant, "REF: architecture variant (v8...), default any");
  pull->add_option("--ca-file", rf->ca_file, "REF: CA bundle (PEM) trusted for the registry");
  pull->add_flag("--plain-http", rf->plain_http, "REF: plain HTTP, no TLS");
  pull->add_flag("--insecure-tls", rf->insecure_tls,
                 "REF: HTTPS without certificate verification (self-signed registries)");
  pull->add_flag("--no-disk", *pull_no_disk, "REF: only the rootfs tarball, no raw disk image");
  for (const char* o :
       {"--arch", "--variant", "--ca-file", "--plain-http", "--insecure-tls", "--no-disk"})
    pull->get_option(o)->needs(ref_opt);
  pull->callback([&ctx, target, name, ref, rf, pull_no_disk] {
    rf->disk = !*pull_no_disk;
    ctx.exit_code = ref->empty()
                        ? runImagesPull(*target, *name, ctx.out, ctx.err)
                        : runImagesPullRegistry(*target, *name, *ref, *rf, ctx.out, ctx.err);
  });

  auto* verify =
      images->add_subcommand("verify", "Re-hash every cached blob and check local files");
  common(verify);
  verify->callback([&ctx, target] { ctx.exit_code = runImagesVerify(*target, ctx.out, ctx.err); });

  auto* rm = images->add_subcommand("rm", "Forget every cached version of an image, pinned or not");
  common(rm);
  rm->add_option("IMAGE", *name, "image name")->required();
  rm->callback(
      [&ctx, target, name] { ctx.exit_code = runImagesRm(*target, *name, ctx.out, ctx.err); });

  auto* oci = images->add_subcommand(
      "import-oci", "Import an OCI layout or oci-archive as a rootfs tarball and raw disk");
  common(oci);
  auto source = std::make_shared<std::string>();
  auto no_disk = std::make_shared<bool>(false);
  oci->add_option("NAME", *name, "image name")->required();
  oci->add_option("PATH", *source, "OCI layout directory or oci-archive tar")->required();
  oci->add_flag("--no-disk", *no_disk, "Only the rootfs tarball, no raw disk image");
  oci->callback([&ctx, target, name, source, no_disk] {
    ctx.exit_code = runImagesImportOci(*target, *name, *source, !*no_disk, ctx.out, ctx.err);
  });

  auto* capture = images->add_subcommand(
      "capture", "Capture a node's disk as a new image version on its next boot");
  common(capture);
  auto cf = std::make_shared<CaptureFlags>();
  capture->add_option("NODE", *name, "node name")->required();
  capture->add_option("--image", cf->image, "Target image (default: <node>-capture)");
  capture->add_option("--api", cf->api,
                      "API base URL (default: from the declaration's server.api)");
  capture->add_option("--token", cf->token,
                      "Operator token (default: DROVER_TOKEN or <state dir>/operator.token)");
  capture->add_option("--ca", cf->ca,
                      "CA certificate of the API (default: <state dir>/tls/ca.crt)");
  capture->add_flag("--cancel", cf->cancel, "Cancel a pending capture instead");
  capture->callback([&ctx, target, name, cf] {
    ctx.exit_code = runImagesCapture(*target, *cf, *name, ctx.out, ctx.err);
  });

  auto* build = images->add_subcommand(
      "build", "Build a disk that boots (BIOS and UEFI) from a container image carrying a kernel");
  common(build);
  auto bf = std::make_shared<BuildFlags>();
  build->add_option("NAME", *name, "image name")->required();
  build->add_option("--from", bf->from, "OCI archive or layout, or registry reference")->required();
  build->add_option("--cmdline", bf->cmdline,
                    "Kernel command line after root=UUID=... ro (default: console=tty0 "
                    "console=ttyS0,115200n8)");
  build->add_option("--free", bf->free_mib,
                    "Free space on the root filesystem, MiB (default: a third of the tree "
                    "and 16, at least 64)");
  build->add_option(
      "--shim", bf->shim,
      "shim for \\EFI\\BOOT\\BOOTX64.EFI (default: /usr/lib/shim/shimx64.efi.signed)");
  build->add_option("--grub-efi", bf->grub_efi,
                    "GRUB started by shim (default: "
                    "/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed)");
  build->add_option("--gpt-mbr", bf->gpt_mbr,
                    "BIOS boot code for the GPT disk (default: /usr/lib/syslinux/mbr/gptmbr.bin)");
  build->add_flag("--progress", target->progress,
                  "REF: progress lines even when stderr is not a terminal");
  build->add_option("--ca-file", bf->registry.ca_file,
                    "REF: CA bundle (PEM) trusted for the registry");
  build->add_flag("--plain-http", bf->registry.plain_http, "REF: plain HTTP, no TLS");
  build->add_flag("--insecure-tls", bf->registry.insecure_tls,
                  "REF: HTTPS without certificate verification (self-signed registries)");
  build->callback([&ctx, target, name, bf] {
    ctx.exit_code = runImagesBuild(*target, *name, *bf, ctx.out, ctx.err);
  });

  auto* gc =
      images->add_subcommand("gc", "Remove cached versions unused for longer than update.expire");
  common(gc);
  gc->callback([&ctx, target] { ctx.exit_code = runImagesGc(*target, ctx.out, ctx.err); });
}

}  // namespace drover::cli
