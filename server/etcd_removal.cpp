#include "server/etcd_removal.hpp"

#include <fmt/format.h>

#include "boot/recipes.hpp"
#include "common/log.hpp"
#include "state/etcd/client.hpp"
#include "state/etcd/members.hpp"

namespace drover::server {
namespace {

using HttpStatus = http::Status;

void count(Context& ctx, std::string_view outcome) {
  ctx.registry.counter("etcd_member_removals_total",
                       "etcd members asked to be removed before a reinstall, by outcome",
                       fmt::format("outcome=\"{}\"", outcome))++;
}

}  // namespace

std::optional<http::Response> removeEtcdMemberFirst(Context& ctx, const std::string& name,
                                                    bool force) {
  auto snapshot = ctx.source.current();
  const auto& c = snapshot->inventory.config();
  const auto* node = snapshot->inventory.findNode(name);
  if (node == nullptr || !node->ip) return std::nullopt;
  const auto* profile = c.findProfile(c.profileNameOf(*node));
  if (profile == nullptr || profile->join.recipe != "etcd-member") return std::nullopt;
  // Only a node whose join recipe ran to the end (joined) runs a member; reinstall() answers
  // for a store error.
  auto rec = ctx.store.getNode(name);
  if (!rec || !*rec || (*rec)->status.state != state::NodeState::kJoined) return std::nullopt;

  std::vector<std::string> endpoints;
  for (const auto* m : boot::etcdMembers(c))
    endpoints.push_back(fmt::format("http://{}:{}", m->ip->value.str(), ctx.etcd_client_port));
  const auto peer_url = fmt::format("http://{}:{}", node->ip->value.str(), ctx.etcd_peer_port);
  etcd::Options options;
  options.connect_timeout_s = 1;  // the API waits for this: each request bounded
  options.request_timeout_s = 3;
  etcd::RetryOptions retry;  // etcd refuses a removal for a few seconds after a join
  retry.attempts = 6;
  auto out = etcd::removeMember(endpoints, peer_url, force, options, retry);
  if (!out) {
    const auto& e = out.error();
    const bool quorum = e.code == "etcd_quorum", unreachable = e.code == "etcd_unreachable";
    const std::string code = quorum || unreachable ? e.code : "etcd_error";
    const std::string why =
        quorum || unreachable
            ? "reinstall refused: " + e.message + " (force it with --force or {\"force\": true})"
            : "reinstall refused: removing the etcd member failed: " + e.message;
    count(ctx, quorum ? "refused_quorum" : unreachable ? "refused_unreachable" : "error");
    recordEvent(ctx, name, "etcd", why);
    ctx.log->warn("ETCD_MEMBER_REMOVAL_REFUSED node={} code={} reason=\"{}\"", name, code,
                  log::sanitize(e.message, 300));
    return http::Response::error(
        quorum || unreachable ? HttpStatus::conflict : HttpStatus::bad_gateway, code, why);
  }
  const auto verdict = out->check.verdict;
  const std::string_view outcome = out->removed                                   ? "removed"
                                   : out->forced                                  ? "forced"
                                   : verdict == etcd::RemovalVerdict::kOnlyMember ? "only_member"
                                                                                  : "not_member";
  count(ctx, outcome);
  recordEvent(ctx, name, "etcd", out->message);
  ctx.log->info("ETCD_MEMBER_REMOVAL node={} outcome={} message=\"{}\"", name, outcome,
                log::sanitize(out->message, 300));
  return std::nullopt;
}

}  // namespace drover::server
