// The per-value pass: walks the YAML tree section by section (server, networks, images,
// profiles, defaults, nodes) into Config, reporting every problem and carrying on.
#include "cluster/loader.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include <fmt/format.h>

#include "cluster/checks.hpp"
#include "cluster/decoder.hpp"
#include "cluster/keys.hpp"
#include "cluster/names.hpp"

namespace drover::cluster {
namespace {

template <typename T>
Located<T> located(T value, const yaml::Node& n, std::string path) {
  return Located<T>{std::move(value), Decoder::pos(n), std::move(path)};
}

class ConfigDecoder {
 public:
  ConfigDecoder(Decoder& d, Config& c) : d_(d), c_(c) {}

  void root(const yaml::Node& doc) {
    MapReader m(d_, doc, "", keysUnder(""));
    if (!m.valid()) return;
    if (auto v = m.required("server")) server(*v);
    if (auto v = m.required("networks")) networks(*v);
    if (auto v = m.get("trust")) trust(*v);
    if (auto v = m.get("images")) images(*v);
    if (auto v = m.get("profiles")) profiles(*v);
    if (auto v = m.get("defaults")) defaults(*v);
    if (auto v = m.get("nodes")) nodes(*v);
    if (auto v = m.get("pod_network")) podNetwork(*v);
  }

 private:
  // --- helpers -------------------------------------------------------------------------
  template <typename T, typename Parse>
  void set(const MapReader& m, std::string_view key, T& out, Parse parse) {
    if (auto v = m.get(key))
      if (auto x = d_.value(*v, m.pathOf(key), parse)) out = std::move(*x);
  }
  void setString(const MapReader& m, std::string_view key, std::string& out,
                 Result<std::string> (*check)(std::string_view) = nullptr) {
    if (auto v = m.get(key)) {
      if (check) {
        if (auto x = d_.value(*v, m.pathOf(key), check)) out = std::move(*x);
      } else if (auto s = d_.string(*v, m.pathOf(key))) {
        out = std::move(*s);
      }
    }
  }
  template <typename T, typename Parse>
  std::optional<Located<T>> locatedValue(const yaml::Node& n, std::string path, Parse parse) {
    auto x = d_.value(n, path, parse);
    if (!x) return std::nullopt;
    return located(std::move(*x), n, std::move(path));
  }
  void duration(const MapReader& m, std::string_view key, std::chrono::seconds& out,
                bool positive) {
    auto v = m.get(key);
    if (!v) return;
    auto d = d_.value(*v, m.pathOf(key), parseDuration);
    if (!d) return;
    if (positive && d->count() == 0) {
      d_.error(*v, m.pathOf(key), "must be longer than 0s");
      return;
    }
    out = *d;
  }
  // A scalar or a list of scalars, each parsed.
  template <typename T, typename Parse>
  std::vector<Located<T>> oneOrMany(const yaml::Node& n, const std::string& path, Parse parse) {
    std::vector<Located<T>> out;
    if (n.isList()) {
      for (std::size_t i = 0; i < n.size(); ++i)
        if (auto x = locatedValue<T>(n[i], indexPath(path, i), parse)) out.push_back(*x);
    } else if (auto x = locatedValue<T>(n, path, parse)) {
      out.push_back(*x);
    }
    return out;
  }

  // A map keyed by names (images, profiles): each key is checked, each entry decoded by
  // decode(name, value, path).
  template <typename Decode>
  void namedEntries(const yaml::Node& n, const char* section, Decode decode) {
    MapReader m(d_, n, section, keysUnder(section));
    for (std::size_t i = 0; i < m.entries().size(); ++i) {
      const auto& [name, value] = m.entries()[i];
      std::string path = m.pathOf(name);
      if (auto bad = checkName(name); !bad) d_.error(m.keyPos(i), path, bad.error().message);
      decode(name, value, path);
    }
  }

  // --- server --------------------------------------------------------------------------
  void server(const yaml::Node& n) {
    MapReader m(d_, n, "server", keysUnder("server"));
    auto& s = c_.server;
    if (auto v = m.required("advertise"))
      if (auto a = d_.value(*v, m.pathOf("advertise"), Ipv4Address::parse)) s.advertise = *a;
    if (auto v = m.get("interfaces"))
      if (auto list = d_.strings(*v, m.pathOf("interfaces"))) s.interfaces = std::move(*list);
    if (auto v = m.get("tftp")) {
      MapReader t(d_, *v, m.pathOf("tftp"), keysUnder("server.tftp"));
      set(t, "listen", s.tftp.listen, ListenAddress::parse);
      setString(t, "root", s.tftp.root, checkRelativeOrAbsolute);
    }
    if (auto v = m.get("http")) {
      MapReader h(d_, *v, m.pathOf("http"), keysUnder("server.http"));
      set(h, "listen", s.http.listen, ListenAddress::parse);
    }
    if (auto v = m.get("api")) api(*v, m.pathOf("api"));
    if (auto v = m.get("state")) state(*v, m.pathOf("state"));
    if (auto v = m.get("dhcp")) dhcp(*v, m.pathOf("dhcp"));
    if (auto v = m.get("boot")) {
      MapReader b(d_, *v, m.pathOf("boot"), keysUnder("server.boot"));
      setString(b, "bios_loader", s.boot.bios_loader, checkLoaderFile);
      setString(b, "efi_loader", s.boot.efi_loader, checkLoaderFile);
      setString(b, "arm64_loader", s.boot.arm64_loader, checkLoaderFile);
      if (auto g = b.get("grub_efi")) {  // "" turns the GRUB handoff off
        if (auto text = d_.string(*g, b.pathOf("grub_efi")); text && text->empty())
          s.boot.grub_efi.clear();
        else if (text)
          setString(b, "grub_efi", s.boot.grub_efi, checkRelativeOrAbsolute);
      }
      setString(b, "shim_efi", s.boot.shim_efi, checkRelativeOrAbsolute);
      setString(b, "grub_efi_arm64", s.boot.grub_efi_arm64, checkRelativeOrAbsolute);
      if (auto ra = b.get("ipv6_ra"))
        if (auto on = d_.boolean(*ra, b.pathOf("ipv6_ra"))) s.boot.ipv6_ra = *on;
      duration(b, "handoff_deadline", s.boot.handoff_deadline, true);
      if (auto h = b.get("handoff_deadline"); h && s.boot.handoff_deadline > std::chrono::hours(24))
        d_.error(*h, b.pathOf("handoff_deadline"), "between 1s and 24h");
      if (auto subnets = b.get("allowed_subnets")) {
        const auto path = b.pathOf("allowed_subnets");
        if (subnets->isList() && subnets->size() == 0)
          d_.error(*subnets, path, "names no subnet: leave the key out to allow every address");
        for (auto& c : oneOrMany<Cidr>(*subnets, path, Cidr::parse))
          s.boot.allowed_subnets.push_back(c.value);
      }
    }
  }

  void dhcp(const yaml::Node& n, const std::string& path) {
    MapReader m(d_, n, path, keysUnder("server.dhcp"));
    auto& d = c_.server.dhcp;
    count(m, "client_discover_rate", d.client_discover_rate, 0);
    count(m, "client_discover_burst", d.client_discover_burst, 1);
    count(m, "interface_discover_rate", d.interface_discover_rate, 0);
    count(m, "interface_discover_burst", d.interface_discover_burst, 1);
  }

  // A whole number from `min` to a million.
  void count(const MapReader& m, std::string_view key, std::uint32_t& out, std::uint32_t min) {
    constexpr std::uint32_t kMax = 1'000'000;
    auto v = m.get(key);
    if (!v) return;
    auto text = d_.string(*v, m.pathOf(key));
    if (!text) return;
    std::uint32_t n = 0;
    const auto* end = text->data() + text->size();
    auto [ptr, ec] = std::from_chars(text->data(), end, n);
    if (text->empty() || ec != std::errc() || ptr != end || n < min || n > kMax) {
      d_.error(*v, m.pathOf(key),
               fmt::format("\"{}\" is not a whole number from {} to {}", *text, min, kMax));
      return;
    }
    out = n;
  }

  void api(const yaml::Node& n, const std::string& path) {
    MapReader m(d_, n, path, keysUnder("server.api"));
    auto& a = c_.server.api;
    set(m, "listen", a.listen, ListenAddress::parse);
    if (auto v = m.get("tls"))
      if (auto t = d_.choice<TlsMode>(*v, m.pathOf("tls"),
                                      {{"auto", TlsMode::Auto}, {"off", TlsMode::Off}}))
        a.tls = *t;
    setString(m, "cert", a.cert, checkRelativeOrAbsolute);
    setString(m, "key", a.key, checkRelativeOrAbsolute);
    if (m.has("cert") != m.has("key"))
      d_.error(m.pos(), path, "cert and key go together: give both or neither");
  }

  void state(const yaml::Node& n, const std::string& path) {
    MapReader m(d_, n, path, keysUnder("server.state"));
    auto& st = c_.server.state;
    if (auto v = m.get("backend"))
      if (auto b = d_.choice<StateBackend>(
              *v, m.pathOf("backend"),
              {{"sqlite", StateBackend::Sqlite}, {"etcd", StateBackend::Etcd}}))
        st.backend = *b;
    setString(m, "path", st.path, checkRelativeOrAbsolute);
    setString(m, "ca_file", st.ca_file, checkRelativeOrAbsolute);
    setString(m, "prefix", st.prefix);
    duration(m, "replica_ttl", st.replica_ttl, true);
    if (auto v = m.get("endpoints"))
      if (auto list = d_.strings(*v, m.pathOf("endpoints"))) {
        for (const auto& e : *list)
          if (e.rfind("http://", 0) != 0 && e.rfind("https://", 0) != 0)
            d_.error(*v, m.pathOf("endpoints"),
                     "\"" + e + "\" is not an etcd client URL (http://host:port or https://...)");
        st.endpoints = *list;
      }
    const bool etcd = st.backend == StateBackend::Etcd;
    if (etcd && st.endpoints.empty())
      d_.error(m.pos(), m.pathOf("endpoints"), "the etcd backend needs its endpoints");
    if (!etcd)
      for (const char* key : {"endpoints", "prefix", "replica_ttl", "ca_file"})
        if (auto v = m.get(key)) d_.error(*v, m.pathOf(key), "only meaningful with backend: etcd");
    if (st.prefix.empty() || st.prefix.front() != '/' || st.prefix.back() == '/')
      d_.error(m.pos(), m.pathOf("prefix"), "starts with / and does not end with one: /drover");
    if (st.replica_ttl < std::chrono::seconds(2) || st.replica_ttl > std::chrono::seconds(60))
      d_.error(m.pos(), m.pathOf("replica_ttl"), "between 2s and 60s");
  }

  // --- networks ------------------------------------------------------------------------
  void networks(const yaml::Node& n) {
    if (!d_.isList(n, "networks")) return;
    if (n.size() == 0) d_.error(n, "networks", "at least one network is needed");
    for (std::size_t i = 0; i < n.size(); ++i) network(n[i], indexPath("networks", i));
  }

  void network(const yaml::Node& n, std::string path) {
    MapReader m(d_, n, path, keysUnder("networks[]"));
    if (!m.valid()) return;
    Network net;
    net.pos = m.pos();
    net.path = std::move(path);
    if (auto v = m.required("name"))
      if (auto x = locatedValue<std::string>(*v, m.pathOf("name"), checkName)) net.name = *x;
    if (auto v = m.required("subnet"))
      if (auto x = locatedValue<Cidr>(*v, m.pathOf("subnet"), Cidr::parse)) net.subnet = *x;
    if (auto v = m.get("mode"))
      if (auto mode = d_.choice<NetworkMode>(
              *v, m.pathOf("mode"), {{"dhcp", NetworkMode::Dhcp}, {"proxy", NetworkMode::Proxy}}))
        net.mode = *mode;
    if (auto v = m.get("pool"))
      net.pools = oneOrMany<Ipv4Range>(*v, m.pathOf("pool"), Ipv4Range::parse);
    if (auto v = m.get("gateway"))
      net.gateway = locatedValue<Ipv4Address>(*v, m.pathOf("gateway"), Ipv4Address::parse);
    if (auto v = m.get("dns"))
      for (auto& a : oneOrMany<Ipv4Address>(*v, m.pathOf("dns"), Ipv4Address::parse))
        net.dns.push_back(a.value);
    setString(m, "domain", net.domain, checkDomain);
    duration(m, "lease", net.lease, true);
    if (auto v = m.get("always_send"))
      for (auto& code : oneOrMany<std::uint8_t>(*v, m.pathOf("always_send"), parseOptionCode))
        net.always_send.push_back(code.value);
    c_.networks.push_back(std::move(net));
  }

  // --- images --------------------------------------------------------------------------
  void images(const yaml::Node& n) {
    namedEntries(n, "images", [this](auto&... args) { image(args...); });
  }

  void image(std::string_view name, const yaml::Node& n, std::string path) {
    MapReader m(d_, n, path, keysUnder("images.*"));
    if (!m.valid()) return;
    Image img;
    img.name = std::string(name);
    img.pos = m.pos();
    img.path = std::move(path);
    if (auto v = m.get("kernel")) img.kernel = artifact(*v, m.pathOf("kernel"));
    if (auto v = m.get("initrd")) img.initrd = artifact(*v, m.pathOf("initrd"));
    if (auto v = m.get("disk")) img.disk = artifact(*v, m.pathOf("disk"));
    if (auto v = m.get("update")) {
      MapReader u(d_, *v, m.pathOf("update"), keysUnder("images.*.update"));
      duration(u, "interval", img.update.interval, false);
      if (img.update.interval.count() > 0 && img.update.interval < kMinUpdateInterval) {
        d_.error(*u.get("interval"), u.pathOf("interval"),
                 fmt::format("must be 0s (never) or at least {}s", kMinUpdateInterval.count()));
        img.update.interval = std::chrono::seconds(0);
      }
      duration(u, "expire", img.update.expire, false);
    }
    if (!m.has("disk") && !(m.has("kernel") && m.has("initrd")))
      d_.error(m.pos(), img.path, "an image needs a disk, or a kernel and an initrd");
    else if (m.has("kernel") != m.has("initrd"))
      d_.error(m.pos(), img.path, "kernel and initrd go together: give both or neither");
    c_.images.emplace(name, std::move(img));
  }

  Artifact artifact(const yaml::Node& n, const std::string& path) {
    MapReader m(d_, n, path, keysUnder("<file>"));
    Artifact a;
    setString(m, "path", a.path, checkRelativeOrAbsolute);
    set(m, "url", a.url, parseHttpUrl);
    set(m, "sha256", a.sha256, Sha256::parse);
    if (auto v = m.get("signature")) a.signature = signature(*v, m.pathOf("signature"));
    if (!m.valid()) return a;
    if (m.has("path") == m.has("url"))
      d_.error(m.pos(), path, "give exactly one of path and url");
    else if (m.has("url") && !m.has("sha256") && !m.has("signature"))
      d_.error(m.pos(), path, "a downloaded file needs a sha256 digest or a signature");
    return a;
  }

  ArtifactSignature signature(const yaml::Node& n, const std::string& path) {
    MapReader m(d_, n, path, keysUnder("<file>.signature"));
    ArtifactSignature s;
    setString(m, "path", s.path, checkRelativeOrAbsolute);
    set(m, "url", s.url, parseHttpUrl);
    if (auto v = m.required("key"))
      if (auto k = locatedValue<std::string>(*v, m.pathOf("key"), checkName)) s.key = *k;
    if (m.valid() && m.has("path") == m.has("url"))
      d_.error(m.pos(), path, "give exactly one of path and url");
    return s;
  }

  // --- trust ---------------------------------------------------------------------------
  void trust(const yaml::Node& n) {
    MapReader m(d_, n, "trust", keysUnder("trust"));
    if (auto v = m.get("keys")) {
      namedEntries(*v, "trust.keys",
                   [this](std::string_view name, const yaml::Node& value, std::string path) {
                     if (auto p = locatedValue<std::string>(value, path, checkRelativeOrAbsolute))
                       c_.trust.keys.emplace(name, *p);
                   });
    }
  }

  // --- profiles ------------------------------------------------------------------------
  void profiles(const yaml::Node& n) {
    namedEntries(n, "profiles", [this](auto&... args) { profile(args...); });
  }

  void profile(std::string_view name, const yaml::Node& n, std::string path) {
    MapReader m(d_, n, path, keysUnder("profiles.*"));
    if (!m.valid()) return;
    Profile p;
    p.name = std::string(name);
    p.pos = m.pos();
    p.path = std::move(path);
    if (auto v = m.get("install")) {
      MapReader in(d_, *v, m.pathOf("install"), keysUnder("profiles.*.install"));
      Install install;
      if (auto img = in.required("image"))
        if (auto x = locatedValue<std::string>(*img, in.pathOf("image"), checkName))
          install.image = *x;
      setString(in, "disk", install.disk, checkDiskPath);
      p.install = std::move(install);
    }
    if (auto v = m.get("cloud_config"))
      p.cloud_config =
          locatedValue<std::string>(*v, m.pathOf("cloud_config"), checkRelativeOrAbsolute);
    if (auto v = m.get("kernel_args"))
      if (auto args = d_.strings(*v, m.pathOf("kernel_args"))) p.kernel_args = std::move(*args);
    if (auto v = m.get("dhcp")) dhcp(*v, m.pathOf("dhcp"));
    if (auto v = m.get("boot")) {
      MapReader b(d_, *v, m.pathOf("boot"), keysUnder("profiles.*.boot"));
      if (auto l = b.get("efi_loader"))
        p.efi_loader = d_.choice<EfiLoader>(
            *l, b.pathOf("efi_loader"),
            {{"ipxe.efi", EfiLoader::IpxeEfi}, {"snponly.efi", EfiLoader::SnponlyEfi}});
      if (auto sb = b.get("secure_boot"))
        if (auto on = d_.boolean(*sb, b.pathOf("secure_boot"))) p.secure_boot = *on;
    }
    if (auto v = m.get("join")) {
      MapReader j(d_, *v, m.pathOf("join"), keysUnder("profiles.*.join"));
      // Only what the agent runs: another runtime comes with its own start-up there.
      if (auto r = j.get("runtime"))
        if (auto rt =
                d_.choice<std::string>(*r, j.pathOf("runtime"), {{"containerd", "containerd"}}))
          p.join.runtime = *rt;
      setString(j, "recipe", p.join.recipe, checkName);
      if (auto r = j.get("recipe")) p.join.recipe_pos = Decoder::pos(*r);
      setString(j, "image", p.join.image, checkAbsolutePath);
      setString(j, "image_ref", p.join.image_ref, checkImageRef);
    }
    c_.profiles.emplace(name, std::move(p));
  }

  // --- defaults ------------------------------------------------------------------------
  void defaults(const yaml::Node& n) {
    MapReader m(d_, n, "defaults", keysUnder("defaults"));
    auto& df = c_.defaults;
    if (auto v = m.get("unknown"))
      if (auto u = d_.choice<UnknownPolicy>(*v, m.pathOf("unknown"),
                                            {{"discover", UnknownPolicy::Discover},
                                             {"ignore", UnknownPolicy::Ignore},
                                             {"install", UnknownPolicy::Install}}))
        df.unknown = *u;
    if (auto v = m.get("unknown")) df.unknown_pos = Decoder::pos(*v);
    if (auto v = m.get("profile"))
      df.profile = locatedValue<std::string>(*v, m.pathOf("profile"), checkName);
    if (auto v = m.get("boot_env"))
      if (auto x = locatedValue<std::string>(*v, m.pathOf("boot_env"), checkName)) df.boot_env = *x;
    if (auto v = m.get("boot_env_arm64"))
      df.boot_env_arm64 = locatedValue<std::string>(*v, m.pathOf("boot_env_arm64"), checkName);
    if (auto v = m.get("ssh_authorized_keys")) {
      auto path = m.pathOf("ssh_authorized_keys");
      if (d_.isList(*v, path))
        for (std::size_t i = 0; i < v->size(); ++i)
          if (auto key = d_.value((*v)[i], indexPath(path, i), checkSshKey))
            df.ssh_authorized_keys.push_back(std::move(*key));
    }
  }

  // --- pod_network ---------------------------------------------------------------------
  void podNetwork(const yaml::Node& n) {
    MapReader m(d_, n, "pod_network", keysUnder("pod_network"));
    if (!m.valid()) return;
    PodNetwork pn;
    pn.pos = m.pos();
    if (auto v = m.required("cidr"))
      if (auto x = locatedValue<Cidr>(*v, m.pathOf("cidr"), Cidr::parse)) pn.cidr = *x;
    if (auto v = m.get("subnet_length")) {
      std::uint32_t len = 0;
      count(m, "subnet_length", len, 1);
      if (len > 32)
        d_.error(*v, m.pathOf("subnet_length"), "a prefix length is at most 32");
      else if (len > 0)
        pn.subnet_length = located(static_cast<int>(len), *v, m.pathOf("subnet_length"));
    }
    if (auto v = m.get("backend"))
      if (auto b = d_.choice<PodBackend>(
              *v, m.pathOf("backend"),
              {{"vxlan", PodBackend::Vxlan}, {"host-gw", PodBackend::HostGw}}))
        pn.backend = *b;
    duration(m, "lease_ttl", pn.lease_ttl, true);
    if (pn.lease_ttl < std::chrono::minutes(2) || pn.lease_ttl > std::chrono::hours(24 * 30))
      d_.error(m.pos(), m.pathOf("lease_ttl"), "between 2m and 30d");
    c_.pod_network = std::move(pn);
  }

  // --- nodes ---------------------------------------------------------------------------
  void nodes(const yaml::Node& n) {
    if (!d_.isList(n, "nodes")) return;
    c_.nodes.reserve(n.size());
    for (std::size_t i = 0; i < n.size(); ++i) node(n[i], indexPath("nodes", i));
  }

  void node(const yaml::Node& n, std::string path) {
    MapReader m(d_, n, path, keysUnder("nodes[]"));
    if (!m.valid()) return;
    Node& node = c_.nodes.emplace_back();  // built in place: a Node is large
    node.pos = m.pos();
    node.path = std::move(path);
    if (auto v = m.required("name"))
      if (auto x = locatedValue<std::string>(*v, m.pathOf("name"), checkHostName))
        node.name = std::move(*x);
    if (auto v = m.get("mac"))
      if (auto x = locatedValue<MacAddress>(*v, m.pathOf("mac"), MacAddress::parse))
        node.macs.push_back(*x);
    if (auto v = m.get("macs")) {
      if (m.has("mac")) {
        d_.error(*v, m.pathOf("macs"), "use either mac or macs, not both");
      } else if (d_.isList(*v, m.pathOf("macs"))) {
        node.macs = oneOrMany<MacAddress>(*v, m.pathOf("macs"), MacAddress::parse);
      }
    }
    if (auto v = m.get("uuid")) node.uuid = locatedValue<Uuid>(*v, m.pathOf("uuid"), Uuid::parse);
    if (auto v = m.get("ip"))
      node.ip = locatedValue<Ipv4Address>(*v, m.pathOf("ip"), Ipv4Address::parse);
    if (auto v = m.get("profile"))
      node.profile = locatedValue<std::string>(*v, m.pathOf("profile"), checkName);
    if (auto v = m.get("labels")) {
      MapReader labels(d_, *v, m.pathOf("labels"), keysUnder("nodes[].labels"));
      for (const auto& [key, value] : labels.entries())
        if (auto s = d_.string(value, labels.pathOf(key))) node.labels.emplace(key, std::move(*s));
    }
    if (auto v = m.get("bmc")) node.bmc = bmc(*v, m.pathOf("bmc"));
  }

  std::optional<NodeBmc> bmc(const yaml::Node& n, const std::string& path) {
    static constexpr std::string_view kSecret =
        "BMC user names and passwords do not go into the declaration: name an entry of "
        "<state dir>/bmc-credentials.yaml (or DROVER_BMC_<NAME>_USERNAME/_PASSWORD) with "
        "`credentials: NAME`";
    static constexpr RefusedKey kRefused[] = {{"password", kSecret}, {"username", kSecret}};
    const auto errors = d_.errorCount();
    MapReader m(d_, n, path, keysUnder("nodes[].bmc"), kRefused);
    if (!m.valid()) return std::nullopt;
    NodeBmc b;
    b.pos = m.pos();
    if (auto v = m.required("driver"))
      if (auto d = d_.choice<BmcDriver>(
              *v, m.pathOf("driver"), {{"ipmi", BmcDriver::Ipmi}, {"redfish", BmcDriver::Redfish}}))
        b.driver = *d;
    if (auto v = m.required("address")) {
      if (auto a = d_.string(*v, m.pathOf("address"))) {
        b.address = *a;
        if (auto bad = checkBmcAddress(b.driver, *a); !bad.empty())
          d_.error(*v, m.pathOf("address"), bad);
      }
    }
    if (auto v = m.required("credentials"))
      if (auto c = d_.value(*v, m.pathOf("credentials"), checkName)) b.credentials = *c;
    setString(m, "system", b.system);
    setString(m, "ca_file", b.ca_file, checkRelativeOrAbsolute);
    if (auto v = m.get("insecure"))
      if (auto on = d_.boolean(*v, m.pathOf("insecure"))) b.insecure = *on;
    duration(m, "timeout", b.timeout, true);
    if (b.driver == BmcDriver::Ipmi)
      for (auto key : {"system", "ca_file", "insecure"})
        if (auto v = m.get(key)) d_.error(*v, m.pathOf(key), "only for driver: redfish");
    if (b.insecure && !b.ca_file.empty())
      d_.error(m.pos(), path, "ca_file and insecure: true contradict each other: give one");
    if (b.driver == BmcDriver::Redfish && b.address.starts_with("http://") && !b.insecure)
      d_.error(m.pos(), path,
               "a Redfish address over plain http sends the BMC password in clear: use https, or "
               "say insecure: true");
    if (d_.errorCount() != errors) return std::nullopt;
    return b;
  }

  static std::string checkBmcAddress(BmcDriver driver, const std::string& text) {
    if (driver == BmcDriver::Redfish) {
      auto url = Url::parse(text);
      if (!url || (url->scheme != "https" && url->scheme != "http"))
        return "a Redfish address is a URL: https://host[:port]";
      if (url->target != "/")
        return "a Redfish address has no path: the service root is /redfish/v1 below it";
      return "";
    }
    if (text.find("://") != std::string::npos) return "an IPMI address is host[:port], not a URL";
    const auto colon = text.rfind(':');
    const std::string host = colon == std::string::npos ? text : text.substr(0, colon);
    if (host.empty() || (!Ipv4Address::parse(host) && !checkHostName(host) && !checkDomain(host)))
      return "\"" + text + "\" is not host[:port]";
    if (colon != std::string::npos) {
      const auto port = text.substr(colon + 1);
      int p = 0;
      for (char c : port) p = (c >= '0' && c <= '9' && p < 100000) ? p * 10 + (c - '0') : 100000;
      if (port.empty() || p < 1 || p > 65535) return "\"" + text + "\": the port is not 1-65535";
    }
    return "";
  }

  Decoder& d_;
  Config& c_;
};

// The one place relative file system paths are resolved: every path of the declaration
// (state, TLS files, TFTP root, image files and signatures, trusted keys, templates) is
// made absolute against the declaration's folder, as `cloud_config` always was. Paths on
// the installed node (join.image) and loader names under the TFTP root are not ours.
void resolvePaths(Config& c) {
  std::error_code ec;
  if (auto abs = std::filesystem::absolute(c.base_dir, ec); !ec)
    c.base_dir = abs.lexically_normal();
  auto resolve = [&c](std::string& p) {
    if (!p.empty() && std::filesystem::path(p).is_relative())
      p = (c.base_dir / p).lexically_normal().string();
  };
  resolve(c.server.tftp.root);
  resolve(c.server.boot.grub_efi);
  resolve(c.server.boot.shim_efi);
  resolve(c.server.boot.grub_efi_arm64);
  resolve(c.server.api.cert);
  resolve(c.server.api.key);
  resolve(c.server.state.path);
  resolve(c.server.state.ca_file);
  for (auto& [name, key] : c.trust.keys) resolve(key.value);
  for (auto& [name, img] : c.images) {
    for (auto* a : {&img.kernel, &img.initrd, &img.disk}) {
      if (!*a) continue;
      resolve((*a)->path);
      if ((*a)->signature) resolve((*a)->signature->path);
    }
  }
  for (auto& node : c.nodes)
    if (node.bmc) resolve(node.bmc->ca_file);
  for (auto& [name, p] : c.profiles) {
    if (!p.cloud_config) continue;
    std::string file = p.cloud_config->value;
    resolve(file);
    p.cloud_config_file = file;
  }
}

}  // namespace

Config decodeConfig(std::string_view yaml, const std::string& file,
                    const std::filesystem::path& base_dir, Diagnostics& out) {
  Config config;
  config.file = file;
  config.base_dir = base_dir;
  Decoder d(file, out);
  const auto tree = yaml::Tree::parse(yaml);
  if (const auto& e = tree.error()) {
    d.error(e->pos, "", "YAML syntax error: " + e->message);
    return config;
  }
  const auto doc = tree.root();
  if (!doc || doc->isNull()) {
    d.error(Pos{1, 1}, "", "the file holds no configuration");
    return config;
  }
  ConfigDecoder(d, config).root(*doc);
  resolvePaths(config);
  return config;
}

// Within one pass, errors are shown in file order; those without a position come last.
void sortByPosition(Diagnostics& errors, std::size_t from) {
  auto key = [](const Diagnostic& d) {
    return std::pair(d.pos.line == 0 ? std::numeric_limits<int>::max() : d.pos.line, d.pos.col);
  };
  std::stable_sort(errors.begin() + static_cast<std::ptrdiff_t>(from), errors.end(),
                   [&](const Diagnostic& a, const Diagnostic& b) { return key(a) < key(b); });
}

LoadResult loadConfigText(std::string_view yaml, const std::string& file,
                          const std::filesystem::path& base_dir) {
  LoadResult result;
  auto config = decodeConfig(yaml, file, base_dir, result.errors);
  sortByPosition(result.errors, 0);
  if (!result.errors.empty()) return result;
  checkConfig(config, result.errors);
  sortByPosition(result.errors, 0);
  if (result.errors.empty()) result.config = std::make_shared<const Config>(std::move(config));
  return result;
}

LoadResult loadConfigFile(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  std::error_code ec;
  if (!in || std::filesystem::is_directory(file, ec)) {
    const int err = errno;
    LoadResult result;
    std::string why =
        std::filesystem::is_directory(file, ec) ? "is a directory" : std::strerror(err);
    result.errors.push_back(Diagnostic{file, {}, "", "cannot read the file: " + why});
    return result;
  }
  // Read in one piece when the size is known (a regular file), else as a stream.
  std::string text;
  if (auto size = std::filesystem::file_size(file, ec); !ec && size > 0) {
    text.resize(size);
    in.read(text.data(), static_cast<std::streamsize>(size));
    text.resize(static_cast<std::size_t>(in.gcount()));
  }
  if (in.good()) {
    std::ostringstream rest;
    rest << in.rdbuf();
    text += rest.str();
  }
  auto dir = std::filesystem::path(file).parent_path();
  if (dir.empty()) dir = ".";
  return loadConfigText(text, file, dir);
}

}  // namespace drover::cluster
