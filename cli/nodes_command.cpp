// drover nodes | node NAME | reinstall NAME: the operator's view of a running `drover serve`,
// through its API (docs/api.md, docs/operations.md).
#include <curl/curl.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <ostream>
#include <sstream>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cluster/loader.hpp"

namespace drover::cli {
namespace {

using nlohmann::json;

struct Connection {
  std::string base;   // https://host:port, no trailing slash
  std::string token;
  std::string token_source;
  std::string ca;     // file; empty: the system's trust store
};

std::string readTrimmed(const std::filesystem::path& p) {
  std::ifstream in(p);
  if (!in) return {};
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.erase(0, 1);
  return s;
}

// Where the API is and what to present, from the flags, the declaration and the state dir.
Result<Connection> connect(const ApiTarget& t) {
  Connection c;
  std::filesystem::path state_dir = t.state_dir;
  c.base = t.api;
  if (!t.config.empty()) {
    auto loaded = cluster::loadConfigFile(t.config);
    if (!loaded.ok()) {
      std::string all = t.config + " is not a valid declaration:";
      for (const auto& e : loaded.errors) all += "\n  " + e.str();
      return makeError("config", all);
    }
    const auto& s = loaded.config->server;
    if (state_dir.empty()) state_dir = std::filesystem::path(s.state.path).parent_path();
    if (c.base.empty()) {
      // The API's certificate names the advertise address and 127.0.0.1; on the server
      // itself a wildcard listener is reached on loopback.
      std::string host = s.api.listen.host;
      if (host.empty() || host == "0.0.0.0" || host == "::") host = "127.0.0.1";
      if (host.find(':') != std::string::npos) host = "[" + host + "]";
      c.base = fmt::format("{}://{}:{}", s.api.tls == cluster::TlsMode::Off ? "http" : "https", host,
                           s.api.listen.port);
    }
  }
  if (c.base.empty()) return makeError("usage", "say where the API is: --config FILE or --api URL");
  while (c.base.ends_with('/')) c.base.pop_back();

  c.ca = t.ca;
  if (c.ca.empty() && !state_dir.empty() && std::filesystem::exists(state_dir / "tls/ca.crt")) {
    c.ca = (state_dir / "tls/ca.crt").string();
  }
  if (!t.token.empty()) {
    c.token = t.token;
    c.token_source = "--token";
  } else if (const char* env = std::getenv("DROVER_TOKEN"); env && *env) {
    c.token = env;
    c.token_source = "DROVER_TOKEN";
  } else if (!state_dir.empty()) {
    c.token = readTrimmed(state_dir / "operator.token");
    c.token_source = (state_dir / "operator.token").string();
    if (c.token.empty()) {
      return makeError("token", fmt::format("no operator token: {} is missing or unreadable (run as the user "
                                            "drover serve runs as, or set DROVER_TOKEN)",
                                            c.token_source));
    }
  } else {
    return makeError("token", "no operator token: give --state-dir DIR, --config FILE or set DROVER_TOKEN");
  }
  return c;
}

struct HttpReply {
  long status = 0;
  std::string body;
};

Result<HttpReply> call(const Connection& c, const std::string& method, const std::string& path) {
  HttpReply r;
  CURL* h = curl_easy_init();
  if (h == nullptr) return makeError("curl", "curl_easy_init failed");
  const std::string url = c.base + path;
  const std::string auth = "Authorization: Bearer " + c.token;
  curl_slist* headers = curl_slist_append(nullptr, auth.c_str());
  headers = curl_slist_append(headers, "Accept: application/json");
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  if (!c.ca.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, c.ca.c_str());
  if (method == "POST") {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, "{}");
    headers = curl_slist_append(headers, "Content-Type: application/json");
  }
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, +[](char* p, size_t s, size_t n, void* u) {
    static_cast<std::string*>(u)->append(p, s * n);
    return s * n;
  });
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &r.body);
  const CURLcode rc = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(h);
  if (rc != CURLE_OK) {
    std::string why = errbuf[0] != 0 ? errbuf : curl_easy_strerror(rc);
    std::string hint;
    if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT)
      hint = " (is drover serve running, and listening there?)";
    if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE)
      hint = fmt::format(" (the server's certificate does not match the CA {})", c.ca.empty() ? "store" : c.ca);
    return makeError("unreachable", fmt::format("cannot reach the API at {}: {}{}", c.base, why, hint));
  }
  if (r.status == 401) {
    return makeError("unauthorized",
                     fmt::format("the API at {} refused the operator token from {}", c.base, c.token_source));
  }
  if (r.status == 429) {
    return makeError("throttled", "the API is refusing this address after repeated failed logins; wait 10 s");
  }
  if (r.status >= 400) {
    auto j = json::parse(r.body, nullptr, false);
    std::string msg = j.is_object() ? j.value("message", j.value("error", "")) : r.body.substr(0, 200);
    return makeError(r.status == 404 ? "not_found" : "api_error", fmt::format("{} {}: {}", r.status, path, msg));
  }
  return r;
}

Result<json> getJson(const Connection& c, const std::string& path) {
  auto r = call(c, "GET", path);
  if (!r) return r.error();
  auto j = json::parse(r->body, nullptr, false);
  if (j.is_discarded()) return makeError("bad_reply", "the API sent a reply that is not JSON: " + path);
  return j;
}

std::int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::int64_t num(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<std::int64_t>() : 0;
}

// Escapes path segments (node names are DNS-like, but never trust that in a URL).
std::string segment(const std::string& s) {
  std::string out;
  for (unsigned char ch : s) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') out.push_back(static_cast<char>(ch));
    else out += fmt::format("%{:02X}", ch);
  }
  return out;
}

int report(std::ostream& err, const Error& e) {
  err << "drover: " << e.message << '\n';
  return e.code == "unreachable" ? 2 : 1;
}

void printTable(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()));
    for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    out << line << '\n';
  }
}

std::string bytes(std::int64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{} B", n) : fmt::format("{:.1f} {}", v, units[u]);
}

// One line about the hardware an agent reported.
std::string factsSummary(const json& f) {
  if (!f.is_object() || f.empty()) return "none reported";
  std::vector<std::string> parts;
  if (auto cpu = f.find("cpu"); cpu != f.end() && cpu->is_object()) {
    std::string model = str(*cpu, "model");
    parts.push_back(fmt::format("{} cpus{}", num(*cpu, "count"), model.empty() ? "" : " (" + model + ")"));
  }
  if (num(f, "memory_bytes") > 0) parts.push_back(bytes(num(f, "memory_bytes")) + " memory");
  if (auto disks = f.find("disks"); disks != f.end() && disks->is_array()) {
    std::string d;
    for (const auto& disk : *disks) d += (d.empty() ? "" : ", ") + str(disk, "name") + " " + bytes(num(disk, "size_bytes"));
    parts.push_back("disks: " + (d.empty() ? "none" : d));
  }
  if (auto arch = str(f, "arch"); !arch.empty()) parts.push_back(arch);
  if (auto smbios = f.find("smbios"); smbios != f.end() && smbios->is_object()) {
    auto vendor = str(*smbios, "vendor"), product = str(*smbios, "product");
    if (!vendor.empty() || !product.empty()) parts.push_back(vendor + (vendor.empty() ? "" : " ") + product);
  }
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out.empty() ? "none reported" : out;
}

void addTargetOptions(CLI::App* cmd, ApiTarget& t) {
  cmd->add_option("-c,--config", t.config, "Cluster declaration: the API address and state dir come from it");
  cmd->add_option("--api", t.api, "API URL, e.g. https://192.0.2.1:8443");
  cmd->add_option("--state-dir", t.state_dir, "State directory (operator.token, tls/ca.crt)");
  cmd->add_option("--ca", t.ca, "CA certificate to trust (default: STATE_DIR/tls/ca.crt)");
}

}  // namespace

std::string formatAge(std::int64_t ms) {
  if (ms < 0) ms = 0;
  std::int64_t s = ms / 1000;
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
  return fmt::format("{}d{}h", s / 86400, (s % 86400) / 3600);
}

int runNodes(const ApiTarget& target, bool raw, std::ostream& out, std::ostream& err) {
  auto c = connect(target);
  if (!c) return report(err, c.error());
  auto nodes = getJson(*c, "/v1/nodes");
  if (!nodes) return report(err, nodes.error());
  if (raw) {
    out << nodes->dump(2) << '\n';
    return 0;
  }
  const auto now = nowMs();
  std::vector<std::vector<std::string>> rows = {{"NAME", "STATE", "IP", "MAC", "PROFILE", "LAST-EVENT", "AGE"}};
  for (const auto& n : *nodes) {
    const auto since = num(n, "since");
    rows.push_back({str(n, "name"), str(n, "state"), str(n, "ip").empty() ? "-" : str(n, "ip"),
                    str(n, "mac").empty() ? "-" : str(n, "mac"), str(n, "profile").empty() ? "-" : str(n, "profile"),
                    str(n, "last_event").empty() ? "-" : str(n, "last_event"), since > 0 ? formatAge(now - since) : "-"});
  }
  printTable(out, rows);
  return 0;
}

int runNode(const ApiTarget& target, const std::string& name, bool raw, std::ostream& out, std::ostream& err) {
  auto c = connect(target);
  if (!c) return report(err, c.error());
  auto node = getJson(*c, "/v1/nodes/" + segment(name));
  if (!node) return report(err, node.error());
  auto events = getJson(*c, "/v1/nodes/" + segment(name) + "/events");
  if (!events) return report(err, events.error());
  if (raw) {
    json all = *node;
    all["events"] = *events;
    out << all.dump(2) << '\n';
    return 0;
  }
  const auto now = nowMs();
  const auto& n = *node;
  auto ago = [&](std::int64_t ts) { return ts > 0 ? formatAge(now - ts) + " ago" : std::string("never"); };
  std::vector<std::vector<std::string>> rows = {
      {"name:", str(n, "name")},
      {"state:", str(n, "state") + (num(n, "since") > 0 ? " for " + formatAge(now - num(n, "since")) : "")},
      {"declared:", n.value("declared", false) ? "yes" : "no (discovered; add it to the declaration)"},
      {"mac:", str(n, "mac").empty() ? "-" : str(n, "mac")},
      {"ip:", str(n, "ip").empty() ? "-" : str(n, "ip")},
      {"profile:", str(n, "profile").empty() ? "-" : str(n, "profile")},
      {"last seen:", ago(num(n, "last_seen"))},
      {"facts:", factsSummary(n.value("facts", json::object()))},
  };
  printTable(out, rows);
  out << "\ntimeline:\n";
  if (events->empty()) out << "  (nothing yet)\n";
  std::vector<std::vector<std::string>> tl;
  for (const auto& e : *events) tl.push_back({"  " + ago(num(e, "ts")), str(e, "phase"), str(e, "message")});
  printTable(out, tl);
  return 0;
}

int runReinstall(const ApiTarget& target, const std::string& name, std::ostream& out, std::ostream& err) {
  auto c = connect(target);
  if (!c) return report(err, c.error());
  auto r = call(*c, "POST", "/v1/nodes/" + segment(name) + "/reinstall");
  if (!r) return report(err, r.error());
  out << name << ": reinstall requested; its next network boot installs it again\n";
  return 0;
}

void addNodesCommands(CLI::App& root, Context& ctx) {
  struct Flags {
    ApiTarget target;
    std::string name;
    bool json = false;
  };
  auto f = std::make_shared<Flags>();
  auto* nodes = root.add_subcommand("nodes", "List nodes: NAME STATE IP MAC PROFILE LAST-EVENT AGE");
  addTargetOptions(nodes, f->target);
  nodes->add_flag("--json", f->json, "Print the API's JSON");
  nodes->callback([f, &ctx] { ctx.exit_code = runNodes(f->target, f->json, ctx.out, ctx.err); });

  auto* node = root.add_subcommand("node", "One node: its record, hardware facts and boot timeline");
  node->add_option("name", f->name, "Node name")->required();
  addTargetOptions(node, f->target);
  node->add_flag("--json", f->json, "Print the API's JSON");
  node->callback([f, &ctx] { ctx.exit_code = runNode(f->target, f->name, f->json, ctx.out, ctx.err); });

  auto* reinstall = root.add_subcommand("reinstall", "Install a node again on its next network boot");
  reinstall->add_option("name", f->name, "Node name")->required();
  addTargetOptions(reinstall, f->target);
  reinstall->callback([f, &ctx] { ctx.exit_code = runReinstall(f->target, f->name, ctx.out, ctx.err); });
}

}  // namespace drover::cli
