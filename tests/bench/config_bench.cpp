// Config loading at scale: a generated declaration of 10,000 nodes (in memory) is parsed,
// checked and indexed; then single lookups. Prints the process's peak RSS at the end.
//   build-config/bench/config_bench [--benchmark_repetitions=5]
//   build-config/bench/config_bench --write FILE   (the declaration, for `drover validate`)
#include <sys/resource.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "cluster/inventory.hpp"
#include "cluster/loader.hpp"
#include "cluster/yaml_tree.hpp"

namespace drover::cluster {
namespace {

// 198.18.0.0/15 is the benchmarking range (RFC 2544): nodes in 198.18/16, pool in 198.19/16.
std::string generateConfig(int nodes) {
  std::string y = R"(server:
  advertise: 198.18.0.1
networks:
  - name: bench
    subnet: 198.18.0.0/15
    pool: 198.19.0.1-198.19.255.254
    gateway: 198.18.0.1
    lease: 1h
images:
  boot-env:
    kernel: { path: /srv/vmlinuz }
    initrd: { path: /srv/initrd.img }
  os:
    disk: { url: "http://198.18.0.1:8080/os.raw.zst", sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" }
profiles:
  worker:
    install: { image: os, disk: /dev/sda }
    kernel_args: [console=ttyS0]
defaults:
  unknown: discover
nodes:
)";
  y.reserve(y.size() + static_cast<std::size_t>(nodes) * 160);
  for (int i = 0; i < nodes; ++i) {
    const int hi = (i + 2) >> 8, lo = (i + 2) & 0xff;
    y += fmt::format(
        "  - name: node-{}\n    mac: 52:54:00:{:02x}:{:02x}:{:02x}\n"
        "    uuid: 00000000-0000-4000-8000-{:012x}\n    ip: 198.18.{}.{}\n"
        "    profile: worker\n    labels: {{ rack: r{} }}\n",
        i, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff, i, hi, lo, i / 40);
  }
  return y;
}

const std::string& config10k() {
  static const std::string text = generateConfig(10000);
  return text;
}

void BM_LoadAndCheck10k(benchmark::State& state) {
  const auto& text = config10k();
  for (auto _ : state) {
    auto r = loadConfigText(text, "bench.yaml", ".");
    if (!r.ok()) state.SkipWithError(r.errors.front().str().c_str());
    benchmark::DoNotOptimize(r);
  }
  state.counters["nodes"] = 10000;
  state.counters["bytes"] = static_cast<double>(text.size());
}
BENCHMARK(BM_LoadAndCheck10k)->Unit(benchmark::kMillisecond);

// The share of the YAML parser alone (libyaml's scanner and the loader's tree).
void BM_YamlParseOnly10k(benchmark::State& state) {
  const auto& text = config10k();
  for (auto _ : state) {
    auto tree = yaml::Tree::parse(text);
    if (tree.viaYamlCpp()) state.SkipWithError("the text went to yaml-cpp");
    benchmark::DoNotOptimize(tree);
  }
}
BENCHMARK(BM_YamlParseOnly10k)->Unit(benchmark::kMillisecond);

// For comparison: yaml-cpp's node tree, which the loader used before, and the same parser
// building the loader's tree (its path for texts with a syntax error).
void BM_YamlCppLoadOnly10k(benchmark::State& state) {
  const auto& text = config10k();
  for (auto _ : state) benchmark::DoNotOptimize(YAML::Load(text));
}
BENCHMARK(BM_YamlCppLoadOnly10k)->Unit(benchmark::kMillisecond);

void BM_YamlCppTreeOnly10k(benchmark::State& state) {
  const auto& text = config10k();
  for (auto _ : state) benchmark::DoNotOptimize(yaml::Tree::parseWithYamlCpp(text));
}
BENCHMARK(BM_YamlCppTreeOnly10k)->Unit(benchmark::kMillisecond);

void BM_LoadCheckAndBuild10k(benchmark::State& state) {
  const auto& text = config10k();
  for (auto _ : state) {
    auto r = loadConfigText(text, "bench.yaml", ".");
    auto inv = Inventory::build(r.config);
    benchmark::DoNotOptimize(inv);
  }
}
BENCHMARK(BM_LoadCheckAndBuild10k)->Unit(benchmark::kMillisecond);

void BM_BuildInventory10k(benchmark::State& state) {
  auto r = loadConfigText(config10k(), "bench.yaml", ".");
  for (auto _ : state) {
    auto inv = Inventory::build(r.config);
    benchmark::DoNotOptimize(inv);
  }
}
BENCHMARK(BM_BuildInventory10k)->Unit(benchmark::kMicrosecond);

void BM_MatchByMac(benchmark::State& state) {
  auto inv = Inventory::build(loadConfigText(config10k(), "bench.yaml", ".").config);
  std::uint32_t i = 0;
  for (auto _ : state) {
    const std::uint32_t n = i++ % 10000;
    MacAddress mac({0x52, 0x54, 0x00, static_cast<std::uint8_t>(n >> 16),
                    static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)});
    benchmark::DoNotOptimize(inv.match(mac, std::nullopt));
  }
}
BENCHMARK(BM_MatchByMac);

void BM_MatchUnknownByUuid(benchmark::State& state) {
  auto inv = Inventory::build(loadConfigText(config10k(), "bench.yaml", ".").config);
  const MacAddress unknown({0x52, 0x54, 0x00, 0xff, 0xff, 0xff});
  const auto uuid = *Uuid::parse("00000000-0000-4000-8000-000000001234");
  for (auto _ : state) benchmark::DoNotOptimize(inv.match(unknown, uuid));
}
BENCHMARK(BM_MatchUnknownByUuid);

}  // namespace
}  // namespace drover::cluster

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--write") == 0) {
    std::ofstream out(argv[2], std::ios::binary);
    out << drover::cluster::config10k();
    return out.good() ? 0 : 1;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("peak RSS: %.1f MiB\n", static_cast<double>(usage.ru_maxrss) / 1024.0);
  return 0;
}
