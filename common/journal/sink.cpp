#include "common/journal/sink.hpp"

#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>
// Without CODE_FILE=, CODE_LINE= and CODE_FUNC= of this file in every entry.
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "common/journal/fields.hpp"
#include "common/metrics.hpp"

namespace drover::journal {
namespace {

// "" when journald's socket is there, else why not.
std::string socketProblem() {
  struct stat st {};
  if (::stat(std::string(kSocketPath).c_str(), &st) != 0) return std::strerror(errno);
  if (!S_ISSOCK(st.st_mode)) return "not a socket";
  return {};
}

class JournalSink final : public spdlog::sinks::sink {
 public:
  JournalSink()
      : failures_(metrics::Registry::global().counter(
            "log_journal_failures_total",
            "Log lines journald did not take (written to stderr instead)")),
        formatter_(std::make_unique<spdlog::pattern_formatter>()) {}

  void log(const spdlog::details::log_msg& msg) override {
    const auto fields =
        entryFields(msg.level, std::string_view(msg.logger_name.data(), msg.logger_name.size()),
                    std::string_view(msg.payload.data(), msg.payload.size()));
    std::vector<iovec> iov(fields.size());
    for (std::size_t i = 0; i < fields.size(); ++i) {
      iov[i].iov_base = const_cast<char*>(fields[i].data());
      iov[i].iov_len = fields[i].size();
    }
    if (sd_journal_sendv(iov.data(), static_cast<int>(iov.size())) >= 0) return;
    failures_.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(mu_);
    spdlog::memory_buf_t line;
    formatter_->format(msg, line);
    std::fwrite(line.data(), 1, line.size(), stderr);
  }

  void flush() override {
    std::lock_guard lock(mu_);
    std::fflush(stderr);
  }

  void set_pattern(const std::string& pattern) override {
    set_formatter(std::make_unique<spdlog::pattern_formatter>(pattern));
  }

  void set_formatter(std::unique_ptr<spdlog::formatter> formatter) override {
    std::lock_guard lock(mu_);
    formatter_ = std::move(formatter);
  }

 private:
  metrics::Counter& failures_;
  std::mutex mu_;  // the stderr fallback's formatter and writes
  std::unique_ptr<spdlog::formatter> formatter_;
};

}  // namespace

bool streamMatches(std::string_view journal_stream, unsigned long long dev,
                   unsigned long long ino) {
  const auto colon = journal_stream.find(':');
  if (colon == std::string_view::npos) return false;
  const auto parse = [](std::string_view s, unsigned long long& out) {
    const auto* end = s.data() + s.size();
    const auto [p, ec] = std::from_chars(s.data(), end, out);
    return !s.empty() && ec == std::errc() && p == end;
  };
  unsigned long long d = 0;
  unsigned long long i = 0;
  return parse(journal_stream.substr(0, colon), d) && parse(journal_stream.substr(colon + 1), i) &&
         d == dev && i == ino;
}

bool stderrIsJournal() {
  const char* env = std::getenv("JOURNAL_STREAM");
  if (env == nullptr || env[0] == '\0') return false;
  struct stat st {};
  if (::fstat(STDERR_FILENO, &st) != 0) return false;
  return streamMatches(env, static_cast<unsigned long long>(st.st_dev),
                       static_cast<unsigned long long>(st.st_ino)) &&
         socketProblem().empty();
}

Result<bool> useJournal(std::string_view target) {
  if (target == "stderr") return false;
  if (target == "auto") return stderrIsJournal();
  if (target == "journal") {
    const auto problem = socketProblem();
    if (problem.empty()) return true;
    return makeError("no_journal",
                     fmt::format("journal: journald's socket {}: {}", kSocketPath, problem));
  }
  return makeError("bad_log_target", fmt::format("{}: not journal, stderr or auto", target));
}

spdlog::sink_ptr makeSink() {
  return std::make_shared<JournalSink>();
}

}  // namespace drover::journal
