// The data every per-node template (cloud-config, join recipe) is rendered with. One
// definition, used both when serving and by `drover validate`, so a template naming a
// variable that is not here fails validation instead of rendering an empty string.
//
//   node:    name, hostname, mac, ip, uuid, labels{...}, profile
//   network: name, subnet, netmask, prefix, gateway, dns[], domain
//   server:  advertise, http, api
//   ssh_authorized_keys: [...]
//   cluster: recipe, members[] of {name, ip} — the etcd members this node's recipe joins
//            (every node whose profile joins with etcd-member); empty without a recipe
//
// Values that may be absent are present as "" (a mustache section over them is skipped).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "cluster/config.hpp"
#include "cluster/inventory.hpp"

namespace drover::boot {

nlohmann::json templateData(const cluster::Inventory& inv, const cluster::Node& node);

// The same shape with placeholder values, for checking templates at validate time.
nlohmann::json sampleTemplateData(const cluster::Inventory& inv);

}  // namespace drover::boot
