#include "http/router.hpp"

#include <gtest/gtest.h>

#include "http/url.hpp"

namespace drover::http {
namespace {

Request makeRequest(Verb method, std::string path) {
  Request req;
  req.message.method(method);
  req.message.target(path);
  req.path = std::move(path);
  return req;
}

TEST(UrlTest, PercentDecode) {
  EXPECT_EQ(percentDecode("a%20b%2Fc"), std::optional<std::string>("a b/c"));
  EXPECT_EQ(percentDecode("a+b", true), std::optional<std::string>("a b"));
  EXPECT_EQ(percentDecode("a+b"), std::optional<std::string>("a+b"));
  EXPECT_FALSE(percentDecode("%4"));
  EXPECT_FALSE(percentDecode("%zz"));
  EXPECT_FALSE(percentDecode("a%00b"));
}

TEST(UrlTest, Query) {
  auto q = parseQuery("mac=52%3A54%3A00%3A12%3A34%3A56&uuid=abc&flag&mac=second&bad=%zz&=x");
  const QueryParams expected{{"mac", "52:54:00:12:34:56"}, {"uuid", "abc"}, {"flag", ""}};
  EXPECT_EQ(q, expected);  // in order; the first mac wins, malformed and empty keys dropped
  ASSERT_NE(findParam(q, "uuid"), nullptr);
  EXPECT_EQ(*findParam(q, "uuid"), "abc");
  EXPECT_EQ(findParam(q, "bad"), nullptr);
  EXPECT_EQ(parseQuery("a=1+2&b=%2B&c=x%00y&d=plain")[0].second, "1 2");
  EXPECT_EQ(parseQuery("b=%2B")[0].second, "+");
  EXPECT_EQ(parseQuery("c=x%00y&d=plain"), (QueryParams{{"d", "plain"}}));
  // A target of thousands of distinct keys keeps the first kMaxQueryParams.
  std::string many;
  for (int i = 0; i < 2000; ++i) many += "k" + std::to_string(i) + "=" + std::to_string(i) + "&";
  const auto kept = parseQuery(many);
  ASSERT_EQ(kept.size(), kMaxQueryParams);
  EXPECT_EQ(kept.front(), (std::pair<std::string, std::string>{"k0", "0"}));
  EXPECT_EQ(kept.back().first, "k" + std::to_string(kMaxQueryParams - 1));
  auto parts = splitTarget("/boot.ipxe?mac=1");
  EXPECT_EQ(parts.path, "/boot.ipxe");
  EXPECT_EQ(parts.query, "mac=1");
}

TEST(RouterTest, ExactParamsPrefixAndErrors) {
  Router router;
  router.add(Verb::get, "/v1/nodes",
             [](const Request&) { return Response::text(Status::ok, "list"); });
  router.add(Verb::get, "/v1/nodes/{name}/events", [](const Request& r) {
    return Response::text(Status::ok, "events:" + r.params.at("name"));
  });
  router.add(Verb::post, "/v1/nodes/{name}/reinstall", [](const Request& r) {
    return Response::text(Status::ok, "re:" + r.params.at("name"));
  });
  router.addPrefix(Verb::get, "/assets",
                   [](const Request& r) { return Response::text(Status::ok, "a:" + r.tail); });
  router.addPrefix(Verb::get, "/assets/images",
                   [](const Request& r) { return Response::text(Status::ok, "i:" + r.tail); });

  auto req = makeRequest(Verb::get, "/v1/nodes");
  EXPECT_EQ(router.dispatch(req).body, "list");
  req = makeRequest(Verb::get, "/v1/nodes/worker%2D1/events");
  EXPECT_EQ(router.dispatch(req).body, "events:worker-1");
  req = makeRequest(Verb::head, "/v1/nodes/w/events");
  EXPECT_EQ(router.dispatch(req).body, "events:w");
  req = makeRequest(Verb::post, "/v1/nodes/w/reinstall");
  EXPECT_EQ(router.dispatch(req).body, "re:w");
  req = makeRequest(Verb::get, "/assets/kernels/vmlinuz");
  EXPECT_EQ(router.dispatch(req).body, "a:kernels/vmlinuz");
  req = makeRequest(Verb::get, "/assets/images/debian/disk.raw");
  EXPECT_EQ(router.dispatch(req).body, "i:debian/disk.raw");

  req = makeRequest(Verb::get, "/v1/nodes/w/reinstall");
  auto r = router.dispatch(req);
  EXPECT_EQ(r.status, Status::method_not_allowed);
  EXPECT_EQ(r.headers[beast_http::field::allow], "POST");
  req = makeRequest(Verb::get, "/nope");
  EXPECT_EQ(router.dispatch(req).status, Status::not_found);
  req = makeRequest(Verb::get, "/v1/nodes/a/b/events");
  EXPECT_EQ(router.dispatch(req).status, Status::not_found);
}

}  // namespace
}  // namespace drover::http
