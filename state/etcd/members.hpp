// How an etcd cluster grows and shrinks: a member that starts after the cluster exists joins
// as a learner and is promoted once it has caught up; a member about to be reinstalled is
// removed first, unless that would cost the cluster its quorum.
//
// The decisions (planJoin, initialCluster, checkRemoval) are pure; joinCluster,
// promoteMember and removeMember ask etcd through drover::etcd::Client, each request bounded
// by Options' timeouts, each loop by a count.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace drover::etcd {

struct Options;

struct Member {
  std::uint64_t id = 0;
  std::string name;  // empty until the member has started once
  std::vector<std::string> peer_urls{};
  std::vector<std::string> client_urls{};  // empty until the member has started once
  bool learner = false;

  bool started() const { return !client_urls.empty(); }
  bool hasPeerUrl(const std::string& url) const;
};

// What /v3/maintenance/status says about the member that answered.
struct MemberStatus {
  std::uint64_t id = 0;
  std::uint64_t leader = 0;  // 0: the member knows no leader
};

// Decoding of the gateway's answers (ids are decimal strings of 64-bit unsigned numbers).
// Error code: etcd_bad_response.
Result<std::vector<Member>> decodeMembers(const nlohmann::json& response,
                                          std::string_view field = "members");
Result<Member> decodeMember(const nlohmann::json& member);
Result<MemberStatus> decodeStatus(const nlohmann::json& response);

// ---- Joining ---------------------------------------------------------------------------

enum class JoinAction {
  kBootstrap,      // no other member answered: start with the declared list, state new
  kBootstrapPeer,  // listed, never started, a voter: one of the members the cluster was
                   // bootstrapped with: start with state new as they did
  kAddLearner,     // not listed: member add as a learner, then start with state existing
  kResumeLearner,  // listed as a learner that never started: start with state existing
  kReplaceStale,   // listed as a member that ran before (its data is gone with a reinstall):
                   // remove that member, add a learner, start with state existing
};
std::string_view toString(JoinAction a);

// `members`: the member list another member answered with; nullopt when none answered.
JoinAction planJoin(const std::optional<std::vector<Member>>& members, const std::string& peer_url);

// "name=peer_url,..." for --initial-cluster from etcd's own list: every peer URL of every
// member, the one with `self_peer_url` named `self_name` (a member added but not started has
// no name yet; it is listed with an empty one, as etcd expects).
std::string initialCluster(const std::vector<Member>& members, const std::string& self_name,
                           const std::string& self_peer_url);

struct JoinRequest {
  std::vector<std::string> endpoints{};  // the other members' client URLs (http://ip:2379)
  std::string name;
  std::string peer_url;
  std::string declared_initial_cluster;  // the declaration's list, for a bootstrap
};

struct RetryOptions {
  int attempts = 120;  // requests while etcd says it cannot do it yet
  std::chrono::milliseconds interval{1000};
  std::function<void(std::chrono::milliseconds)> sleep{};  // tests; default: sleep_for
};

struct JoinOutcome {
  JoinAction action = JoinAction::kBootstrap;
  std::string initial_cluster;
  std::string state;            // "new" or "existing"
  std::uint64_t member_id = 0;  // the learner added or found (0 for a bootstrap)
  std::string message;          // one line for the node's timeline
};

// Member add and remove are retried while etcd refuses them as unsafe for now ("unhealthy
// cluster": a member joined or was promoted within the last seconds), `retry` bounding it.
// Error codes: the client's (network only when the member list could be read but a later
// request could not be sent), etcd_bad_response.
Result<JoinOutcome> joinCluster(const JoinRequest& req, const Options& options,
                                const RetryOptions& retry = {});

// Promotes the learner with `peer_url` (a voter already is one), retried while etcd says it
// is not in sync with the leader yet. Error codes: not_member, not_in_sync (still behind
// after every attempt), and the client's.
Status promoteMember(const std::vector<std::string>& endpoints, const std::string& peer_url,
                     const Options& options, const RetryOptions& retry = {});

// ---- Removing --------------------------------------------------------------------------

enum class RemovalVerdict {
  kNotMember,   // no member has the peer URL: nothing to remove
  kOnlyMember,  // the only voter: nothing to remove it from
  kAllowed,
  kRefused,  // the remaining healthy voters would not be a majority of the remaining voters
};

struct RemovalCheck {
  RemovalVerdict verdict = RemovalVerdict::kNotMember;
  Member target{};
  int voters_after = 0;   // voters once the target is gone
  int healthy_after = 0;  // of them, the ones that answered with a leader
  std::string reason;     // one line, for the timeline and the API's answer
};

// The rule: removing a voter is allowed when the voters that remain and are healthy are a
// majority of the voters that remain (healthy_after > voters_after / 2). A learner does not
// count towards quorum: removing one is always allowed. `healthy`: the ids of the members
// that answered a status request and know a leader.
RemovalCheck checkRemoval(const std::vector<Member>& members,
                          const std::set<std::uint64_t>& healthy, const std::string& peer_url);

struct RemovalOutcome {
  RemovalCheck check{};
  bool removed = false;
  bool forced = false;  // refused (or etcd unreachable), done anyway
  std::string message;  // one line for the timeline
};

// Asks `endpoints` (every declared member's client URL) for the member list and the
// members' health, then removes the member with `peer_url` when checkRemoval allows it
// (retried, as `retry` bounds it, while etcd calls the cluster unhealthy for now).
// Error codes: etcd_quorum (refused; not with force), etcd_unreachable (no member answered;
// not with force: the outcome then says nothing was removed), and the client's.
Result<RemovalOutcome> removeMember(const std::vector<std::string>& endpoints,
                                    const std::string& peer_url, bool force, const Options& options,
                                    const RetryOptions& retry = {});

}  // namespace drover::etcd
