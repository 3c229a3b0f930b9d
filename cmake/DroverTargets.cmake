# Helpers that give every Drover target the same flags.
#
#   drover_library(NAME <n> SOURCES ... [DEPS ...])     -> static lib drover_<n>, alias drover::<n>
#   drover_executable(NAME <n> SOURCES ... [DEPS ...])  -> build/bin/<n>
#   drover_test(NAME <n> LABEL unit|integration|e2e SOURCES ... [DEPS ...] [SERIAL]
#               [LOCKS <lock>...] [COST <seconds>] [SHARDS <shard>=<gtest filter>...])
#     GoogleTest binary with tests/support/gtest_main.cpp: a skipped test makes CTest report
#     the binary as skipped, and fails it under CI=true. Tests run side by side (ctest -j):
#     e2e and SERIAL ones run alone (RUN_SERIAL); LOCKS names what the test shares with
#     others (RESOURCE_LOCK; docs/testing.md lists the locks); COST, its usual length in
#     seconds, lets a fresh build directory start the long ones first. SHARDS splits the
#     binary into CTest entries <n>.<shard>, each running the cases its filter selects, and
#     <n>.rest running every case no shard names, so no case is ever left out.
#   drover_fuzz(NAME <n> SOURCES ... CORPUS <dir> COVERS <source paths> [DEPS ...]
#               [MUTATIONS <count>])
#     Fuzz targets always build. With clang and DROVER_LIBFUZZER they link libFuzzer (and
#     every other target is compiled with -fsanitize=fuzzer-no-link, so coverage reaches
#     the libraries); otherwise they link tests/support/fuzz_replay_main.cpp, which runs
#     every file of the corpus through the target, then MUTATIONS (default 10000) inputs
#     mutated from it at random (a brief blind fuzz in every build, ASan's included).
#     Either way CTest replays the corpus (label `fuzz`). Each lives in tests/<component>/fuzz/<name>_fuzz.cpp, its corpus in
#     tests/<component>/fuzz/corpus/. COVERS names the codec's sources (files or
#     directories, relative to the source tree) for the coverage report of
#     scripts/fuzz-campaign.sh, which reads build/fuzz/<n>.target.

set(DROVER_WARNINGS -Wall -Wextra -Werror -Wshadow -Wnon-virtual-dtor -Wpedantic)
# GCC 12 reports Asio's coroutine frame allocator as a mismatched new/delete (a false positive).
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  list(APPEND DROVER_WARNINGS -Wno-mismatched-new-delete)
endif()
option(DROVER_LIBFUZZER "Link fuzz targets with libFuzzer (clang only)" OFF)
option(DROVER_COVERAGE "Clang source-based coverage (-fprofile-instr-generate)" OFF)
set(DROVER_CLANG_FUZZ OFF)
if(DROVER_LIBFUZZER AND CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  set(DROVER_CLANG_FUZZ ON)
endif()

function(drover_apply_flags target)
  target_compile_options(${target} PRIVATE ${DROVER_WARNINGS})
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
  if(DROVER_SANITIZE)
    target_compile_options(${target} PUBLIC -fsanitize=address,undefined -fno-omit-frame-pointer
                                            -fno-sanitize-recover=undefined)
    target_link_options(${target} PUBLIC -fsanitize=address,undefined)
  endif()
  if(DROVER_CLANG_FUZZ)
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer-no-link)
  endif()
  if(DROVER_COVERAGE)
    target_compile_options(${target} PRIVATE -fprofile-instr-generate -fcoverage-mapping)
    target_link_options(${target} PUBLIC -fprofile-instr-generate)
  endif()
endfunction()

# Libraries compile as unity builds (CMake's UNITY_BUILD: batches of their sources in one
# translation unit), which parses the heavy headers (Asio, Beast, spdlog, JSON) once per
# batch instead of once per file: about a quarter of a build from nothing. So names private
# to a source file (anonymous namespaces) must not repeat within one library. GCC's
# -Wsubobject-linkage takes such a batch's coroutine frames for a header's, hence off there.
option(DROVER_UNITY_BUILD "Compile each library as unity batches" ON)

function(drover_library)
  cmake_parse_arguments(A "" "NAME" "SOURCES;DEPS" ${ARGN})
  add_library(drover_${A_NAME} STATIC ${A_SOURCES})
  add_library(drover::${A_NAME} ALIAS drover_${A_NAME})
  drover_apply_flags(drover_${A_NAME})
  if(DROVER_UNITY_BUILD)
    set_target_properties(drover_${A_NAME} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE 8)
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
      target_compile_options(drover_${A_NAME} PRIVATE -Wno-subobject-linkage)
    endif()
  endif()
  target_link_libraries(drover_${A_NAME} PUBLIC ${A_DEPS})
endfunction()

function(drover_executable)
  cmake_parse_arguments(A "" "NAME" "SOURCES;DEPS" ${ARGN})
  add_executable(${A_NAME} ${A_SOURCES})
  drover_apply_flags(${A_NAME})
  target_link_libraries(${A_NAME} PRIVATE ${A_DEPS})
endfunction()

function(drover_test)
  cmake_parse_arguments(A "SERIAL" "NAME;LABEL;COST" "SOURCES;DEPS;LOCKS;SHARDS" ${ARGN})
  if(NOT A_LABEL)
    set(A_LABEL unit)
  endif()
  add_executable(${A_NAME} ${A_SOURCES})
  drover_apply_flags(${A_NAME})
  target_link_libraries(${A_NAME} PRIVATE ${A_DEPS} drover_test_main GTest::gtest GTest::gmock)
  set_target_properties(${A_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  # One CTest entry per shard (its filter), then the rest; or the whole binary.
  set(entries "")
  set(filters "")
  set(taken "")
  foreach(shard IN LISTS A_SHARDS)
    if(NOT shard MATCHES "^([A-Za-z0-9_]+)=([^-]+)$")
      message(FATAL_ERROR "drover_test(${A_NAME}): shard '${shard}' is not <name>=<positive filter>")
    endif()
    list(APPEND entries ${A_NAME}.${CMAKE_MATCH_1})
    list(APPEND filters ${CMAKE_MATCH_2})
    string(APPEND taken ":${CMAKE_MATCH_2}")
  endforeach()
  if(A_SHARDS)
    string(SUBSTRING "${taken}" 1 -1 taken)
    list(APPEND entries ${A_NAME}.rest)
    list(APPEND filters "-${taken}")
  else()
    set(entries ${A_NAME})
    set(filters "")
  endif()
  foreach(entry filter IN ZIP_LISTS entries filters)
    set(args "")
    if(filter)
      set(args --gtest_filter=${filter})
    endif()
    add_test(NAME ${entry} COMMAND ${A_NAME} ${args} WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
    # tests/support/gtest_main.cpp exits 77 when a test skipped (1 under CI=true).
    set_tests_properties(${entry} PROPERTIES LABELS ${A_LABEL} SKIP_RETURN_CODE 77
      ENVIRONMENT "DROVER_SOURCE_DIR=${PROJECT_SOURCE_DIR};DROVER_BINARY_DIR=${CMAKE_BINARY_DIR}")
    if(A_SERIAL OR A_LABEL STREQUAL "e2e")
      set_tests_properties(${entry} PROPERTIES RUN_SERIAL TRUE)
    endif()
    if(A_LOCKS)
      set_tests_properties(${entry} PROPERTIES RESOURCE_LOCK "${A_LOCKS}")
    endif()
    if(A_COST)
      set_tests_properties(${entry} PROPERTIES COST ${A_COST})
    endif()
  endforeach()
endfunction()

function(drover_fuzz)
  cmake_parse_arguments(A "" "NAME;MUTATIONS" "SOURCES;DEPS;CORPUS;COVERS" ${ARGN})
  if(NOT DEFINED A_MUTATIONS)
    set(A_MUTATIONS 10000)
  endif()
  add_executable(${A_NAME} ${A_SOURCES})
  drover_apply_flags(${A_NAME})
  target_link_libraries(${A_NAME} PRIVATE ${A_DEPS})
  # What scripts/fuzz-campaign.sh needs: the binary, its corpus, the sources it covers.
  list(JOIN A_CORPUS " " corpus)
  list(JOIN A_COVERS " " covers)
  file(WRITE ${CMAKE_BINARY_DIR}/fuzz/${A_NAME}.target
       "binary=${CMAKE_BINARY_DIR}/fuzz/${A_NAME}\ncorpus=${corpus}\ncovers=${covers}\n")
  if(DROVER_CLANG_FUZZ)
    target_compile_options(${A_NAME} PRIVATE -fsanitize=fuzzer)
    target_link_options(${A_NAME} PRIVATE -fsanitize=fuzzer)
    add_test(NAME ${A_NAME} COMMAND ${A_NAME} -runs=0 ${A_CORPUS})
  else()
    target_sources(${A_NAME} PRIVATE ${PROJECT_SOURCE_DIR}/tests/support/fuzz_replay_main.cpp)
    add_test(NAME ${A_NAME} COMMAND ${A_NAME} --mutations=${A_MUTATIONS} ${A_CORPUS}
             WORKING_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
  endif()
  set_target_properties(${A_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
  set_tests_properties(${A_NAME} PROPERTIES LABELS fuzz)
endfunction()
