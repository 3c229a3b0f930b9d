// Where `drover` writes its log lines: `--log-target journal|stderr|auto`.
//
// Under systemd the journal reads a service's stderr as plain lines. When stderr is that
// stream (auto: $JOURNAL_STREAM names stderr's device and inode, as systemd.exec(5)
// documents) or when asked (journal), every line goes instead to journald's native socket
// as one structured entry (common/journal/fields.hpp), so that the journal can be filtered
// by component, event and key: `journalctl -u drover DROVER_COMPONENT=dhcp`.
//
// A line is one sd_journal_sendv(3) call: one datagram to /run/systemd/journal/socket from
// the calling thread, no connection and no lock. It waits only when journald's receive
// queue is full, the same back-pressure a write to the stderr stream has, so serve's io
// threads are never held longer than they are today. A line journald refuses is written
// to stderr instead and counted (drover_log_journal_failures_total); libsystemd drops lines
// silently while the socket file is missing, which is why the socket is checked before the
// journal is chosen.
#pragma once

#include <string_view>

#include <spdlog/sinks/sink.h>

#include "common/result.hpp"

namespace drover::journal {

// journald's native socket.
inline constexpr std::string_view kSocketPath = "/run/systemd/journal/socket";

// True if `journal_stream` ("<device>:<inode>", decimal) names the file `dev`, `ino`.
bool streamMatches(std::string_view journal_stream, unsigned long long dev, unsigned long long ino);

// True if stderr is the journal stream named by $JOURNAL_STREAM and journald's native
// socket is there.
bool stderrIsJournal();

// Whether `target` ("auto", "journal" or "stderr") sends log lines to the journal here. An
// error for "journal" without journald's socket, and for any other word.
Result<bool> useJournal(std::string_view target);

// A sink that sends each line to the journal.
spdlog::sink_ptr makeSink();

}  // namespace drover::journal
