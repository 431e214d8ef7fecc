# berth_test(NAME name LABEL area SOURCES ... [LIBS ...] [TIMEOUT s])
# One Catch2 executable registered as one ctest test, labelled by area so
# `ctest -L shim` runs one area alone. Catch2's main is compiled once (it is
# the slowest file to build) and shared by every test. A test that skips
# (BERTH_SKIP, tests/support/skip.hpp) exits 77, which ctest counts as skipped.
function(berth_test)
  cmake_parse_arguments(T "" "NAME;LABEL;TIMEOUT" "SOURCES;LIBS" ${ARGN})
  if(NOT TARGET berth_catch_main)
    add_library(berth_catch_main STATIC ${CMAKE_SOURCE_DIR}/tests/catch_main.cpp)
    target_link_libraries(berth_catch_main PUBLIC Catch2::Catch2)
    target_include_directories(berth_catch_main PRIVATE ${CMAKE_SOURCE_DIR})
  endif()
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE berth_catch_main ${T_LIBS})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  add_test(NAME ${T_NAME} COMMAND ${T_NAME})
  set_tests_properties(${T_NAME} PROPERTIES LABELS ${T_LABEL} TIMEOUT ${T_TIMEOUT}
    SKIP_RETURN_CODE 77
    ENVIRONMENT "BERTH_BUILD_DIR=${CMAKE_BINARY_DIR};BERTH_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
endfunction()
