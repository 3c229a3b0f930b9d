#include "power/ipmi.hpp"

#include <freeipmi/freeipmi.h>

#include <fmt/format.h>

namespace drover::power {
namespace {

constexpr std::uint8_t kCipherSuite = 3;
// Ask for the session's privilege level in the Open Session Request already (as ipmitool
// does) instead of "the highest available": some BMCs take the latter literally as none.
constexpr unsigned kWorkarounds = IPMI_WORKAROUND_FLAGS_OUTOFBAND_2_0_OPEN_SESSION_PRIVILEGE;

struct CtxDeleter {
  void operator()(ipmi_ctx_t c) const {
    ipmi_ctx_close(c);
    ipmi_ctx_destroy(c);
  }
};
using Ctx = std::unique_ptr<std::remove_pointer_t<ipmi_ctx_t>, CtxDeleter>;

struct ObjDeleter {
  void operator()(fiid_obj_t o) const { fiid_obj_destroy(o); }
};
using Obj = std::unique_ptr<std::remove_pointer_t<fiid_obj_t>, ObjDeleter>;

Error ipmiError(ipmi_ctx_t ctx, std::string_view what) {
  const int n = ipmi_ctx_errnum(ctx);
  const std::string msg = fmt::format("{}: {}", what, ipmi_ctx_errormsg(ctx));
  switch (n) {
    case IPMI_ERR_USERNAME_INVALID:
    case IPMI_ERR_PASSWORD_INVALID:
    case IPMI_ERR_K_G_INVALID:
    case IPMI_ERR_PRIVILEGE_LEVEL_INSUFFICIENT:
    case IPMI_ERR_PRIVILEGE_LEVEL_CANNOT_BE_OBTAINED:
    case IPMI_ERR_AUTHENTICATION_TYPE_UNAVAILABLE:
    case IPMI_ERR_PASSWORD_VERIFICATION_TIMEOUT:
      return makeError("bmc_auth", msg);
    case IPMI_ERR_CONNECTION_TIMEOUT:
    case IPMI_ERR_SESSION_TIMEOUT:
    case IPMI_ERR_MESSAGE_TIMEOUT:
      return makeError("bmc_timeout", msg);
    case IPMI_ERR_HOSTNAME_INVALID:
    case IPMI_ERR_DEVICE_NOT_FOUND:
      return makeError("bmc_unreachable", msg);
    case IPMI_ERR_BAD_COMPLETION_CODE:
    case IPMI_ERR_COMMAND_INVALID_OR_UNSUPPORTED:
    case IPMI_ERR_BMC_BUSY:
      return makeError("bmc_refused", msg);
    default:
      return makeError("bmc_protocol", msg);
  }
}

class IpmiBmc final : public Bmc {
 public:
  IpmiBmc(BmcConfig config, Credentials credentials)
      : config_(std::move(config)), credentials_(std::move(credentials)) {}

  Driver driver() const override { return Driver::Ipmi; }

  Result<PowerState> status() override {
    auto ctx = open();
    if (!ctx) return ctx.error();
    Obj rs(fiid_obj_create(tmpl_cmd_get_chassis_status_rs));
    if (!rs) return makeError("bmc_protocol", "out of memory");
    if (ipmi_cmd_get_chassis_status(ctx->get(), rs.get()) < 0)
      return ipmiError(ctx->get(), "Get Chassis Status");
    auto on = field(rs.get(), "current_power_state.power_is_on");
    if (!on) return on.error();
    return *on ? PowerState::On : PowerState::Off;
  }

  Status set(PowerAction action) override {
    auto ctx = open();
    if (!ctx) return ctx.error();
    std::uint8_t control = IPMI_CHASSIS_CONTROL_POWER_UP;
    switch (action) {
      case PowerAction::On:
        control = IPMI_CHASSIS_CONTROL_POWER_UP;
        break;
      case PowerAction::Off:
        control = IPMI_CHASSIS_CONTROL_POWER_DOWN;
        break;
      case PowerAction::Cycle:
        control = IPMI_CHASSIS_CONTROL_POWER_CYCLE;
        break;
      case PowerAction::Reset:
        control = IPMI_CHASSIS_CONTROL_HARD_RESET;
        break;
    }
    Obj rs(fiid_obj_create(tmpl_cmd_chassis_control_rs));
    if (!rs) return makeError("bmc_protocol", "out of memory");
    if (ipmi_cmd_chassis_control(ctx->get(), control, rs.get()) < 0)
      return ipmiError(ctx->get(), fmt::format("Chassis Control {}", toString(action)));
    return {};
  }

  Status setNextBoot(BootDevice device, bool once) override {
    if (device != BootDevice::Network && device != BootDevice::Disk)
      return makeError("bmc_config", "only network and disk can be set as the next boot device");
    auto ctx = open();
    if (!ctx) return ctx.error();
    Obj rs(fiid_obj_create(tmpl_cmd_set_system_boot_options_rs));
    if (!rs) return makeError("bmc_protocol", "out of memory");
    const std::uint8_t dev = device == BootDevice::Network
                                 ? IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_BOOT_DEVICE_FORCE_PXE
                                 : IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_BOOT_DEVICE_FORCE_HARD_DRIVE;
    if (ipmi_cmd_set_system_boot_options_boot_flags(
            ctx->get(), IPMI_SYSTEM_BOOT_OPTIONS_PARAMETER_VALID_UNLOCKED,
            IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_BOOT_TYPE_PC_COMPATIBLE,
            once ? IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_VALID_FOR_NEXT_BOOT
                 : IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_VALID_PERSISTENTLY,
            IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_VALID, IPMI_SYSTEM_BOOT_OPTION_DISABLE,
            IPMI_SYSTEM_BOOT_OPTION_DISABLE, dev, IPMI_SYSTEM_BOOT_OPTION_DISABLE,
            IPMI_SYSTEM_BOOT_OPTION_DISABLE,
            IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_CONSOLE_REDIRECTION_DEFAULT,
            IPMI_SYSTEM_BOOT_OPTION_DISABLE, IPMI_SYSTEM_BOOT_OPTION_DISABLE,
            IPMI_SYSTEM_BOOT_OPTION_DISABLE,
            IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_FIRMWARE_BIOS_VERBOSITY_DEFAULT,
            IPMI_SYSTEM_BOOT_OPTION_DISABLE,
            IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAGS_SET_MUX_TO_RECOMENDED_AT_END_OF_POST,
            IPMI_SYSTEM_BOOT_OPTION_DISABLE, 0, rs.get()) < 0)
      return ipmiError(ctx->get(), "Set System Boot Options (boot flags)");
    return {};
  }

  Result<BootOverride> nextBoot() override {
    auto ctx = open();
    if (!ctx) return ctx.error();
    Obj rs(fiid_obj_create(tmpl_cmd_get_system_boot_options_boot_flags_rs));
    if (!rs) return makeError("bmc_protocol", "out of memory");
    if (ipmi_cmd_get_system_boot_options_boot_flags(ctx->get(), 0, 0, rs.get()) < 0)
      return ipmiError(ctx->get(), "Get System Boot Options (boot flags)");
    auto valid = field(rs.get(), "boot_flags_valid");
    auto persistent = field(rs.get(), "boot_flags_persistent");
    auto dev = field(rs.get(), "boot_device");
    if (!valid) return valid.error();
    if (!persistent) return persistent.error();
    if (!dev) return dev.error();
    BootOverride o;
    o.once = *persistent == IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_VALID_FOR_NEXT_BOOT;
    o.valid = *valid == IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_VALID;
    if (*dev == IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_BOOT_DEVICE_NO_OVERRIDE) {
      o.device = BootDevice::None;
    } else if (*dev == IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_BOOT_DEVICE_FORCE_PXE) {
      o.device = BootDevice::Network;
    } else if (*dev == IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_BOOT_DEVICE_FORCE_HARD_DRIVE) {
      o.device = BootDevice::Disk;
    } else {
      o.device = BootDevice::Other;
    }
    return o;
  }

 private:
  Result<Ctx> open() {
    Ctx ctx(ipmi_ctx_create());
    if (!ctx) return makeError("bmc_protocol", "cannot create an IPMI context");
    const auto ms = static_cast<unsigned>(std::max<long long>(config_.timeout.count(), 100));
    // FreeIPMI retransmits within the session timeout; a quarter of it per try.
    if (ipmi_ctx_open_outofband_2_0(ctx.get(), config_.address.c_str(),
                                    credentials_.username.c_str(), credentials_.password.c_str(),
                                    nullptr, 0, IPMI_PRIVILEGE_LEVEL_OPERATOR, kCipherSuite, ms,
                                    std::max(ms / 4, 50u), kWorkarounds, IPMI_FLAGS_DEFAULT) < 0)
      return ipmiError(ctx.get(), fmt::format("IPMI session with {}", config_.address));
    return ctx;
  }

  static Result<std::uint64_t> field(fiid_obj_t obj, const char* name) {
    std::uint64_t v = 0;
    if (FIID_OBJ_GET(obj, name, &v) < 0)
      return makeError("bmc_protocol", fmt::format("the BMC's answer has no {}", name));
    return v;
  }

  BmcConfig config_;
  Credentials credentials_;
};

}  // namespace

Result<std::unique_ptr<Bmc>> makeIpmiBmc(const BmcConfig& config, const Credentials& credentials) {
  if (config.address.find("://") != std::string::npos)
    return makeError("bmc_config", "an IPMI address is host[:port], not a URL");
  return std::unique_ptr<Bmc>(std::make_unique<IpmiBmc>(config, credentials));
}

}  // namespace drover::power
