#include "common/metrics.hpp"

#include <gtest/gtest.h>

namespace drover::metrics {
namespace {

TEST(Registry, RendersPrometheusText) {
  Registry r;
  auto& drops = r.counter("dhcp_drops_total", "DHCP packets dropped", "reason=\"bad_cookie\"");
  drops += 3;
  auto& again = r.counter("dhcp_drops_total", "DHCP packets dropped", "reason=\"bad_cookie\"");
  EXPECT_EQ(&drops, &again);
  r.gauge("nodes", "Nodes by state", "state=\"installed\"") = 2;
  auto text = r.render();
  EXPECT_NE(text.find("# TYPE drover_dhcp_drops_total counter"), std::string::npos);
  EXPECT_NE(text.find("drover_dhcp_drops_total{reason=\"bad_cookie\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("drover_nodes{state=\"installed\"} 2\n"), std::string::npos);
  EXPECT_EQ(r.valueForTest("dhcp_drops_total", "reason=\"bad_cookie\""), 3);
  EXPECT_EQ(r.valueForTest("missing"), 0);
}

}  // namespace
}  // namespace drover::metrics
