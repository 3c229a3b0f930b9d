// The main of every GoogleTest binary. A binary in which a test skipped exits 77, which CTest
// reports as skipped (SKIP_RETURN_CODE), so a machine that lacks a tool never shows a skipped
// test as passed. Under CI=true (CI installs every package the suite needs) a skip fails the
// binary instead.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace {

constexpr int kSkipped = 77;

bool ciRun() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string_view(ci) != "" && std::string_view(ci) != "false" &&
         std::string_view(ci) != "0";
}

void listSkipped(const ::testing::UnitTest& unit) {
  for (int i = 0; i < unit.total_test_suite_count(); ++i) {
    const auto* suite = unit.GetTestSuite(i);
    for (int j = 0; j < suite->total_test_count(); ++j) {
      const auto* info = suite->GetTestInfo(j);
      if (info->should_run() && info->result()->Skipped())
        std::fprintf(stderr, "skipped: %s.%s\n", suite->name(), info->name());
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleMock(&argc, argv);
  const int rc = RUN_ALL_TESTS();
  const auto& unit = *::testing::UnitTest::GetInstance();
  if (rc != 0 || unit.skipped_test_count() == 0) return rc;
  listSkipped(unit);
  if (ciRun()) {
    std::fprintf(
        stderr,
        "CI is set: %d skipped test(s) fail the run (CI installs every tool the suite needs)\n",
        unit.skipped_test_count());
    return 1;
  }
  return kSkipped;
}
