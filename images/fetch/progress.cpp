#include <unistd.h>

#include <chrono>

#include <fmt/format.h>

#include "images/fetch/fetcher.hpp"

namespace drover::images::fetch {
std::string humanBytes(std::uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", v, units[u]);
}

namespace {

std::string human(std::uint64_t bytes) { return humanBytes(bytes); }

// Redrawn in place (\r) at most 10 times a second.
class Bar final : public Progress {
 public:
  Bar(std::string label, std::FILE* out) : label_(std::move(label)), out_(out) {}
  void update(std::uint64_t done, std::uint64_t total) override {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(100) && done != total) return;
    last_ = now;
    constexpr int kWidth = 30;
    if (total > 0) {
      const int fill = static_cast<int>(done * kWidth / total);
      fmt::print(out_, "\r{} [{}{}] {:3}% {} / {}", label_, std::string(fill, '#'),
                 std::string(kWidth - fill, ' '), done * 100 / total, human(done), human(total));
    } else {
      fmt::print(out_, "\r{} {}", label_, human(done));
    }
    std::fflush(out_);
    drawn_ = true;
  }
  void finish(bool ok) override {
    if (drawn_) fmt::print(out_, " {}\n", ok ? "done" : "failed");
    std::fflush(out_);
  }

 private:
  std::string label_;
  std::FILE* out_;
  std::chrono::steady_clock::time_point last_{};
  bool drawn_ = false;
};

// One line per 10% (or per 64 MiB when the size is unknown): fit for logs and pipes.
class Lines final : public Progress {
 public:
  Lines(std::string label, std::FILE* out) : label_(std::move(label)), out_(out) {}
  void update(std::uint64_t done, std::uint64_t total) override {
    const std::uint64_t step = total > 0 ? done * 10 / total : done / (64u << 20);
    if (step <= step_) return;
    step_ = step;
    if (total > 0) fmt::print(out_, "{} {}% {} / {}\n", label_, step * 10, human(done), human(total));
    else fmt::print(out_, "{} {}\n", label_, human(done));
    std::fflush(out_);
  }
  void finish(bool ok) override {
    if (!ok) fmt::print(out_, "{} failed\n", label_);
    std::fflush(out_);
  }

 private:
  std::string label_;
  std::FILE* out_;
  std::uint64_t step_ = 0;
};

}  // namespace

std::unique_ptr<Progress> makeProgress(std::string label, std::FILE* out) {
  if (::isatty(::fileno(out)) != 0) return std::make_unique<Bar>(std::move(label), out);
  return std::make_unique<Lines>(std::move(label), out);
}

}  // namespace drover::images::fetch
