#include "power/redfish.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/curl/easy.hpp"
#include "common/log.hpp"

namespace drover::power {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxBody = 1 << 20;

class RedfishBmc final : public Bmc {
 public:
  RedfishBmc(BmcConfig config, Credentials credentials)
      : config_(std::move(config)), credentials_(std::move(credentials)) {
    while (!config_.address.empty() && config_.address.back() == '/') config_.address.pop_back();
    if (config_.insecure)
      log::get("power")->warn(
          "BMC_TLS_INSECURE address={} the Redfish certificate is NOT verified (insecure: true); "
          "anyone on the path can read the BMC password",
          config_.address);
    else if (config_.address.starts_with("http://"))
      log::get("power")->warn(
          "BMC_PLAIN_HTTP address={} Redfish over plain HTTP: the BMC password crosses the network "
          "in clear",
          config_.address);
  }

  Driver driver() const override { return Driver::Redfish; }

  Result<PowerState> status() override {
    startCall();
    auto sys = system();
    if (!sys) return sys.error();
    const auto state = sys->value("PowerState", std::string());
    if (state == "On" || state == "PoweringOn") return PowerState::On;
    if (state == "Off" || state == "PoweringOff") return PowerState::Off;
    return makeError("bmc_protocol", fmt::format("{}: PowerState \"{}\" is not On or Off", *path_,
                                                 log::sanitize(state)));
  }

  Status set(PowerAction action) override {
    startCall();
    auto sys = system();
    if (!sys) return sys.error();
    std::string target = *path_ + "/Actions/ComputerSystem.Reset";
    std::vector<std::string> allowed;
    if (auto a = sys->find("Actions"); a != sys->end() && a->is_object()) {
      if (auto r = a->find("#ComputerSystem.Reset"); r != a->end() && r->is_object()) {
        if (auto t = r->find("target"); t != r->end() && t->is_string())
          target = t->get<std::string>();
        if (auto v = r->find("ResetType@Redfish.AllowableValues"); v != r->end() && v->is_array())
          for (const auto& x : *v)
            if (x.is_string()) allowed.push_back(x.get<std::string>());
      }
    }
    std::string type = resetType(action);
    // A BMC without PowerCycle still restarts the machine: the next boot is the same.
    if (action == PowerAction::Cycle && !allowed.empty() &&
        std::find(allowed.begin(), allowed.end(), type) == allowed.end())
      type = "ForceRestart";
    auto r = call("POST", target, json{{"ResetType", type}}.dump());
    if (!r) return r.error();
    return {};
  }

  Status setNextBoot(BootDevice device, bool once) override {
    if (device != BootDevice::Network && device != BootDevice::Disk)
      return makeError("bmc_config", "only network and disk can be set as the next boot device");
    startCall();
    if (!path_) {
      if (auto sys = system(); !sys) return sys.error();
    }
    json body = {{"Boot",
                  {{"BootSourceOverrideTarget", device == BootDevice::Network ? "Pxe" : "Hdd"},
                   {"BootSourceOverrideEnabled", once ? "Once" : "Continuous"}}}};
    auto r = call("PATCH", *path_, body.dump());
    if (!r) return r.error();
    return {};
  }

  Result<BootOverride> nextBoot() override {
    startCall();
    auto sys = system();
    if (!sys) return sys.error();
    auto boot = sys->find("Boot");
    if (boot == sys->end() || !boot->is_object())
      return makeError("bmc_protocol", *path_ + ": no Boot object");
    const auto enabled = boot->value("BootSourceOverrideEnabled", std::string("Disabled"));
    const auto target = boot->value("BootSourceOverrideTarget", std::string("None"));
    BootOverride o;
    o.once = enabled != "Continuous";
    o.valid = enabled != "Disabled";
    if (target == "None") {
      o.device = BootDevice::None;
    } else if (target == "Pxe") {
      o.device = BootDevice::Network;
    } else if (target == "Hdd") {
      o.device = BootDevice::Disk;
    } else {
      o.device = BootDevice::Other;
    }
    return o;
  }

 private:
  // Each public call, however many requests it makes, ends within the timeout.
  void startCall() { deadline_ = std::chrono::steady_clock::now() + config_.timeout; }
  long remainingMs() const {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline_ - std::chrono::steady_clock::now());
    return std::max<long>(static_cast<long>(left.count()), 1);
  }

  static std::string resetType(PowerAction a) {
    switch (a) {
      case PowerAction::On:
        return "On";
      case PowerAction::Off:
        return "ForceOff";
      case PowerAction::Cycle:
        return "PowerCycle";
      case PowerAction::Reset:
        return "ForceRestart";
    }
    return "On";
  }

  // The computer system's resource, finding its path on first use.
  Result<json> system() {
    if (!path_) {
      if (!config_.system_id.empty()) {
        path_ = "/redfish/v1/Systems/" + config_.system_id;
      } else {
        auto list = call("GET", "/redfish/v1/Systems");
        if (!list) return list.error();
        auto members = list->find("Members");
        if (members == list->end() || !members->is_array() || members->empty() ||
            !(*members)[0].is_object() || !(*members)[0].contains("@odata.id") ||
            !(*members)[0]["@odata.id"].is_string())
          return makeError("bmc_protocol", "/redfish/v1/Systems lists no system");
        path_ = (*members)[0]["@odata.id"].get<std::string>();
      }
    }
    return call("GET", *path_);
  }

  // One request; the JSON answer (an empty object for a 204 or an empty body).
  Result<json> call(const std::string& method, const std::string& path,
                    const std::string& body = "") {
    curl::Options opt;
    opt.user_agent = "drover-bmc";
    opt.tls.ca_file = config_.ca_file;
    auto easy = curl::Easy::create(opt);
    if (!easy) return makeError("bmc_config", easy.error().message);
    CURL* h = easy->get();
    const long ms = remainingMs();
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ms);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (config_.insecure) {
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(h, CURLOPT_USERNAME, credentials_.username.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, credentials_.password.c_str());
    easy->setUrl(config_.address + path);
    std::vector<std::string> headers = {"Accept: application/json", "OData-Version: 4.0"};
    if (!body.empty()) headers.push_back("Content-Type: application/json");
    easy->setHeaders(headers);
    if (method == "GET") {
      easy->setRequest("GET");
    } else {
      easy->setRequest(method, body);
    }
    std::string reply;
    easy->collectBody(&reply, kMaxBody);
    const auto what = method + " " + path;
    auto outcome = easy->perform();
    if (!outcome.ok()) return transferError(outcome, what);
    if (outcome.status == 401 || outcome.status == 403)
      return makeError("bmc_auth", fmt::format("{}: HTTP {}: the BMC refused the credentials", what,
                                               outcome.status));
    if (outcome.status >= 300)
      return makeError("bmc_refused",
                       fmt::format("{}: HTTP {}{}", what, outcome.status, redfishMessage(reply)));
    if (reply.empty()) return json::object();
    auto j = json::parse(reply, nullptr, false);
    if (j.is_discarded() || !j.is_object())
      return makeError("bmc_protocol", fmt::format("{}: the answer is not a JSON object", what));
    return j;
  }

  static Error transferError(const curl::Outcome& o, const std::string& what) {
    const auto msg = fmt::format("{}: {}", what, o.error);
    switch (o.code) {
      case CURLE_OPERATION_TIMEDOUT:
        return makeError("bmc_timeout", msg);
      case CURLE_COULDNT_CONNECT:
      case CURLE_COULDNT_RESOLVE_HOST:
      case CURLE_SEND_ERROR:
      case CURLE_RECV_ERROR:
      case CURLE_GOT_NOTHING:
        return makeError("bmc_unreachable", msg);
      case CURLE_WRITE_ERROR:
        return makeError("bmc_protocol", msg + " (answer too large)");
      default:
        break;
    }
    if (curl::isTlsFailure(o.code)) return makeError("bmc_tls", msg);
    return makeError("bmc_unreachable", msg);
  }

  // ": <message>" from a Redfish error body, when there is one.
  static std::string redfishMessage(const std::string& body) {
    auto j = json::parse(body, nullptr, false);
    if (!j.is_object() || !j.contains("error") || !j["error"].is_object()) return "";
    const auto& e = j["error"];
    if (auto info = e.find("@Message.ExtendedInfo");
        info != e.end() && info->is_array() && !info->empty() && (*info)[0].is_object() &&
        (*info)[0].contains("Message") && (*info)[0]["Message"].is_string())
      return ": " + log::sanitize((*info)[0]["Message"].get<std::string>(), 200);
    if (auto m = e.find("message"); m != e.end() && m->is_string())
      return ": " + log::sanitize(m->get<std::string>(), 200);
    return "";
  }

  BmcConfig config_;
  Credentials credentials_;
  std::optional<std::string> path_;
  std::chrono::steady_clock::time_point deadline_{};
};

}  // namespace

Result<std::unique_ptr<Bmc>> makeRedfishBmc(const BmcConfig& config,
                                            const Credentials& credentials) {
  if (!config.address.starts_with("https://") && !config.address.starts_with("http://"))
    return makeError("bmc_config", "a Redfish address is a URL: https://host[:port]");
  return std::unique_ptr<Bmc>(std::make_unique<RedfishBmc>(config, credentials));
}

}  // namespace drover::power
