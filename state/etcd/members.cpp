#include "state/etcd/members.hpp"

#include <algorithm>
#include <charconv>
#include <thread>

#include <fmt/format.h>

#include "state/etcd/client.hpp"

namespace drover::etcd {

using nlohmann::json;

namespace {

Error bad(std::string message) {
  return makeError("etcd_bad_response", std::move(message));
}

// A decimal uint64 as the gateway writes it (a string), or a JSON number; absent: 0.
Result<std::uint64_t> readId(const json& obj, const char* field) {
  const auto it = obj.find(field);
  if (it == obj.end()) return std::uint64_t{0};
  if (it->is_number_unsigned()) return it->get<std::uint64_t>();
  if (!it->is_string()) return bad(fmt::format("etcd: {} is not a decimal string", field));
  const auto& s = it->get_ref<const std::string&>();
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty())
    return bad(fmt::format("etcd: {} \"{}\" is not a decimal", field, s.substr(0, 40)));
  return v;
}

Result<std::vector<std::string>> readUrls(const json& obj, const char* field) {
  std::vector<std::string> out;
  const auto it = obj.find(field);
  if (it == obj.end()) return out;
  if (!it->is_array()) return bad(fmt::format("etcd: member {} is not an array", field));
  for (const auto& u : *it) {
    if (!u.is_string()) return bad(fmt::format("etcd: member {} holds a non-string", field));
    out.push_back(u.get<std::string>());
  }
  return out;
}

bool notInSync(const Error& e) {
  return e.code == "etcd_failed_precondition" && e.message.find("in sync") != std::string::npos;
}

bool notLearner(const Error& e) {
  return e.code == "etcd_failed_precondition" && e.message.find("in sync") == std::string::npos &&
         e.message.find("learner") != std::string::npos;
}

void pause(const RetryOptions& retry) {
  if (retry.sleep)
    retry.sleep(retry.interval);
  else
    std::this_thread::sleep_for(retry.interval);
}

// etcd refuses a reconfiguration that is unsafe for now: try again later.
bool notYet(const Error& e) {
  return e.code == "etcd_unavailable";
}

// `op` until it succeeds, fails otherwise than notYet, or `retry` is spent.
template <typename Op>
auto retried(const RetryOptions& retry, Op op) -> decltype(op()) {
  auto r = op();
  for (int i = 1; i < retry.attempts && !r && notYet(r.error()); ++i) {
    pause(retry);
    r = op();
  }
  return r;
}

// The member list from the first endpoint that answers; nullopt when none could be reached.
Result<std::optional<std::vector<Member>>> listFrom(const std::vector<std::string>& endpoints,
                                                    const Options& options) {
  if (endpoints.empty()) return std::optional<std::vector<Member>>();
  auto client = Client::create(endpoints, options);
  if (!client) return client.error();
  auto members = client->memberList();
  if (!members) {
    if (members.error().code == "network") return std::optional<std::vector<Member>>();
    return members.error();
  }
  return std::optional<std::vector<Member>>(std::move(*members));
}

}  // namespace

bool Member::hasPeerUrl(const std::string& url) const {
  return std::find(peer_urls.begin(), peer_urls.end(), url) != peer_urls.end();
}

Result<Member> decodeMember(const json& m) {
  if (!m.is_object()) return bad("etcd: a member is not an object");
  Member out;
  auto id = readId(m, "ID");
  if (!id) return id.error();
  out.id = *id;
  if (auto n = m.find("name"); n != m.end()) {
    if (!n->is_string()) return bad("etcd: member name is not a string");
    out.name = n->get<std::string>();
  }
  auto peers = readUrls(m, "peerURLs");
  if (!peers) return peers.error();
  out.peer_urls = std::move(*peers);
  auto clients = readUrls(m, "clientURLs");
  if (!clients) return clients.error();
  out.client_urls = std::move(*clients);
  if (auto l = m.find("isLearner"); l != m.end()) {
    if (!l->is_boolean()) return bad("etcd: member isLearner is not a boolean");
    out.learner = l->get<bool>();
  }
  return out;
}

Result<std::vector<Member>> decodeMembers(const json& response, std::string_view field) {
  std::vector<Member> out;
  const auto it = response.is_object() ? response.find(field) : response.end();
  if (it == response.end()) return out;
  if (!it->is_array()) return bad("etcd: members is not an array");
  for (const auto& m : *it) {
    auto member = decodeMember(m);
    if (!member) return member.error();
    out.push_back(std::move(*member));
  }
  return out;
}

Result<MemberStatus> decodeStatus(const json& response) {
  if (!response.is_object()) return bad("etcd: a status answer is not an object");
  MemberStatus out;
  auto leader = readId(response, "leader");
  if (!leader) return leader.error();
  out.leader = *leader;
  const auto header = response.value("header", json::object());
  if (!header.is_object()) return bad("etcd: a status header is not an object");
  auto id = readId(header, "member_id");
  if (!id) return id.error();
  out.id = *id;
  return out;
}

// ---- Client calls ------------------------------------------------------------------------

Result<std::vector<Member>> Client::memberList() {
  auto j = call("/v3/cluster/member/list", json::object());
  if (!j) return j.error();
  return decodeMembers(*j);
}

Result<Member> Client::memberAdd(const std::vector<std::string>& peer_urls, bool learner) {
  auto j = call("/v3/cluster/member/add", {{"peerURLs", peer_urls}, {"isLearner", learner}});
  if (!j) return j.error();
  const auto it = j->find("member");
  if (it == j->end()) return bad("etcd: member add answered without the member");
  return decodeMember(*it);
}

Status Client::memberRemove(std::uint64_t id) {
  auto j = call("/v3/cluster/member/remove", {{"ID", std::to_string(id)}});
  if (!j) return j.error();
  return Status::success();
}

Status Client::memberPromote(std::uint64_t id) {
  auto j = call("/v3/cluster/member/promote", {{"ID", std::to_string(id)}});
  if (!j) return j.error();
  return Status::success();
}

Result<MemberStatus> Client::status() {
  auto j = call("/v3/maintenance/status", json::object());
  if (!j) return j.error();
  return decodeStatus(*j);
}

// ---- Joining -----------------------------------------------------------------------------

std::string_view toString(JoinAction a) {
  switch (a) {
    case JoinAction::kBootstrap:
      return "bootstrap";
    case JoinAction::kBootstrapPeer:
      return "bootstrap_peer";
    case JoinAction::kAddLearner:
      return "add_learner";
    case JoinAction::kResumeLearner:
      return "resume_learner";
    case JoinAction::kReplaceStale:
      return "replace_stale";
  }
  return "bootstrap";
}

JoinAction planJoin(const std::optional<std::vector<Member>>& members,
                    const std::string& peer_url) {
  if (!members) return JoinAction::kBootstrap;
  for (const auto& m : *members) {
    if (!m.hasPeerUrl(peer_url)) continue;
    if (m.started()) return JoinAction::kReplaceStale;
    return m.learner ? JoinAction::kResumeLearner : JoinAction::kBootstrapPeer;
  }
  return JoinAction::kAddLearner;
}

std::string initialCluster(const std::vector<Member>& members, const std::string& self_name,
                           const std::string& self_peer_url) {
  std::string out;
  for (const auto& m : members) {
    const std::string name = m.hasPeerUrl(self_peer_url) ? self_name : m.name;
    for (const auto& u : m.peer_urls) out += (out.empty() ? "" : ",") + name + "=" + u;
  }
  return out;
}

Result<JoinOutcome> joinCluster(const JoinRequest& req, const Options& options,
                                const RetryOptions& retry) {
  auto listed = listFrom(req.endpoints, options);
  if (!listed) return listed.error();
  JoinOutcome out;
  out.action = planJoin(*listed, req.peer_url);
  if (out.action == JoinAction::kBootstrap || out.action == JoinAction::kBootstrapPeer) {
    out.initial_cluster = req.declared_initial_cluster;
    out.state = "new";
    out.message = out.action == JoinAction::kBootstrap
                      ? "no other etcd member answered: bootstrapping the declared members"
                      : "listed among the members etcd was bootstrapped with: starting as one";
    return out;
  }
  auto client = Client::create(req.endpoints, options);
  if (!client) return client.error();
  std::vector<Member> members = std::move(**listed);
  auto self = std::find_if(members.begin(), members.end(),
                           [&](const Member& m) { return m.hasPeerUrl(req.peer_url); });
  if (out.action == JoinAction::kReplaceStale) {
    // Its data went with the reinstall: the old member must go before a new one joins.
    const auto id = self->id;
    if (auto st = retried(retry, [&] { return client->memberRemove(id); }); !st) return st.error();
    members.erase(self);
    self = members.end();
  }
  if (self == members.end()) {
    auto added =
        retried(retry, [&] { return client->memberAdd({req.peer_url}, /*learner=*/true); });
    if (!added) return added.error();
    auto list = client->memberList();  // etcd's own list, the new learner included
    if (!list) return list.error();
    members = std::move(*list);
    out.member_id = added->id;
  } else {
    out.member_id = self->id;
  }
  out.initial_cluster = initialCluster(members, req.name, req.peer_url);
  out.state = "existing";
  out.message = fmt::format(
      "{}: learner {:016x} of {} members, started with state existing",
      out.action == JoinAction::kAddLearner     ? "joining the running etcd cluster"
      : out.action == JoinAction::kReplaceStale ? "replaced this node's former member"
                                                : "resuming as the learner added before",
      out.member_id, members.size());
  return out;
}

Status promoteMember(const std::vector<std::string>& endpoints, const std::string& peer_url,
                     const Options& options, const RetryOptions& promote) {
  auto client = Client::create(endpoints, options);
  if (!client) return client.error();
  Error last = makeError("not_in_sync", "no promote attempt was made");
  for (int i = 0; i < std::max(1, promote.attempts); ++i) {
    if (i > 0) pause(promote);
    auto members = client->memberList();
    if (!members) {
      last = members.error();
      if (last.code == "network") continue;  // the cluster may be electing
      return last;
    }
    auto self = std::find_if(members->begin(), members->end(),
                             [&](const Member& m) { return m.hasPeerUrl(peer_url); });
    if (self == members->end())
      return makeError("not_member", "no etcd member has peer URL " + peer_url);
    if (!self->learner) return Status::success();
    auto st = client->memberPromote(self->id);
    if (st || notLearner(st.error())) return Status::success();
    last = st.error();
    if (!notInSync(last) && last.code != "network" && last.code != "etcd_unavailable") return last;
  }
  return makeError("not_in_sync",
                   fmt::format("the learner {} was not promoted after {} attempts: {}", peer_url,
                               std::max(1, promote.attempts), last.message));
}

// ---- Removing ----------------------------------------------------------------------------

RemovalCheck checkRemoval(const std::vector<Member>& members,
                          const std::set<std::uint64_t>& healthy, const std::string& peer_url) {
  RemovalCheck out;
  const auto target = std::find_if(members.begin(), members.end(),
                                   [&](const Member& m) { return m.hasPeerUrl(peer_url); });
  if (target == members.end()) {
    out.reason = "not an etcd member: nothing to remove";
    return out;
  }
  out.target = *target;
  for (const auto& m : members) {
    if (m.learner || m.id == target->id) continue;
    ++out.voters_after;
    if (healthy.count(m.id) != 0) ++out.healthy_after;
  }
  if (target->learner) {
    out.verdict = RemovalVerdict::kAllowed;
    out.reason = "a learner: its removal does not change the quorum";
  } else if (out.voters_after == 0) {
    out.verdict = RemovalVerdict::kOnlyMember;
    out.reason = "the only voting etcd member: nothing to remove it from";
  } else if (out.healthy_after > out.voters_after / 2) {
    out.verdict = RemovalVerdict::kAllowed;
    out.reason = fmt::format("{} of the {} remaining voting members are healthy (quorum {})",
                             out.healthy_after, out.voters_after, out.voters_after / 2 + 1);
  } else {
    out.verdict = RemovalVerdict::kRefused;
    out.reason = fmt::format(
        "removing it would leave {} healthy of {} voting members, fewer than the quorum of {}",
        out.healthy_after, out.voters_after, out.voters_after / 2 + 1);
  }
  return out;
}

Result<RemovalOutcome> removeMember(const std::vector<std::string>& endpoints,
                                    const std::string& peer_url, bool force, const Options& options,
                                    const RetryOptions& retry) {
  RemovalOutcome out;
  auto listed = listFrom(endpoints, options);
  if (!listed) return listed.error();
  if (!*listed) {
    std::string where;
    for (const auto& e : endpoints) where += (where.empty() ? "" : ", ") + e;
    if (!force)
      return makeError("etcd_unreachable", "no etcd member answered at " + where +
                                               ": whether removing this member costs quorum "
                                               "is unknown");
    out.forced = true;
    out.message = "no etcd member answered; forced: reinstalling without removing the member";
    return out;
  }
  std::set<std::uint64_t> healthy;
  for (const auto& m : **listed) {
    if (m.learner || m.client_urls.empty()) continue;
    auto c = Client::create(m.client_urls, options);
    if (!c) continue;
    auto st = c->status();
    if (st && st->leader != 0) healthy.insert(m.id);
  }
  out.check = checkRemoval(**listed, healthy, peer_url);
  const auto& check = out.check;
  if (check.verdict == RemovalVerdict::kNotMember || check.verdict == RemovalVerdict::kOnlyMember) {
    out.message = check.reason;
    return out;
  }
  if (check.verdict == RemovalVerdict::kRefused) {
    if (!force) return makeError("etcd_quorum", check.reason);
    out.forced = true;
  }
  auto client = Client::create(endpoints, options);
  if (!client) return client.error();
  const auto id = check.target.id;
  // Forced past the rule: etcd's own check (strict reconfiguration) may still refuse; one
  // attempt, the reinstall goes on either way.
  RetryOptions once = retry;
  if (out.forced) once.attempts = 1;
  if (auto st = retried(once, [&] { return client->memberRemove(id); }); !st) {
    if (!out.forced) return st.error();
    out.message = fmt::format("forced: the removal of etcd member {:016x} failed ({}); {}",
                              check.target.id, st.error().message, check.reason);
    return out;
  }
  out.removed = true;
  out.message = fmt::format("removed etcd member {:016x} ({}){}: {}", check.target.id,
                            check.target.name.empty() ? peer_url : check.target.name,
                            out.forced ? ", forced" : "", check.reason);
  return out;
}

}  // namespace drover::etcd
