// Where the loggers of common/log.hpp write. By default each has its own stderr sink; an
// executable may send them all to one other sink at start-up (`drover`: the journal,
// common/journal/sink.hpp).
#pragma once

#include <spdlog/common.h>

namespace drover::log {

// Sends the lines of every logger, present and future, to `sink` instead of stderr. The
// sink gets the pattern setup() chose. Called at start-up, before other threads log.
void useSink(spdlog::sink_ptr sink);

}  // namespace drover::log
