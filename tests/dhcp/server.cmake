# Server tests (included from CMakeLists.txt once dhcp/server exists).
# The static boot policy the engine tests, the harness and the fuzzer answer with; its
# firmware table is the boot decision's (drover::boot).
add_library(drover_dhcp_test_policy STATIC support/static_policy.cpp)
target_link_libraries(drover_dhcp_test_policy PUBLIC drover::dhcp drover::boot drover::test_support)
drover_apply_flags(drover_dhcp_test_policy)
drover_test(NAME dhcp_engine_test LABEL unit
  SOURCES dora_test.cpp lease_life_test.cpp relay_boot_test.cpp bad_input_test.cpp pools_test.cpp parameter_list_test.cpp exchange_test.cpp
          static_policy_test.cpp replicas_test.cpp flood_test.cpp
  DEPS drover_dhcp_test_policy drover::test_support)
drover_test(NAME dhcp_lease_store_test LABEL unit
  SOURCES lease_store_conformance_test.cpp
  DEPS drover::dhcp drover::test_support SQLite::SQLite3)
drover_executable(NAME dhcp_harness SOURCES dhcp_harness.cpp
  DEPS drover_dhcp_test_policy CLI11::CLI11 nlohmann_json::nlohmann_json)
drover_test(NAME dhcp_integration_test LABEL integration COST 30
  SOURCES clients_integration_test.cpp proxy_integration_test.cpp relay_crash_integration_test.cpp
  DEPS drover::dhcp drover::test_support)
add_dependencies(dhcp_integration_test dhcp_harness)
drover_fuzz(NAME dhcp_engine_fuzz SOURCES fuzz/engine_fuzz.cpp
  CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus COVERS dhcp/server
  DEPS drover_dhcp_test_policy)
# `drover serve` under a 20,000-DISCOVER flood from random MACs (root, dhclient, python3).
drover_test(NAME dhcp_flood_integration_test LABEL integration
  SOURCES flood_integration_test.cpp
  DEPS drover::test_support)
add_dependencies(dhcp_flood_integration_test drover)
