#include "cli/explain.hpp"

#include <fmt/format.h>

#include "boot/dhcp_policy.hpp"
#include "boot/server_configs.hpp"
#include "common/values.hpp"
#include "dhcp/server/clock.hpp"
#include "dhcp/server/engine.hpp"
#include "server/boot_routes.hpp"
#include "server/context.hpp"
#include "templates/grub.hpp"
#include "templates/ipxe.hpp"

namespace drover::cli {
namespace {

using namespace drover::cluster;

std::string poolsOf(const Network& n) {
  std::string out;
  for (const auto& p : n.pools) out += (out.empty() ? "" : ", ") + p.value.str();
  return out;
}

NetworkSection networkSection(const Inventory& inv, const ExplainQuery& q, const Match& m) {
  NetworkSection s;
  const Node* node = m.node;
  if (node && node->ip) {
    s.network = inv.networkFor(node->ip->value);
    s.found_by = "node ip";
  } else if (q.via) {
    s.network = inv.networkFor(*q.via);
    s.found_by = "via " + q.via->str();
  }
  const Network* n = s.network;
  if (!n) {
    s.address = q.via ? fmt::format("none: {} is in no network", q.via->str())
                      : "from the network the request arrives on (interface or relay giaddr; "
                        "see --via)";
    return s;
  }
  if (n->mode == NetworkMode::Proxy) {
    s.address = "from the site's DHCP server (proxy mode: Drover adds boot information only)";
  } else if (node && node->ip) {
    s.address =
        fmt::format("{} (reserved), lease {}", node->ip->value.str(), formatDuration(n->lease));
  } else if (!n->pools.empty()) {
    s.address = fmt::format("from pool {}, lease {}", poolsOf(*n), formatDuration(n->lease));
  } else {
    s.address = "none: the network has no pool and the machine has no reserved ip";
  }
  return s;
}

std::string scriptLine(const Explanation& e) {
  const auto& b = e.boot;
  const std::string env = b.boot_env ? b.boot_env->name : "?";
  std::string args;
  if (b.profile)
    for (const auto& a : b.profile->kernel_args) args += " " + a;
  const auto kind = templates::scriptName(b.script);
  switch (b.script) {
    case boot::ScriptKind::kInstall:
      return fmt::format(
          "{}: install image {} on {}: boot {} (kernel + initrd), agent installs{}{}", kind,
          b.profile->install->image.value, b.profile->install->disk, env,
          args.empty() ? "" : "; kernel args:", args);
    case boot::ScriptKind::kDiscover:
      return fmt::format("{}: boot {} (kernel + initrd), agent registers the machine and waits",
                         kind, env);
    case boot::ScriptKind::kCapture:
      return fmt::format("{}: boot {} (kernel + initrd), agent uploads the disk as an image", kind,
                         env);
    case boot::ScriptKind::kLocalBoot:
      return fmt::format("{}: boot from the local disk", kind);
    case boot::ScriptKind::kFailed:
      return fmt::format("{}: show why the install failed, pause, ask again", kind);
    case boot::ScriptKind::kEntry:
    case boot::ScriptKind::kIgnore:
      break;
  }
  return fmt::format("{}: the machine gets no boot answer", kind);
}

}  // namespace

boot::ClientIdentity clientIdentity(const ExplainQuery& q) {
  const auto& a = *q.arch;
  std::string vendor;
  switch (a.firmware) {
    case boot::Firmware::kBios:
      vendor = fmt::format("PXEClient:Arch:{:05}:UNDI:002001", a.code);
      break;
    case boot::Firmware::kUefi:
      vendor = fmt::format("PXEClient:Arch:{:05}:UNDI:003016", a.code);
      break;
    case boot::Firmware::kUefiHttp:
      vendor = fmt::format("HTTPClient:Arch:{:05}:UNDI:003001", a.code);
      break;
  }
  return boot::ClientIdentity{a.code, std::move(vendor), q.ipxe};
}

Explanation explain(const Inventory& inv, const ExplainQuery& q) {
  Explanation e;
  e.query = q;
  e.match = inv.match(q.mac, q.uuid);
  e.network = networkSection(inv, q, e.match);
  e.boot = boot::decide(inv.config(), e.match, clientIdentity(q), q.status);
  return e;
}

std::string renderText(const Config& c, const Explanation& e) {
  std::string out;
  auto line = [&](std::string_view section, const std::string& text) {
    out += fmt::format("{:<9}{}\n", section, text);
  };
  const auto& q = e.query;
  std::string record = "no record";
  if (q.status) {
    record = std::string(state::toString(q.status->state));
    if (q.status->reinstall_requested) record += "+reinstall";
    if (q.status->capture_requested) record += "+capture";
  }
  line("machine", fmt::format("mac {}, uuid {}, arch {} ({}, option 93 code {}){}, state {}",
                              q.mac.str(), q.uuid ? q.uuid->str() : "-", q.arch->name,
                              q.arch->title, q.arch->code, q.ipxe ? ", running iPXE" : "", record));
  const auto& m = e.match;
  if (m.known()) {
    line("match", fmt::format("node {} (by {}), profile {}", m.node->name.value, toString(m.by),
                              m.profile ? m.profile->name : "-"));
  } else {
    line("match",
         fmt::format("unknown machine (by none): defaults.unknown is {}{}", toString(m.policy),
                     m.profile ? ", profile " + m.profile->name : std::string()));
  }
  if (const Network* n = e.network.network) {
    line("network", fmt::format("{} {} ({}), found by {}", n->name.value, n->subnet.value.str(),
                                toString(n->mode), e.network.found_by));
  } else {
    line("network", "-");
  }
  line("address", e.network.address);
  const auto& b = e.boot;
  switch (b.delivery) {
    case boot::Delivery::kNone:
      line("boot", "no boot file");
      break;
    case boot::Delivery::kTftp:
      line("boot", fmt::format("TFTP {} from {}", b.file, c.server.advertise.str()));
      break;
    case boot::Delivery::kHttp:
      line("boot", fmt::format("HTTP {}{}", b.file,
                               b.http_client ? " (reply carries option 60 HTTPClient)" : ""));
      break;
  }
  line("script", scriptLine(e));
  line("reason", b.reason);
  if (b.script == boot::ScriptKind::kLocalBoot) {
    line("disk",
         boot::localBoot(c, q.arch->firmware != boot::Firmware::kBios, q.arch->build_arch).reason);
  }
  return out;
}

// `drover explain`, the DHCP answer: a DISCOVER shaped like the machine's firmware (PXE ROM,
// UEFI, UEFI HTTP boot or iPXE, with their usual parameter request lists) goes through the
// same Engine and InventoryBootPolicy `drover serve` runs, then the REQUEST that follows
// (port 4011 in proxy mode). Nothing is sent or stored: the engine's leases live in memory.
namespace {

namespace opt = dhcp::wire::opt;
using dhcp::wire::MessageType;

class FixedSource final : public boot::InventorySource {
 public:
  explicit FixedSource(std::shared_ptr<const boot::Snapshot> s) : snapshot_(std::move(s)) {}
  std::shared_ptr<const boot::Snapshot> current() const override { return snapshot_; }

 private:
  std::shared_ptr<const boot::Snapshot> snapshot_;
};

void setBytes(dhcp::wire::Message& m, std::uint8_t code,
              std::initializer_list<std::uint8_t> bytes) {
  const std::vector<std::uint8_t> v(bytes);
  m.options.set(code, dhcp::wire::ByteView(reinterpret_cast<const std::byte*>(v.data()), v.size()));
}

// What the firmware (or iPXE) puts in its DISCOVER.
dhcp::wire::Message discoverFor(const ExplainQuery& q) {
  dhcp::wire::Message m;
  m.xid = 0x4472766e;
  m.setMac(q.mac);
  m.setType(MessageType::Discover);
  const auto identity = clientIdentity(q);
  m.options.setU16(opt::kClientArch, *identity.arch);
  m.options.setString(opt::kVendorClass, identity.vendor_class);
  if (q.ipxe) {  // iPXE's own list and identity (77, 175 with its features)
    setBytes(m, opt::kParameterList,
             {1, 3, 6, 7, 12, 15, 17, 26, 43, 60, 66, 67, 119, 128, 129, 130, 135, 175, 203});
    m.options.setString(opt::kUserClass, "iPXE");
    setBytes(m, opt::kIpxeEncap, {19, 1, 1, 37, 1, 1});
  } else {  // PXE 2.1 ROMs and EDK2
    setBytes(m, opt::kParameterList,
             {1,  2,  3,  4,  5,  6,  12, 13, 15, 17,  18,  22,  23,  28,  40,  41,  42, 43,
              50, 51, 54, 58, 59, 60, 66, 67, 97, 128, 129, 130, 131, 132, 133, 134, 135});
  }
  if (q.uuid) {
    dhcp::wire::Bytes v(17);
    for (std::size_t i = 0; i < 16; ++i) v[i + 1] = static_cast<std::byte>(q.uuid->bytes()[i]);
    m.options.set(opt::kClientUuid, v);
  }
  return m;
}

std::string hex(dhcp::wire::ByteView v) {
  std::string out;
  for (auto b : v) out += fmt::format("{:02x}", std::to_integer<unsigned>(b));
  return out;
}

std::string subOptionsText(dhcp::wire::ByteView v, bool ipxe) {
  auto subs = dhcp::wire::decodeSubOptions(v);
  if (!subs.ok()) return hex(v);
  std::string out;
  for (const auto& o : subs->items()) {
    const auto* def = ipxe ? dhcp::wire::findIpxeOption(o.code) : nullptr;
    const std::string name = def != nullptr ? std::string(def->name) : std::to_string(o.code);
    out += fmt::format("{}{}=", out.empty() ? "" : " ", name);
    out += o.data.size() == 1 ? std::to_string(std::to_integer<unsigned>(o.data[0])) : hex(o.data);
  }
  return out;
}

std::string valueText(const dhcp::wire::Options& all, const dhcp::wire::Option& o) {
  using dhcp::wire::OptionType;
  const auto* def = dhcp::wire::findOption(o.code);
  if (def == nullptr) return hex(o.data);
  switch (def->type) {
    case OptionType::Ipv4: {
      std::string out;
      for (const auto& a : all.ipv4List(o.code)) out += (out.empty() ? "" : ", ") + a.str();
      return out;
    }
    case OptionType::U8:
      return std::to_string(all.u8(o.code).value_or(0));
    case OptionType::U16:
      return std::to_string(all.u16(o.code).value_or(0));
    case OptionType::U32:
      return std::to_string(all.u32(o.code).value_or(0));
    case OptionType::String:
      return "\"" + all.string(o.code).value_or("") + "\"";
    case OptionType::Encapsulated:
      return subOptionsText(o.data, o.code == opt::kIpxeEncap);
    default:
      return hex(o.data);
  }
}

std::string_view typeName(const dhcp::wire::Message& m) {
  switch (static_cast<MessageType>(m.messageType().value_or(0))) {
    case MessageType::Offer:
      return "OFFER";
    case MessageType::Ack:
      return "ACK";
    case MessageType::Nak:
      return "NAK";
    default:
      return "?";
  }
}

}  // namespace

DhcpAnswer explainDhcp(const cluster::Inventory& inv, const ExplainQuery& q) {
  DhcpAnswer a;
  const auto& config = inv.config();
  // The request arrives on the link (or through the relay) --via names, else the one the
  // node's reserved address is on.
  std::optional<Ipv4Address> on = q.via;
  if (!on) {
    const auto match = inv.match(q.mac, q.uuid);
    if (match.known() && match.node->ip) on = match.node->ip->value;
  }
  if (!on) {
    a.why = "depends on the network the request arrives on (give --via)";
    return a;
  }
  FixedSource source(boot::Snapshot::build(inv.configPtr()));
  boot::InventoryBootPolicy policy(source);
  dhcp::SystemClock clock;
  metrics::Registry registry;  // not the process's metrics
  auto log = log::get("dhcp");
  const auto level = log->level();
  log->set_level(spdlog::level::warn);
  dhcp::Engine engine(boot::dhcpConfigFrom(config), policy, clock, registry);
  dhcp::PacketContext ctx;
  ctx.interface = "explain";
  ctx.interface_address = *on;
  auto exchange = [&](const dhcp::wire::Message& m,
                      const char* label) -> std::optional<dhcp::wire::Message> {
    auto bytes = dhcp::wire::encode(m, dhcp::wire::kMaxUdpPayload);
    if (!bytes.ok()) return std::nullopt;
    auto out = engine.handle(*bytes, ctx);
    if (!out.reply) {
      a.why = out.drop.empty() ? "no reply" : std::string(out.drop);
      return std::nullopt;
    }
    auto reply = dhcp::wire::decode(out.reply->payload);
    if (!reply.ok()) return std::nullopt;
    a.exchange.push_back(
        fmt::format("{} -> {}{}", label, typeName(*reply), ctx.proxy_port ? " (port 4011)" : ""));
    return *reply;
  };
  auto discover = discoverFor(q);
  auto offer = exchange(discover, "DISCOVER");
  std::optional<dhcp::wire::Message> final_reply;
  if (offer) {
    auto request = discover;
    request.setType(MessageType::Request);
    a.proxy = offer->yiaddr.isUnspecified();
    if (a.proxy) {  // the PXE boot server request, after the site's server leased an address
      ctx.proxy_port = true;
      ctx.source = *on;
      ctx.source_port = 4011;
    } else {
      request.options.setIpv4(opt::kRequestedAddress, offer->yiaddr);
      if (auto sid = offer->options.ipv4(opt::kServerId))
        request.options.setIpv4(opt::kServerId, *sid);
    }
    final_reply = exchange(request, "REQUEST");
    if (!final_reply) final_reply = offer;
  }
  log->set_level(level);
  if (!final_reply) return a;
  a.answered = true;
  a.server_id = final_reply->options.ipv4(opt::kServerId).value_or(Ipv4Address());
  a.yiaddr = final_reply->yiaddr;
  a.siaddr = final_reply->siaddr;
  a.file = final_reply->file;
  for (const auto& o : final_reply->options.items()) {
    const auto* def = dhcp::wire::findOption(o.code);
    a.options.push_back({o.code, def != nullptr ? std::string(def->name) : "unknown",
                         valueText(final_reply->options, o)});
  }
  return a;
}

std::string renderDhcpText(const DhcpAnswer& a) {
  std::string out;
  auto line = [&](std::string_view section, const std::string& text) {
    out += fmt::format("{:<9}{}\n", section, text);
  };
  if (!a.answered) {
    line("dhcp", "no answer: " + a.why);
    return out;
  }
  std::string steps;
  for (const auto& s : a.exchange) steps += (steps.empty() ? "" : ", ") + s;
  line("dhcp",
       fmt::format(
           "{} from server {} ({})", steps, a.server_id.str(),
           a.proxy ? "proxyDHCP: boot information only, the address comes from the site's server"
                   : "full DHCP"));
  line("",
       fmt::format("yiaddr {}  siaddr {}  file {}", a.yiaddr.isUnspecified() ? "-" : a.yiaddr.str(),
                   a.siaddr.isUnspecified() ? "-" : a.siaddr.str(), a.file.empty() ? "-" : a.file));
  for (const auto& o : a.options)
    line("", fmt::format("option {:>3} {:<26} {}", o.code, o.name, o.value));
  return out;
}

// `drover explain`, the iPXE script: what GET /boot.ipxe?mac=..&arch=..&platform=.. would
// return for the machine, rendered with the same templates and parameters the boot routes
// use. The boot token is issued per request and shown as <token>; the CA fingerprint is the
// one in the state directory when `drover serve` has made it, else <ca-fingerprint>.
namespace {

// Stand-ins that pass the templates' checks (one URL word), replaced after rendering.
constexpr std::string_view kTokenStandIn = "drover-explain-token";
constexpr std::string_view kCaStandIn = "drover-explain-ca";

void replaceAll(std::string& s, std::string_view from, std::string_view to) {
  for (auto at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
}

}  // namespace

ScriptAnswer explainScript(const cluster::Config& config, const Explanation& e,
                           std::string_view ca_fingerprint,
                           const std::vector<std::string>& api_alternates) {
  ScriptAnswer out;
  const auto& q = e.query;
  const bool efi = q.arch->firmware != boot::Firmware::kBios;
  const std::string base = boot::httpUrl(config, "");
  out.url = fmt::format("{}/boot.ipxe?mac={}&uuid={}&arch={}&platform={}", base, q.mac.str(),
                        q.uuid ? q.uuid->str() : "", q.arch->build_arch, efi ? "efi" : "pcbios");
  const auto& m = e.match;
  const std::string name = m.known() ? m.node->name.value : server::provisionalName(q.mac);
  const auto kind = e.boot.script;
  auto refusal = [&](std::string_view why) {
    out.kind = "refusal";
    out.text = server::refusalScript(why);
    return out;
  };

  const server::ScriptEndpoints at{
      base,
      fmt::format("https://{}:{}", config.server.advertise.str(), config.server.api.listen.port),
      ca_fingerprint.empty() ? std::string(kCaStandIn) : std::string(ca_fingerprint),
      api_alternates};
  auto params =
      server::scriptParams(config, kind, name, efi, q.arch->build_arch, e.boot.profile, at);
  if (!params) return refusal(params.error().message);
  if (server::needsBootToken(kind)) params->token = std::string(kTokenStandIn);
  if (kind == boot::ScriptKind::kFailed) params->message = "(the failure the agent reported)";
  if (kind == boot::ScriptKind::kIgnore) params->message = e.boot.reason;
  out.kind = std::string(templates::scriptName(kind));
  auto text = templates::renderScript(kind, *params);
  if (!text) return refusal("script error: " + text.error().message);
  out.text = std::move(*text);
  replaceAll(out.text, kTokenStandIn, "<token>");
  replaceAll(out.text, kCaStandIn, "<ca-fingerprint>");
  return out;
}

std::string renderGrubText(const cluster::Config& config, const Explanation& e) {
  const auto& q = e.query;
  if (e.boot.script != boot::ScriptKind::kLocalBoot ||
      boot::localBoot(config, q.arch->firmware != boot::Firmware::kBios, q.arch->build_arch).how !=
          boot::DiskHandoff::kGrub)
    return {};
  templates::GrubParams params;
  params.node = e.match.known() ? e.match.node->name.value : server::provisionalName(q.mac);
  auto text = templates::renderGrubConfig(templates::GrubConfig::kLocal, params);
  if (!text)
    return fmt::format("{:<9}GRUB configuration error: {}\n", "grub", text.error().message);
  std::string out =
      fmt::format("{:<9}local configuration for TFTP grub/drover/{}.cfg (after GET /{})\n", "grub",
                  q.mac.str(), boot::kGrubEfiName);
  for (std::size_t start = 0; start < text->size();) {
    auto end = text->find('\n', start);
    if (end == std::string::npos) end = text->size();
    out += fmt::format("{:<9}{}\n", "", std::string_view(*text).substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string renderScriptText(const ScriptAnswer& a) {
  std::string out = fmt::format("{:<9}{} script for GET {}\n", "ipxe", a.kind, a.url);
  for (std::size_t start = 0; start < a.text.size();) {
    auto end = a.text.find('\n', start);
    if (end == std::string::npos) end = a.text.size();
    out += fmt::format("{:<9}{}\n", "", std::string_view(a.text).substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace drover::cli
