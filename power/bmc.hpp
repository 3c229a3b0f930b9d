// A machine's baseboard management controller, behind one small interface: power state,
// power actions and the next boot device, for every driver (IPMI v2.0 lanplus through
// FreeIPMI, Redfish over HTTPS). Every call is bounded by the configured timeout, and every
// expected failure is an Error whose code is one of:
//
// | code               | meaning                                                          |
// |--------------------|------------------------------------------------------------------|
// | bmc_auth           | the BMC refused the user name or password (401, RAKP failure)    |
// | bmc_timeout        | no answer within the timeout                                     |
// | bmc_unreachable    | no connection: refused, no route, unknown host                   |
// | bmc_tls            | the BMC's certificate did not verify against the configured CA   |
// | bmc_protocol       | an answer that is not what the protocol says (bad JSON, fields)  |
// | bmc_refused        | the BMC understood and said no (4xx/5xx, IPMI completion code)   |
// | bmc_ignored_boot_override | the next boot device read back is not the one just set   |
// | bmc_config         | the BMC's declaration or credentials cannot be used              |
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace drover::power {

enum class Driver { Ipmi, Redfish };
enum class PowerState { On, Off };
enum class PowerAction { On, Off, Cycle, Reset };
// Other: an override the BMC reports that Drover does not set (CD, BIOS setup, ...).
enum class BootDevice { None, Network, Disk, Other };

// The next boot device as the BMC reports it. `valid` is whether the firmware will use it
// (IPMI's boot flags valid bit, Redfish's BootSourceOverrideEnabled other than Disabled); a
// BMC may keep a device it will not use.
struct BootOverride {
  BootDevice device = BootDevice::None;
  bool once = true;  // false: persistent
  bool valid = true;
  friend bool operator==(const BootOverride&, const BootOverride&) = default;
};

struct Credentials {
  std::string username;
  std::string password;
};

struct BmcConfig {
  Driver driver = Driver::Ipmi;
  // ipmi: host[:port] (UDP 623 by default); redfish: https://host[:port] (the service root
  // is /redfish/v1 below it).
  std::string address;
  std::string system_id;  // redfish: a member of /redfish/v1/Systems; empty: the first one
  std::string ca_file;    // redfish: trust this CA (PEM) instead of the system's
  bool insecure = false;  // redfish: do not verify the certificate at all
  std::chrono::milliseconds timeout{10000};  // per call of the interface below
};

class Bmc {
 public:
  virtual ~Bmc() = default;
  virtual Result<PowerState> status() = 0;
  virtual Status set(PowerAction action) = 0;
  virtual Status setNextBoot(BootDevice device, bool once = true) = 0;
  virtual Result<BootOverride> nextBoot() = 0;
  virtual Driver driver() const = 0;
};

// The driver for `config`; "bmc_config" when the address cannot be used.
Result<std::unique_ptr<Bmc>> makeBmc(const BmcConfig& config, const Credentials& credentials);

// setNextBoot, then nextBoot: "bmc_ignored_boot_override" when the BMC acknowledged the
// override but reads back another one.
Status setNextBootVerified(Bmc& bmc, BootDevice device, bool once = true);

std::string_view toString(Driver d);
std::string_view toString(PowerState s);
std::string_view toString(PowerAction a);
std::string_view toString(BootDevice d);
std::optional<PowerAction> parsePowerAction(std::string_view s);

}  // namespace drover::power
