# Server tests (included from CMakeLists.txt once dhcp/server exists).
drover_test(NAME dhcp_engine_test LABEL unit
  SOURCES dora_test.cpp lease_life_test.cpp relay_boot_test.cpp bad_input_test.cpp
  DEPS drover::dhcp drover::test_support)
drover_test(NAME dhcp_lease_store_test LABEL unit
  SOURCES lease_store_conformance_test.cpp
  DEPS drover::dhcp drover::test_support)
