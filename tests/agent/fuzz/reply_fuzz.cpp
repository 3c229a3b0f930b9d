// What the server sends the agent as text: plan, capture plan, register, exchange and join
// replies (and the recipe's steps, planned), Content-Range values. Malformed, deep, huge or
// mistyped input is an error value: never an exception, a crash or a stack overflow.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "agent/api_client.hpp"
#include "agent/capture.hpp"
#include "agent/image_stream.hpp"
#include "agent/join.hpp"
#include "common/log.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace drover::agent;
  static const bool quiet = (drover::log::setup("off"), true);
  (void)quiet;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  (void)parsePlan(body);
  (void)parseRegister(body);
  (void)parseExchange(body);
  (void)parseContentRange(body);
  (void)parseCapturePlan(body);
  if (auto recipe = parseJoin(body); recipe.ok()) {
    (void)planSteps(*recipe, RuntimePaths{},
                    {{"DROVER_NODE", "n1"}, {"DROVER_API", "https://192.0.2.1"}});
  }
  return 0;
}
