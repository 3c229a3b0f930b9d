#include "state/etcd/client.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <mutex>
#include <optional>

#include <fmt/format.h>

#include "common/curl/easy.hpp"

namespace drover::etcd {

using nlohmann::json;

struct Client::State {
  std::mutex mu;
  std::vector<std::string> endpoints;
  Options options;
  curl::Easy easy;
  std::size_t current = 0;  // the endpoint that answered last
};

namespace {

// The request never reached the endpoint, so another one may take it without doing it twice.
bool unreachable(const curl::Easy& easy, const curl::Outcome& o) {
  if (o.code == CURLE_COULDNT_CONNECT || o.code == CURLE_COULDNT_RESOLVE_HOST) return true;
  curl_off_t connect_us = 0;
  curl_easy_getinfo(easy.get(), CURLINFO_CONNECT_TIME_T, &connect_us);
  return o.code == CURLE_OPERATION_TIMEDOUT && connect_us == 0;
}

// A watch stream being read: newline-separated {"result": ...} messages.
struct WatchStream {
  const Client::OnEvents* on_events = nullptr;
  const std::atomic<bool>* stop = nullptr;
  std::string what;
  std::size_t max_line = 0;
  std::string buffer;  // the part of a line received so far
  std::optional<Error> error;
  bool done = false;  // on_events said stop

  bool stopped() const { return done || (stop != nullptr && stop->load()); }

  static int onSocket(void*, curl_socket_t fd, curlsocktype) {
    const int probes = 3;
    (void)::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof(probes));
    return CURL_SOCKOPT_OK;
  }

  // False when the watch ends here (done or error set).
  bool line(std::string_view text) {
    if (text.find_first_not_of(" \t\r") == std::string_view::npos) return true;
    const auto j = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return fail(badResponse(what + ": a watch message that is not JSON"));
    if (auto e = decodeError(j, what)) return fail(*e);
    const auto result = j.is_object() ? j.find("result") : j.end();
    if (result == j.end()) return fail(badResponse(what + ": a watch message without a result"));
    auto w = decodeWatch(*result);
    if (!w) return fail(w.error());
    if (w->compact_revision != 0)
      return fail(makeError(
          "etcd_compacted",
          fmt::format("{}: history before revision {} is compacted", what, w->compact_revision)));
    if (w->canceled) return fail(makeError("etcd_canceled", what + ": etcd canceled the watch"));
    if (!w->events.empty() && !(*on_events)(w->events)) done = true;
    return !done;
  }
  bool fail(Error e) {
    error = std::move(e);
    return false;
  }

  static std::size_t onData(char* data, std::size_t size, std::size_t n, void* user) {
    auto* w = static_cast<WatchStream*>(user);
    w->buffer.append(data, size * n);
    for (auto nl = w->buffer.find('\n'); nl != std::string::npos; nl = w->buffer.find('\n')) {
      const std::string text = w->buffer.substr(0, nl);
      w->buffer.erase(0, nl + 1);
      if (!w->line(text)) return 0;  // ends the transfer
    }
    if (w->buffer.size() > w->max_line) {
      w->fail(badResponse(w->what + ": a watch message longer than the limit"));
      return 0;
    }
    return size * n;
  }
  static int onProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return static_cast<WatchStream*>(user)->stopped() ? 1 : 0;
  }
};

}  // namespace

Client::Client(std::unique_ptr<State> state) : state_(std::move(state)) {}
Client::~Client() = default;
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;

Result<Client> Client::create(std::vector<std::string> endpoints, Options options) {
  if (endpoints.empty()) return makeError("bad_url", "etcd: no endpoints");
  if (options.range_page <= 0) return makeError("bad_option", "etcd: range_page must be positive");
  for (auto& e : endpoints) {
    while (!e.empty() && e.back() == '/') e.pop_back();
  }
  curl::Options co;
  co.connect_timeout_s = options.connect_timeout_s;
  co.timeout_s = options.request_timeout_s;
  co.tls.ca_file = options.ca_file;
  auto easy = curl::Easy::create(co);
  if (!easy) return easy.error();
  easy->setHeaders({"Content-Type: application/json"});
  return Client(std::unique_ptr<State>(
      new State{{}, std::move(endpoints), std::move(options), std::move(*easy), 0}));
}

Result<json> Client::call(const std::string& path, const json& body) {
  std::lock_guard lock(state_->mu);
  auto& s = *state_;
  const std::string request = body.dump();
  std::string tried;
  for (std::size_t i = 0; i < s.endpoints.size(); ++i) {
    const std::size_t at = (s.current + i) % s.endpoints.size();
    const std::string url = s.endpoints[at] + path;
    std::string response;
    s.easy.setUrl(url);
    s.easy.setRequest("POST", request);
    s.easy.collectBody(&response, s.options.max_response_bytes);
    const auto o = s.easy.perform();
    if (!o.ok() && unreachable(s.easy, o)) {
      tried += fmt::format("{}{}: {}", tried.empty() ? "" : "; ", url, o.error);
      continue;
    }
    if (!o.ok()) return curl::transferError(o, "etcd POST " + url);
    s.current = at;
    const std::string what = "etcd POST " + url;
    auto j = json::parse(response, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded())
      return badResponse(fmt::format("{}: HTTP {} with a body that is not JSON", what, o.status));
    if (auto e = decodeError(j, what)) return *e;
    if (o.status != 200) return makeError("etcd_http", fmt::format("{}: HTTP {}", what, o.status));
    if (!j.is_object()) return badResponse(what + ": the answer is not a JSON object");
    return j;
  }
  return makeError("network", "etcd: no endpoint could be reached: " + tried);
}

Result<std::optional<KeyValue>> Client::get(const std::string& key) {
  auto j = call("/v3/kv/range", {{"key", encodeBase64(key)}});
  if (!j) return j.error();
  auto kvs = decodeKvs(*j);
  if (!kvs) return kvs.error();
  if (kvs->empty()) return std::optional<KeyValue>();
  return std::optional<KeyValue>(std::move(kvs->front()));
}

Result<RangeResult> Client::range(const std::string& prefix, std::int64_t limit) {
  return range(prefix, RangeOptions{limit, false, false});
}

Result<RangeResult> Client::range(const std::string& prefix, const RangeOptions& options) {
  RangeResult out;
  const std::int64_t limit = options.limit;
  json req = {{"key", encodeBase64(prefix.empty() ? std::string(1, '\0') : prefix)},
              {"range_end", encodeBase64(prefixEnd(prefix))}};
  if (options.descending) {
    req["sort_order"] = "DESCEND";
    req["sort_target"] = "KEY";
  }
  if (options.keys_only) req["keys_only"] = true;
  while (true) {
    std::int64_t page = state_->options.range_page;
    if (limit > 0)
      page = std::min<std::int64_t>(page, limit - static_cast<std::int64_t>(out.kvs.size()));
    req["limit"] = std::to_string(page);
    if (out.revision != 0) req["revision"] = std::to_string(out.revision);
    auto j = call("/v3/kv/range", req);
    if (!j) return j.error();
    auto kvs = decodeKvs(*j);
    if (!kvs) return kvs.error();
    if (out.revision == 0) {  // every page reads the revision of the first
      auto rev = readInt64(j->value("header", json::object()), "revision");
      if (!rev) return rev.error();
      out.revision = *rev;
    }
    const auto more = j->find("more");
    const bool has_more = more != j->end() && more->is_boolean() && more->get<bool>();
    if (kvs->empty()) return out;
    // The next page starts after the last key (ascending) or ends before it (descending).
    if (options.descending)
      req["range_end"] = encodeBase64(kvs->back().key);
    else
      req["key"] = encodeBase64(kvs->back().key + '\0');
    for (auto& kv : *kvs) out.kvs.push_back(std::move(kv));
    if (!has_more || (limit > 0 && static_cast<std::int64_t>(out.kvs.size()) >= limit)) return out;
  }
}

Result<std::int64_t> Client::put(const std::string& key, const std::string& value,
                                 std::int64_t lease) {
  json req = {{"key", encodeBase64(key)}, {"value", encodeBase64(value)}};
  if (lease != 0) req["lease"] = std::to_string(lease);
  auto j = call("/v3/kv/put", req);
  if (!j) return j.error();
  return readInt64(j->value("header", json::object()), "revision");
}

Result<bool> Client::erase(const std::string& key) {
  auto j = call("/v3/kv/deleterange", {{"key", encodeBase64(key)}});
  if (!j) return j.error();
  auto deleted = readInt64(*j, "deleted");
  if (!deleted) return deleted.error();
  return *deleted > 0;
}

Result<std::optional<KeyValue>> Client::take(const std::string& key) {
  auto j = call("/v3/kv/deleterange", {{"key", encodeBase64(key)}, {"prev_kv", true}});
  if (!j) return j.error();
  auto prev = decodeKvs(*j, "prev_kvs");
  if (!prev) return prev.error();
  if (prev->empty()) return std::optional<KeyValue>();
  return std::optional<KeyValue>(std::move(prev->front()));
}

Result<TxnResult> Client::txn(const std::vector<Compare>& compares, const std::vector<Op>& success,
                              const std::vector<Op>& failure) {
  json req = {{"compare", json::array()}, {"success", json::array()}, {"failure", json::array()}};
  for (const auto& c : compares) req["compare"].push_back(encodeCompare(c));
  for (const auto& op : success) req["success"].push_back(encodeOp(op));
  for (const auto& op : failure) req["failure"].push_back(encodeOp(op));
  auto j = call("/v3/kv/txn", req);
  if (!j) return j.error();
  return decodeTxn(*j);
}

Result<bool> Client::createIfAbsent(const std::string& key, const std::string& value,
                                    std::int64_t lease) {
  auto r = txn({{key, Compare::Target::kCreate, Compare::Result::kEqual, 0, {}}},
               {Op::put(key, value, lease)});
  if (!r) return r.error();
  return r->succeeded;
}

Result<bool> Client::compareAndSwap(const std::string& key, std::int64_t mod_revision,
                                    const std::string& value, std::int64_t lease) {
  auto r = txn({{key, Compare::Target::kMod, Compare::Result::kEqual, mod_revision, {}}},
               {Op::put(key, value, lease)});
  if (!r) return r.error();
  return r->succeeded;
}

Result<std::int64_t> Client::grantLease(std::int64_t ttl_s) {
  auto j = call("/v3/lease/grant", {{"TTL", std::to_string(ttl_s)}});
  if (!j) return j.error();
  auto id = readInt64(*j, "ID");
  if (!id) return id.error();
  if (*id == 0) return badResponse("etcd: lease grant without an ID");
  return id;
}

Result<std::int64_t> Client::keepAlive(std::int64_t lease) {
  // A stream on the gateway: one request, one {"result": ...} (or {"error": ...}) line.
  auto j = call("/v3/lease/keepalive", {{"ID", std::to_string(lease)}});
  if (!j) return j.error();
  const auto result = j->find("result");
  if (result == j->end() || !result->is_object())
    return badResponse("etcd: keepalive answer without a result");
  return readInt64(*result, "TTL");
}

Status Client::revokeLease(std::int64_t lease) {
  auto j = call("/v3/lease/revoke", {{"ID", std::to_string(lease)}});
  if (!j) return j.error();
  return Status::success();
}

Status Client::watch(const std::string& prefix, std::int64_t start_revision,
                     const OnEvents& on_events, const std::atomic<bool>* stop) {
  curl::Options co;  // no limit on the whole transfer: a watch lasts
  co.connect_timeout_s = state_->options.connect_timeout_s;
  co.tls.ca_file = state_->options.ca_file;
  auto easy = curl::Easy::create(co);
  if (!easy) return easy.error();
  easy->setHeaders({"Content-Type: application/json"});
  json create = {{"key", encodeBase64(prefix.empty() ? std::string(1, '\0') : prefix)},
                 {"range_end", encodeBase64(prefixEnd(prefix))}};
  if (start_revision > 0) create["start_revision"] = std::to_string(start_revision);
  const std::string body = json{{"create_request", create}}.dump();
  std::size_t first = 0;
  std::vector<std::string> endpoints;
  {
    std::lock_guard lock(state_->mu);
    first = state_->current;
    endpoints = state_->endpoints;
  }
  std::string tried;
  for (std::size_t i = 0; i < endpoints.size(); ++i) {
    const std::string url = endpoints[(first + i) % endpoints.size()] + "/v3/watch";
    WatchStream w;
    w.on_events = &on_events;
    w.stop = stop;
    w.what = "etcd POST " + url;
    w.max_line = state_->options.max_response_bytes;
    easy->setUrl(url);
    easy->setRequest("POST", body);
    curl_easy_setopt(easy->get(), CURLOPT_WRITEFUNCTION, &WatchStream::onData);
    curl_easy_setopt(easy->get(), CURLOPT_WRITEDATA, &w);
    curl_easy_setopt(easy->get(), CURLOPT_XFERINFOFUNCTION, &WatchStream::onProgress);
    curl_easy_setopt(easy->get(), CURLOPT_XFERINFODATA, &w);
    curl_easy_setopt(easy->get(), CURLOPT_NOPROGRESS, 0L);
    // An idle watch sends nothing: TCP keepalives find a peer that is gone (a partition
    // drops packets without a reset) within about five seconds.
    curl_easy_setopt(easy->get(), CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(easy->get(), CURLOPT_TCP_KEEPIDLE, 2L);
    curl_easy_setopt(easy->get(), CURLOPT_TCP_KEEPINTVL, 1L);
    curl_easy_setopt(easy->get(), CURLOPT_SOCKOPTFUNCTION, &WatchStream::onSocket);
    const auto o = easy->perform();
    if (w.stopped()) return Status::success();
    if (!w.error && !w.buffer.empty()) w.line(w.buffer);  // an error body without a newline
    if (w.error) return *w.error;
    if (!o.ok() && unreachable(*easy, o)) {
      tried += fmt::format("{}{}: {}", tried.empty() ? "" : "; ", url, o.error);
      continue;
    }
    if (!o.ok()) return curl::transferError(o, w.what);
    return makeError("network", fmt::format("{}: the watch ended (HTTP {})", w.what, o.status));
  }
  return makeError("network", "etcd: no endpoint could be reached: " + tried);
}

}  // namespace drover::etcd
