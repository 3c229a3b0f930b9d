// Replays a fuzz corpus through LLVMFuzzerTestOneInput when libFuzzer is not linked, so
// every fuzz target builds and runs its corpus in every build (GCC, ASan + UBSan), then
// fuzzes it briefly without libFuzzer: `--mutations=N` runs N inputs made from the corpus by
// random mutations (bit flips, interesting bytes, inserted, erased, repeated and spliced
// ranges, truncation). Blind: no coverage guides it, unlike scripts/fuzz-campaign.sh, but
// it runs on every build, under the sanitizers, in well under a second per target.
//
//   TARGET [--mutations=N] [--seed=S] FILE|DIR...
//
// The seed is printed; the same seed replays the same inputs. An input that crashes is
// written to ./fuzz-crash-<seed>-<n> first (from the sanitizer's death callback, or a
// signal handler in builds without sanitizers) so it can join the corpus once fixed.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
#define DROVER_REPLAY_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define DROVER_REPLAY_SANITIZED 1
#endif
#endif
#ifdef DROVER_REPLAY_SANITIZED
#include <sanitizer/common_interface_defs.h>
#endif

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

using Bytes = std::vector<std::uint8_t>;

constexpr std::size_t kMaxInput = 64 * 1024;

// The input being run, for the crash writer (plain globals: read from a signal handler).
const Bytes* g_current = nullptr;
char g_crash_path[128] = {};

void writeCrash() {
  if (g_current == nullptr || g_crash_path[0] == '\0') return;
  const int fd = ::open(g_crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return;
  std::size_t off = 0;
  while (off < g_current->size()) {
    const auto n = ::write(fd, g_current->data() + off, g_current->size() - off);
    if (n <= 0) break;
    off += static_cast<std::size_t>(n);
  }
  ::close(fd);
  static const char kSaid[] = "fuzz replay: the crashing input is in ";
  [[maybe_unused]] auto a = ::write(2, kSaid, sizeof(kSaid) - 1);
  [[maybe_unused]] auto b = ::write(2, g_crash_path, std::strlen(g_crash_path));
  [[maybe_unused]] auto c = ::write(2, "\n", 1);
}

#ifndef DROVER_REPLAY_SANITIZED
void onSignal(int sig) {
  writeCrash();
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}
#endif

void catchCrashes() {
#ifdef DROVER_REPLAY_SANITIZED
  __sanitizer_set_death_callback(writeCrash);
#else
  for (int sig : {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL}) ::signal(sig, onSignal);
#endif
}

Bytes readFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void run(const Bytes& input) {
  LLVMFuzzerTestOneInput(input.empty() ? nullptr : input.data(), input.size());
}

class Mutator {
 public:
  Mutator(const std::vector<Bytes>& corpus, std::uint64_t seed) : corpus_(corpus), rng_(seed) {}

  Bytes next() {
    Bytes b = corpus_.empty() ? Bytes{} : corpus_[pick(corpus_.size())];
    const int rounds = 1 + static_cast<int>(pick(4));
    for (int i = 0; i < rounds; ++i) mutate(b);
    if (b.size() > kMaxInput) b.resize(kMaxInput);
    return b;
  }

 private:
  std::size_t pick(std::size_t n) { return n == 0 ? 0 : rng_() % n; }

  void mutate(Bytes& b) {
    static constexpr std::uint8_t kInteresting[] = {0x00, 0x01, 0x7f, 0x80, 0xff, 0x20,
                                                    0x0a, 0x2f, 0x2e, 0x3a, 0x22, 0x25};
    switch (pick(b.empty() ? 2 : 8)) {
      case 0:  // insert random bytes
      case 1: {
        const std::size_t at = pick(b.size() + 1), n = 1 + pick(16);
        Bytes add(n);
        for (auto& x : add) x = static_cast<std::uint8_t>(rng_());
        b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), add.begin(), add.end());
        break;
      }
      case 2:
        b[pick(b.size())] ^= static_cast<std::uint8_t>(1u << pick(8));
        break;
      case 3:
        b[pick(b.size())] = kInteresting[pick(sizeof(kInteresting))];
        break;
      case 4: {  // erase a range
        const std::size_t at = pick(b.size()),
                          n = 1 + pick(std::min<std::size_t>(32, b.size() - at));
        b.erase(b.begin() + static_cast<std::ptrdiff_t>(at),
                b.begin() + static_cast<std::ptrdiff_t>(at + n));
        break;
      }
      case 5: {  // repeat a range
        const std::size_t at = pick(b.size()),
                          n = 1 + pick(std::min<std::size_t>(64, b.size() - at));
        Bytes range(b.begin() + static_cast<std::ptrdiff_t>(at),
                    b.begin() + static_cast<std::ptrdiff_t>(at + n));
        for (std::size_t k = 1 + pick(8); k > 0; --k)
          b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), range.begin(), range.end());
        break;
      }
      case 6: {  // splice: this input's head, another's tail
        const Bytes& other = corpus_[pick(corpus_.size())];
        const std::size_t cut = pick(b.size()), from = pick(other.size() + 1);
        b.resize(cut);
        b.insert(b.end(), other.begin() + static_cast<std::ptrdiff_t>(from), other.end());
        break;
      }
      default:
        b.resize(pick(b.size()));
        break;  // truncate
    }
  }

  const std::vector<Bytes>& corpus_;
  std::mt19937_64 rng_;
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<Bytes> corpus;
  std::uint64_t mutations = 0;
  std::uint64_t seed =
      static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg(argv[i]);
    if (arg.starts_with("--mutations=")) {
      mutations = std::stoull(std::string(arg.substr(12)));
      continue;
    }
    if (arg.starts_with("--seed=")) {
      seed = std::stoull(std::string(arg.substr(7)));
      continue;
    }
    std::filesystem::path p(arg);
    if (std::filesystem::is_directory(p)) {
      for (const auto& e : std::filesystem::recursive_directory_iterator(p))
        if (e.is_regular_file()) corpus.push_back(readFile(e.path()));
    } else if (std::filesystem::exists(p)) {
      corpus.push_back(readFile(p));
    } else {
      std::fprintf(stderr, "fuzz replay: %s does not exist\n", argv[i]);
      return 2;
    }
  }
  catchCrashes();
  for (const auto& input : corpus) {
    g_current = &input;
    run(input);
  }
  // An empty corpus still runs the target once on empty input.
  if (corpus.empty()) run({});
  std::printf("fuzz replay: %zu inputs, no crash\n", corpus.size());
  if (mutations == 0) return 0;

  std::printf("fuzz replay: %llu mutated inputs, --seed=%llu\n",
              static_cast<unsigned long long>(mutations), static_cast<unsigned long long>(seed));
  std::fflush(stdout);
  Mutator mutator(corpus, seed);
  for (std::uint64_t n = 0; n < mutations; ++n) {
    const Bytes input = mutator.next();
    std::snprintf(g_crash_path, sizeof(g_crash_path), "fuzz-crash-%llu-%llu",
                  static_cast<unsigned long long>(seed), static_cast<unsigned long long>(n));
    g_current = &input;
    run(input);
  }
  g_current = nullptr;
  std::printf("fuzz replay: mutated inputs, no crash\n");
  return 0;
}
