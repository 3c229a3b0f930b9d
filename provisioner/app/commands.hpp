// The drover subcommands. Each lives in its own file and adds itself to the root CLI::App;
// its callback stores the process exit code in the shared Context. The run* functions do
// the work and are what the tests call.
#pragma once

#include <iosfwd>
#include <string>

namespace CLI {
class App;
}

namespace drover::app {

struct Context {
  std::ostream& out;
  std::ostream& err;
  int exit_code = 0;
};

// drover validate FILE
void addValidateCommand(CLI::App& root, Context& ctx);
int runValidate(const std::string& file, std::ostream& out, std::ostream& err);

// drover explain FILE --mac MAC [--uuid UUID] [--arch ARCH] [--ipxe] [--installed]
void addExplainCommand(CLI::App& root, Context& ctx);

// drover serve --config FILE [--state-dir DIR] [--no-dhcp] [--no-tftp]
void addServeCommand(CLI::App& root, Context& ctx);

}  // namespace drover::app
