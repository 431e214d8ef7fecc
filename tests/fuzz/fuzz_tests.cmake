# The fuzz targets in ctest (label `fuzz`), included from tests/CMakeLists.txt.
# tests/fuzz/CMakeLists.txt is a project of its own (clang, libFuzzer, ASan,
# UBSan), so the main build (g++) does not add it as a subdirectory: the
# fixture test fuzz_build configures and builds it into <build>/fuzz, and
# each fuzz_<target> runs one target for $BERTH_FUZZ_SECONDS (default 30)
# on a temporary copy of its seeds, after its regression inputs.
set(BERTH_FUZZ_DIR ${CMAKE_CURRENT_LIST_DIR})
set(BERTH_FUZZ_TARGETS api_request archive_import layer_unpack image_config runc_log)

# The generator of the committed binary seeds (make_seeds.cpp).
add_executable(berth-fuzz-seeds ${BERTH_FUZZ_DIR}/make_seeds.cpp)
target_link_libraries(berth-fuzz-seeds PRIVATE berth_wire berth::capnp-rpc berth_test_images archive)

add_test(NAME fuzz_build
  COMMAND ${BERTH_FUZZ_DIR}/build-fuzzers ${CMAKE_BINARY_DIR}/fuzz)
set_tests_properties(fuzz_build PROPERTIES LABELS fuzz TIMEOUT 1200 FIXTURES_SETUP berth_fuzzers)

# Half a minute by default (CI time); the margin covers the regression inputs and start-up.
set(_fuzz_seconds 30)
if(DEFINED ENV{BERTH_FUZZ_SECONDS})
  set(_fuzz_seconds $ENV{BERTH_FUZZ_SECONDS})
endif()
math(EXPR _fuzz_timeout "${_fuzz_seconds} + 240")
foreach(t ${BERTH_FUZZ_TARGETS})
  add_test(NAME fuzz_${t}
    COMMAND ${BERTH_FUZZ_DIR}/run-fuzzer ${CMAKE_BINARY_DIR}/fuzz/fuzz_${t}
            ${BERTH_FUZZ_DIR}/corpus/${t} ${BERTH_FUZZ_DIR}/regressions/${t} ${_fuzz_seconds})
  set_tests_properties(fuzz_${t} PROPERTIES LABELS fuzz TIMEOUT ${_fuzz_timeout}
    FIXTURES_REQUIRED berth_fuzzers)
endforeach()
