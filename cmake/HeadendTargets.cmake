# Shared compile settings: every project target goes through these helpers so warnings stay errors everywhere.
function(headend_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wold-style-cast -Wcast-align -Woverloaded-virtual -Werror)
endfunction()

# headend_test(NAME SOURCES... LIBS ...): one GoogleTest binary per component, registered with CTest.
function(headend_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  headend_warnings(${name})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest GTest::gmock GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE HEADEND_SCHEMA_DIR="${HEADEND_SCHEMA_DIR}"
                                             HEADEND_BINARY_DIR="${CMAKE_BINARY_DIR}")
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 300)
endfunction()

# headend_fuzz(NAME SOURCE LIBS ...): a libFuzzer target under HEADEND_FUZZ, otherwise a replay binary that runs
# the seed corpus through the same entry point as a CTest test, so every parser's fuzz harness runs in CI.
function(headend_fuzz name source corpus)
  cmake_parse_arguments(F "" "" "LIBS" ${ARGN})
  add_executable(${name} ${source})
  headend_warnings(${name})
  target_link_libraries(${name} PRIVATE ${F_LIBS})
  if(HEADEND_FUZZ)
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  else()
    target_sources(${name} PRIVATE ${CMAKE_SOURCE_DIR}/tests/fuzz/replay_main.cpp)
    add_test(NAME ${name}.replay COMMAND ${name} ${corpus})
  endif()
endfunction()
