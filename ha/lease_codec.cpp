#include "ha/lease_codec.hpp"

#include <nlohmann/json.hpp>

#include "common/base64.hpp"

namespace drover::ha {

using nlohmann::json;

namespace {

Error corrupt(std::string what) {
  return makeError("lease_corrupt", "stored lease: " + std::move(what));
}

Result<dhcp::LeaseState> stateNamed(std::string_view name) {
  for (auto s : {dhcp::LeaseState::Bound, dhcp::LeaseState::Released, dhcp::LeaseState::Declined})
    if (dhcp::leaseStateName(s) == name) return s;
  return corrupt("unknown state \"" + std::string(name) + "\"");
}

const json* field(const json& j, const char* name, json::value_t type) {
  auto it = j.find(name);
  if (it == j.end()) return nullptr;
  if (type == json::value_t::number_integer) return it->is_number_integer() ? &*it : nullptr;
  return it->type() == type ? &*it : nullptr;
}

Result<std::string> text(const json& j, const char* name) {
  const json* f = field(j, name, json::value_t::string);
  if (f == nullptr) return corrupt(std::string("\"") + name + "\" is missing or not a string");
  return f->get<std::string>();
}

}  // namespace

std::string leasePrefix(std::string_view prefix) {
  return std::string(prefix) + "/leases/";
}

std::string leaseKey(std::string_view prefix, Ipv4Address ip) {
  return leasePrefix(prefix) + ip.str();
}

std::string encodeLease(const dhcp::Lease& l, std::string_view by) {
  return json{{"ip", l.ip.str()},       {"client", encodeBase64(l.client_key)},
              {"mac", l.mac.str()},     {"state", std::string(dhcp::leaseStateName(l.state))},
              {"expires", l.expires},   {"network", l.network},
              {"hostname", l.hostname}, {"by", std::string(by)}}
      .dump();
}

Result<StoredLease> decodeLease(std::string_view in) {
  const json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return corrupt("not a JSON object");
  StoredLease out;
  auto ip = text(j, "ip");
  if (!ip) return ip.error();
  auto addr = Ipv4Address::parse(*ip);
  if (!addr) return corrupt("bad ip \"" + *ip + "\"");
  out.lease.ip = *addr;
  auto client = text(j, "client");
  if (!client) return client.error();
  auto key = decodeBase64(*client);
  if (!key) return corrupt("client is not base64");
  out.lease.client_key = std::move(*key);
  auto mac_text = text(j, "mac");
  if (!mac_text) return mac_text.error();
  auto mac = MacAddress::parse(*mac_text);
  if (!mac) return corrupt("bad mac \"" + *mac_text + "\"");
  out.lease.mac = *mac;
  auto state_text = text(j, "state");
  if (!state_text) return state_text.error();
  auto state = stateNamed(*state_text);
  if (!state) return state.error();
  out.lease.state = *state;
  const json* expires = field(j, "expires", json::value_t::number_integer);
  if (expires == nullptr) return corrupt("\"expires\" is missing or not an integer");
  out.lease.expires = expires->get<std::int64_t>();
  for (auto [name, dest] : {std::pair{"network", &out.lease.network},
                            std::pair{"hostname", &out.lease.hostname}, std::pair{"by", &out.by}}) {
    auto v = text(j, name);
    if (!v) return v.error();
    *dest = std::move(*v);
  }
  return out;
}

}  // namespace drover::ha
