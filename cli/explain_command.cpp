// drover explain FILE --mac MAC [--uuid UUID] [--arch ARCH] [--ipxe] [--installed] [--via IP]
// Prints the match and boot decision, the whole DHCP answer, and the iPXE script.
#include <charconv>
#include <filesystem>
#include <ostream>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/explain.hpp"
#include "http/tls.hpp"
#include "cluster/loader.hpp"

namespace drover::cli {
namespace {

struct ExplainArgs {
  std::string file;
  std::string mac;
  std::string uuid;
  std::string arch = "bios";
  std::string via;
  bool ipxe = false;
  bool installed = false;
};

// Turns the text options into a query; reports the first bad one.
bool toQuery(const ExplainArgs& a, ExplainQuery& q, std::ostream& err) {
  auto fail = [&](std::string_view option, const Error& e) {
    err << "drover explain: " << option << ": " << e.message << '\n';
    return false;
  };
  auto mac = MacAddress::parse(a.mac);
  if (!mac) return fail("--mac", mac.error());
  q.mac = *mac;
  if (!a.uuid.empty()) {
    auto uuid = Uuid::parse(a.uuid);
    if (!uuid) return fail("--uuid", uuid.error());
    q.uuid = *uuid;
  }
  auto arch = cluster::parseClientArch(a.arch);
  if (!arch) {
    // Also the DHCP option 93 code as a number: 0, 7, 9, 11, 16.
    unsigned code = 0;
    auto [end, ec] = std::from_chars(a.arch.data(), a.arch.data() + a.arch.size(), code);
    auto from_code = ec == std::errc() && end == a.arch.data() + a.arch.size() && code <= 0xffff
                         ? cluster::clientArchFromOption93(static_cast<std::uint16_t>(code))
                         : std::nullopt;
    if (!from_code) return fail("--arch", arch.error());
    arch = *from_code;
  }
  q.request.arch = *arch;
  q.request.ipxe = a.ipxe;
  q.request.state = a.installed ? cluster::NodeState::Installed : cluster::NodeState::New;
  if (!a.via.empty()) {
    auto via = Ipv4Address::parse(a.via);
    if (!via) return fail("--via", via.error());
    q.via = *via;
  }
  return true;
}

int runExplain(const ExplainArgs& args, std::ostream& out, std::ostream& err) {
  ExplainQuery query;
  if (!toQuery(args, query, err)) return 2;
  auto loaded = cluster::loadConfigFile(args.file);
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) err << e.str() << '\n';
    return 1;
  }
  const auto inv = cluster::Inventory::build(loaded.config);
  const auto explanation = explain(inv, query);
  out << renderText(inv.config(), explanation) << '\n' << renderDhcpText(explainDhcp(inv, query)) << '\n';
  // The CA agents pin, when `drover serve` has already made it in the state directory.
  std::string ca;
  const auto ca_file =
      std::filesystem::path(inv.config().server.state.path).parent_path() / "tls" / "ca.crt";
  std::error_code ec;
  if (std::filesystem::exists(ca_file, ec))
    if (auto fp = http::certificateFingerprint(ca_file)) ca = *fp;
  out << renderScriptText(explainScript(inv.config(), explanation, ca));
  return 0;
}

}  // namespace

void addExplainCommand(CLI::App& root, Context& ctx) {
  auto* cmd = root.add_subcommand("explain", "Show how a machine would be matched and booted");
  auto args = std::make_shared<ExplainArgs>();
  cmd->add_option("FILE", args->file, "cluster declaration (YAML)")->required();
  cmd->add_option("--mac", args->mac, "the machine's MAC address (any common form)")->required();
  cmd->add_option("--uuid", args->uuid, "its SMBIOS UUID (DHCP option 97)");
  cmd->add_option("--arch", args->arch,
                  "firmware: bios, efi-x64, efi-arm64, http-x64, or a DHCP option 93 code")
      ->capture_default_str();
  cmd->add_flag("--ipxe", args->ipxe, "the machine is already running iPXE (option 77 \"iPXE\")");
  cmd->add_flag("--installed", args->installed, "the node has reported its install finished");
  cmd->add_option("--via", args->via,
                  "address the request arrives on: relay giaddr or interface address");
  cmd->callback([&ctx, args] { ctx.exit_code = runExplain(*args, ctx.out, ctx.err); });
}

}  // namespace drover::cli
