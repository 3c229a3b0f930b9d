// Before a joined node whose profile joins with recipe etcd-member is reinstalled, its etcd member
// is removed from the cluster (state/etcd/members.hpp: removeMember), through the declared
// members' client URLs. Refused, unless forced, when the remaining healthy voting members
// would not be a majority of the remaining voting members, or when no member answers.
// Every outcome is on the node's timeline (phase etcd) and counted in
// etcd_member_removals_total{outcome}.
#pragma once

#include <optional>
#include <string>

#include "http/message.hpp"
#include "server/context.hpp"

namespace drover::server {

// nullopt: go on with the reinstall (removed, not a member, not an etcd-member node, or
// forced); otherwise the answer to give: 409 etcd_quorum, 409 etcd_unreachable, 502
// etcd_error.
std::optional<http::Response> removeEtcdMemberFirst(Context& ctx, const std::string& node,
                                                    bool force);

}  // namespace drover::server
