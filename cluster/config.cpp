#include "cluster/config.hpp"

namespace drover::cluster {

const Image* Config::findImage(const std::string& name) const {
  auto it = images.find(name);
  return it == images.end() ? nullptr : &it->second;
}

const Profile* Config::findProfile(const std::string& name) const {
  auto it = profiles.find(name);
  return it == profiles.end() ? nullptr : &it->second;
}

const Network* Config::findNetwork(const std::string& name) const {
  for (const auto& n : networks)
    if (n.name.value == name) return &n;
  return nullptr;
}

const std::string& Config::profileNameOf(const Node& node) const {
  static const std::string kNone;
  if (node.profile) return node.profile->value;
  if (defaults.profile) return defaults.profile->value;
  return kNone;
}

std::string_view toString(NetworkMode m) {
  return m == NetworkMode::Dhcp ? "dhcp" : "proxy";
}

std::string_view toString(UnknownPolicy p) {
  switch (p) {
    case UnknownPolicy::Discover:
      return "discover";
    case UnknownPolicy::Ignore:
      return "ignore";
    case UnknownPolicy::Install:
      return "install";
  }
  return "?";
}

std::string_view toString(EfiLoader l) {
  return l == EfiLoader::IpxeEfi ? "ipxe.efi" : "snponly.efi";
}

std::string_view toString(PodBackend b) {
  return b == PodBackend::HostGw ? "host-gw" : "vxlan";
}

std::string_view toString(BmcDriver d) {
  return d == BmcDriver::Redfish ? "redfish" : "ipmi";
}

}  // namespace drover::cluster
