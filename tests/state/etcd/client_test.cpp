// drover::etcd against a real etcd started on 127.0.0.1 with free ports and a temporary data
// directory, stopped by pid when the suite ends; a closed port and a local stub server for the
// failures. Without /usr/bin/etcd the tests skip, or fail when CI is set.
#include "state/etcd/client.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/etcd_server.hpp"
#include "tests/support/temp_dir.hpp"

namespace drover::etcd {
namespace {

using test::closedPort;
using test::listenLoopback;
const auto url = test::loopbackUrl;
using Etcd = test::EtcdServer;

class EtcdClient : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!test::etcdAvailable()) return;
    etcd_ = new Etcd;
    if (!etcd_->start()) {
      log_ = etcd_->log();
      delete etcd_;
      etcd_ = nullptr;
    }
  }
  static void TearDownTestSuite() {
    delete etcd_;
    etcd_ = nullptr;
  }

  void SetUp() override {
    DROVER_REQUIRE_ETCD();
    ASSERT_NE(etcd_, nullptr) << "etcd did not start:\n" << log_;
  }

  Client client(Options opt = {}) {
    auto c = Client::create({etcd_->endpoint}, opt);
    EXPECT_TRUE(c.ok());
    return std::move(*c);
  }

  // Keys of this test only.
  std::string key(const std::string& rel) const {
    return std::string("/") + ::testing::UnitTest::GetInstance()->current_test_info()->name() +
           "/" + rel;
  }

  static Etcd* etcd_;
  static std::string log_;
};

Etcd* EtcdClient::etcd_ = nullptr;
std::string EtcdClient::log_;

TEST_F(EtcdClient, PutGetRangeErase) {
  Options paged;
  paged.range_page = 2;
  auto c = client(paged);
  EXPECT_FALSE(c.get(key("missing"))->has_value());
  const std::string binary("v\0\xff", 3);
  for (const char* k : {"a", "b", "c", "d", "e"}) ASSERT_TRUE(c.put(key(k), binary + k).ok());
  ASSERT_TRUE(c.put(key("").substr(0, key("").size() - 1) + "0", "outside").ok());

  auto a = c.get(key("a"));
  ASSERT_TRUE(a.ok()) << a.error().message;
  ASSERT_TRUE(a->has_value());
  EXPECT_EQ((*a)->value, binary + "a");
  EXPECT_GT((*a)->mod_revision, 0);

  auto all = c.range(key(""));  // three pages of two
  ASSERT_TRUE(all.ok()) << all.error().message;
  std::vector<std::string> keys;
  for (const auto& kv : all->kvs) keys.push_back(kv.key);
  EXPECT_GE(all->revision, (*a)->mod_revision);
  EXPECT_EQ(keys, (std::vector<std::string>{key("a"), key("b"), key("c"), key("d"), key("e")}));
  EXPECT_EQ(c.range(key(""), 3)->kvs.size(), 3u);

  EXPECT_TRUE(*c.erase(key("a")));
  EXPECT_FALSE(*c.erase(key("a")));
  EXPECT_FALSE(c.get(key("a"))->has_value());
  EXPECT_EQ(c.range(key(""))->kvs.size(), 4u);
}

TEST_F(EtcdClient, RangeDescendingLimitedKeysOnly) {
  Options paged;
  paged.range_page = 2;
  auto c = client(paged);
  for (const char* k : {"a", "b", "c", "d", "e"}) ASSERT_TRUE(c.put(key(k), k).ok());
  ASSERT_TRUE(c.put(key("").substr(0, key("").size() - 1) + "0", "outside").ok());
  auto keysOf = [](const RangeResult& r) {
    std::vector<std::string> out;
    for (const auto& kv : r.kvs) out.push_back(kv.key);
    return out;
  };
  RangeOptions desc;
  desc.descending = true;
  auto all = c.range(key(""), desc);  // three pages of two, from the last key down
  ASSERT_TRUE(all.ok()) << all.error().message;
  EXPECT_EQ(keysOf(*all),
            (std::vector<std::string>{key("e"), key("d"), key("c"), key("b"), key("a")}));
  EXPECT_EQ(all->kvs[0].value, "e");
  desc.limit = 3;
  EXPECT_EQ(keysOf(*c.range(key(""), desc)),
            (std::vector<std::string>{key("e"), key("d"), key("c")}));
  RangeOptions keys_only;
  keys_only.keys_only = true;
  auto keys = c.range(key(""), keys_only);
  ASSERT_TRUE(keys.ok()) << keys.error().message;
  ASSERT_EQ(keys->kvs.size(), 5u);
  EXPECT_EQ(keys->kvs[0].key, key("a"));
  EXPECT_EQ(keys->kvs[0].value, "");
}

TEST_F(EtcdClient, TakeHasOneWinner) {
  auto c = client();
  EXPECT_FALSE(c.take(key("absent"))->has_value());
  for (int round = 0; round < 5; ++round) {
    const std::string k = key(std::to_string(round));
    ASSERT_TRUE(c.put(k, "prize").ok());
    std::atomic<int> wins{0}, errors{0};
    std::vector<std::thread> racers;
    for (int i = 0; i < 6; ++i) {
      racers.emplace_back([&] {
        auto own = Client::create({etcd_->endpoint});
        auto r = own.ok() ? own->take(k) : Result<std::optional<KeyValue>>(own.error());
        if (!r.ok())
          ++errors;
        else if (r->has_value() && (*r)->value == "prize")
          ++wins;
      });
    }
    for (auto& t : racers) t.join();
    EXPECT_EQ(errors, 0);
    EXPECT_EQ(wins, 1) << k;
    EXPECT_FALSE(c.get(k)->has_value());
  }
}

TEST_F(EtcdClient, TxnDeletesAPrefixAndReturnsWhatItDeleted) {
  auto c = client();
  for (const char* k : {"p/a", "p/b", "q"}) ASSERT_TRUE(c.put(key(k), k).ok());
  ASSERT_TRUE(c.put(key("p0"), "outside").ok());
  auto r = c.txn({}, {Op::erasePrefix(key("p/")), Op::erase(key("q"), /*prev_kv=*/true)});
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->responses.size(), 2u);
  EXPECT_EQ(r->responses[0].deleted, 2);
  EXPECT_TRUE(r->responses[0].prev_kvs.empty());
  ASSERT_EQ(r->responses[1].prev_kvs.size(), 1u);
  EXPECT_EQ(r->responses[1].prev_kvs[0].value, "q");
  EXPECT_EQ(c.range(key(""))->kvs.size(), 1u);  // p0 only
}

TEST_F(EtcdClient, CreateIfAbsentOnce) {
  auto c = client();
  EXPECT_TRUE(*c.createIfAbsent(key("lease"), "one"));
  EXPECT_FALSE(*c.createIfAbsent(key("lease"), "two"));
  EXPECT_EQ((*c.get(key("lease")))->value, "one");
}

TEST_F(EtcdClient, TwoClientsRacingOneWins) {
  for (int round = 0; round < 10; ++round) {
    const std::string k = key(std::to_string(round));
    std::atomic<int> wins{0}, errors{0};
    std::vector<std::thread> racers;
    for (const char* who : {"first", "second"}) {
      racers.emplace_back([&, who] {
        auto c = Client::create({etcd_->endpoint});
        auto r = c.ok() ? c->createIfAbsent(k, who) : Result<bool>(c.error());
        if (!r.ok())
          ++errors;
        else if (*r)
          ++wins;
      });
    }
    for (auto& t : racers) t.join();
    EXPECT_EQ(errors, 0);
    EXPECT_EQ(wins, 1) << k;
  }
}

TEST_F(EtcdClient, CompareAndSwapOnModRevision) {
  auto c = client();
  EXPECT_FALSE(*c.compareAndSwap(key("node"), 1, "v0"));  // absent: its mod_revision is 0
  EXPECT_TRUE(*c.compareAndSwap(key("node"), 0, "v1"));
  const auto rev = (*c.get(key("node")))->mod_revision;
  EXPECT_TRUE(*c.compareAndSwap(key("node"), rev, "v2"));
  EXPECT_FALSE(*c.compareAndSwap(key("node"), rev, "v3"));  // a stale revision
  EXPECT_EQ((*c.get(key("node")))->value, "v2");

  auto r = c.txn({{key("node"), Compare::Target::kValue, Compare::Result::kEqual, 0, "v1"}},
                 {Op::erase(key("node"))}, {Op::get(key("node"))});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->succeeded);
  ASSERT_EQ(r->responses.size(), 1u);
  EXPECT_EQ(r->responses[0].kvs.at(0).value, "v2");
}

TEST_F(EtcdClient, LeaseKeysGoWithTheLease) {
  auto c = client();
  auto lease = c.grantLease(60);
  ASSERT_TRUE(lease.ok()) << lease.error().message;
  ASSERT_TRUE(c.put(key("owner"), "replica-1", *lease).ok());
  EXPECT_EQ((*c.get(key("owner")))->lease, *lease);
  auto ttl = c.keepAlive(*lease);
  ASSERT_TRUE(ttl.ok()) << ttl.error().message;
  EXPECT_GT(*ttl, 0);

  ASSERT_TRUE(c.revokeLease(*lease).ok());
  EXPECT_FALSE(c.get(key("owner"))->has_value());
  EXPECT_EQ(*c.keepAlive(*lease), 0);  // gone
  auto again = c.revokeLease(*lease);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "etcd_not_found");
}

TEST_F(EtcdClient, EtcdErrorsKeepTheirMessage) {
  auto c = client();
  auto r = c.put(key("k"), "v", 12345);  // no such lease
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "etcd_not_found");
  EXPECT_NE(r.error().message.find("requested lease not found"), std::string::npos)
      << r.error().message;
}

TEST_F(EtcdClient, NextEndpointWhenOneIsDown) {
  auto c = Client::create({url(closedPort()), etcd_->endpoint});
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c->put(key("k"), "v").ok());
  EXPECT_EQ((*c->get(key("k")))->value, "v");

  auto none = Client::create({url(closedPort()), url(closedPort())});
  auto r = none->get(key("k"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "network");
}

// Answers every connection with `response`, then closes it; or, silent, reads the request and
// keeps the connection open without a word until the stub is destroyed.
class StubServer {
 public:
  explicit StubServer(std::string response, bool silent = false)
      : response_(std::move(response)), silent_(silent) {
    fd_ = listenLoopback(&port_);
    thread_ = std::thread([this] { run(); });
  }
  ~StubServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  std::string endpoint() const { return url(port_); }

 private:
  void run() {
    while (!stop_) {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) break;
      std::string request;
      char buf[4096];
      // The headers, then as many bytes as Content-Length says.
      while (true) {
        const auto end = request.find("\r\n\r\n");
        if (end != std::string::npos) {
          const auto at = request.find("Content-Length: ");
          const auto length = at == std::string::npos ? 0 : std::stoul(request.substr(at + 16));
          if (request.size() >= end + 4 + length) break;
        }
        const auto n = ::read(c, buf, sizeof(buf));
        if (n <= 0) break;
        request.append(buf, static_cast<std::size_t>(n));
      }
      if (silent_) {
        held_.push_back(c);
        continue;
      }
      (void)!::write(c, response_.data(), response_.size());
      ::close(c);
    }
    for (const int c : held_) ::close(c);
  }

  std::string response_;
  bool silent_ = false;
  std::vector<int> held_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::string httpOk(const std::string& body) {
  return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

TEST(EtcdClientStub, MalformedAnswersAreErrors) {
  for (const std::string body : {"{\"kvs\": [", "<html>bad gateway</html>", "{\"kvs\":\"x\"}",
                                 "{\"kvs\":[{\"key\":\"!!!!\"}]}", "[1,2]", ""}) {
    StubServer stub(httpOk(body));
    auto c = Client::create({stub.endpoint()});
    ASSERT_TRUE(c.ok());
    auto r = c->get("k");
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.error().code, "etcd_bad_response") << body << ": " << r.error().message;
  }
  StubServer teapot("HTTP/1.1 418 I'm a teapot\r\nContent-Length: 2\r\n\r\n{}");
  auto r = Client::create({teapot.endpoint()})->put("k", "v");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "etcd_http");
}

TEST(EtcdClientStub, BrokenWatchStreams) {
  const auto never = [](const std::vector<Event>&) { return true; };
  const std::pair<std::string, std::string> cases[] = {
      {httpOk("{\"result\":{\"events\":\"x\"}}\n"), "etcd_bad_response"},
      {httpOk("{\"result\":{\"created\":true}}\nnot json\n"), "etcd_bad_response"},
      {httpOk("{\"result\":{\"canceled\":true,\"compact_revision\":\"5\"}}\n"), "etcd_compacted"},
      {httpOk("{\"result\":{\"created\":true}}\n"), "network"},  // the stream just ends
      {"HTTP/1.1 400 Bad Request\r\nContent-Length: 41\r\n\r\n"
       "{\"error\":\"unexpected EOF\",\"code\":3,\"x\":0}",
       "etcd_invalid_argument"}};
  Options small;
  small.max_response_bytes = 16;
  for (const auto& [response, code] : cases) {
    StubServer stub(response);
    auto st = Client::create({stub.endpoint()})->watch("k", 0, never);
    ASSERT_FALSE(st.ok()) << response;
    EXPECT_EQ(st.error().code, code) << response << ": " << st.error().message;
  }
  {  // a line longer than the limit, never ending
    StubServer stub(httpOk("{\"result\":{\"created\":true,\"padding\":\"...\"}}"));
    auto st = Client::create({stub.endpoint()}, small)->watch("k", 0, never);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, "etcd_bad_response") << st.error().message;
    EXPECT_NE(st.error().message.find("longer than the limit"), std::string::npos);
  }
}

TEST(EtcdClientStub, CreateChecksItsArguments) {
  EXPECT_EQ(Client::create({}).error().code, "bad_url");
  Options opt;
  opt.range_page = 0;
  EXPECT_EQ(Client::create({"http://127.0.0.1:2379"}, opt).error().code, "bad_option");
}

TEST(EtcdClientStub, ConnectionClosedWithoutAnswer) {
  StubServer stub("");
  auto r = Client::create({stub.endpoint()})->get("k");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "network");
}

TEST_F(EtcdClient, WatchFromARevision) {
  auto c = client();
  auto first = c.put(key("a"), "1");
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_TRUE(c.put(key("b"), "2").ok());
  ASSERT_TRUE(c.put(key("").substr(0, key("").size() - 1) + "0", "outside").ok());
  ASSERT_TRUE(*c.erase(key("a")));

  std::vector<Event> seen;
  auto st = c.watch(key(""), *first, [&](const std::vector<Event>& events) {
    seen.insert(seen.end(), events.begin(), events.end());
    return seen.size() < 3;
  });
  ASSERT_TRUE(st.ok()) << st.error().message;
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].type, Event::Type::kPut);
  EXPECT_EQ(seen[0].kv.key, key("a"));
  EXPECT_EQ(seen[0].kv.value, "1");
  EXPECT_EQ(seen[0].kv.mod_revision, *first);
  EXPECT_EQ(seen[1].kv.key, key("b"));
  EXPECT_EQ(seen[2].type, Event::Type::kDelete);
  EXPECT_EQ(seen[2].kv.key, key("a"));
}

TEST_F(EtcdClient, WatchLiveUntilStopped) {
  auto c = client();
  std::atomic<bool> stop{false}, seen{false};
  Status st;
  std::thread watcher([&] {
    st = c.watch(
        key(""), 0,
        [&](const std::vector<Event>& events) {
          for (const auto& e : events) {
            if (e.kv.key == key("k")) seen = true;
          }
          return true;
        },
        &stop);
  });
  // The watch starts at the revision current when it is set up: write until it sees a write.
  for (int i = 0; i < 200 && !seen; ++i) {
    ASSERT_TRUE(c.put(key("k"), std::to_string(i)).ok());  // the other calls go on meanwhile
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  stop = true;
  watcher.join();
  EXPECT_TRUE(seen);
  EXPECT_TRUE(st.ok()) << st.error().message;
}

// A request that reached an endpoint is not sent again to the next one when it times out: a
// transaction may have been applied.
TEST_F(EtcdClient, TimeoutAfterConnectingIsNotResent) {
  StubServer silent("", /*silent=*/true);
  Options opt;
  opt.request_timeout_s = 1;
  auto c = Client::create({silent.endpoint(), etcd_->endpoint}, opt);
  ASSERT_TRUE(c.ok());
  auto r = c->createIfAbsent(key("k"), "v");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "network");
  EXPECT_FALSE(c->get(key("k")).ok());  // still the silent endpoint: it was reached
  EXPECT_FALSE(client().get(key("k"))->has_value());
}

}  // namespace
}  // namespace drover::etcd
