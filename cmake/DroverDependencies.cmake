# Every dependency is a Debian 12 package (installed by scripts/setup.sh).
# What drover-agent links (all that DROVER_AGENT_ONLY looks for, so a cross build needs only
# these for the target architecture).
find_package(Threads REQUIRED)
find_package(CURL REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(ZLIB REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
pkg_check_modules(LZMA REQUIRED IMPORTED_TARGET liblzma)
if(DROVER_AGENT_ONLY)
  return()
endif()

find_package(Boost 1.74 REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(SQLite3 REQUIRED)
# The declaration loader's YAML scanner (Debian libyaml-dev); yaml-cpp stays for its errors.
pkg_check_modules(LIBYAML REQUIRED IMPORTED_TARGET yaml-0.1)
# IPMI v2.0 lanplus for power/ (Debian libfreeipmi-dev).
pkg_check_modules(FREEIPMI REQUIRED IMPORTED_TARGET libfreeipmi)
# The journal's native protocol for `drover` under systemd (Debian libsystemd-dev).
pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET libsystemd)

find_path(KAINJOW_MUSTACHE_INCLUDE_DIR kainjow/mustache.hpp REQUIRED)
add_library(drover_mustache INTERFACE)
target_include_directories(drover_mustache SYSTEM INTERFACE ${KAINJOW_MUSTACHE_INCLUDE_DIR})
add_library(drover::mustache ALIAS drover_mustache)

# Boost.Asio/Beast are header-only here; pin the options we rely on.
add_library(drover_asio INTERFACE)
target_link_libraries(drover_asio INTERFACE Boost::headers Threads::Threads)
target_compile_definitions(drover_asio INTERFACE
  BOOST_ASIO_NO_DEPRECATED
  BOOST_BEAST_USE_STD_STRING_VIEW)
# Boost 1.74's Asio recognises coroutines in clang only through the Coroutines TS
# (__cpp_coroutines, <experimental/coroutine>), which clang no longer offers in C++20 mode:
# tell it that clang's standard coroutines (<coroutine> of libstdc++) are there.
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang" AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 14)
  target_compile_definitions(drover_asio INTERFACE BOOST_ASIO_HAS_CO_AWAIT=1 BOOST_ASIO_HAS_STD_COROUTINE=1)
endif()
add_library(drover::asio ALIAS drover_asio)

if(DROVER_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(DROVER_BUILD_BENCHMARKS)
  find_package(benchmark QUIET)
endif()
