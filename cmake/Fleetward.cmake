# Helpers shared by every module's CMakeLists.txt.
#   fw_library(NAME SOURCES a.cpp b.cpp DEPS fw::util re2::re2)  -> target fw_NAME, alias fw::NAME
#   fw_test(NAME SOURCES x_test.cpp DEPS fw::cel)                 -> gtest binary, registered with ctest
#   fw_bench(NAME SOURCES x_bench.cpp DEPS fw::cel)               -> Google Benchmark binary (not run by ctest)
# Tests find shared/ test data through the FW_SHARED_DIR compile definition.

set(FW_WARNINGS -Wall -Wextra -Wpedantic -Wno-missing-field-initializers)
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  # libstdc++ 12 hides <expected> unless __cpp_concepts >= 202002L; clang 16 implements
  # what it needs (P0848) but still advertises 201907L.
  add_compile_options(-Wno-builtin-macro-redefined -Wno-macro-redefined -D__cpp_concepts=202002L)
endif()

if(NOT DEFINED FW_SHARED_DIR)
  get_filename_component(FW_SHARED_DIR ${CMAKE_SOURCE_DIR}/../shared ABSOLUTE)
endif()
set(FW_SHARED_DIR ${FW_SHARED_DIR} CACHE PATH "the shared/ folder with test corpora")

function(fw_library name)
  cmake_parse_arguments(A "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(fw_${name} STATIC ${A_SOURCES})
  add_library(fw::${name} ALIAS fw_${name})
  target_include_directories(fw_${name} PUBLIC ${CMAKE_SOURCE_DIR}/src)
  target_link_libraries(fw_${name} PUBLIC ${A_DEPS} PRIVATE ${A_PRIVATE_DEPS})
  target_compile_options(fw_${name} PRIVATE ${FW_WARNINGS})
endfunction()

function(fw_test name)
  if(NOT FW_TESTS)
    return()
  endif()
  cmake_parse_arguments(A "" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${A_SOURCES})
  target_link_libraries(${name} PRIVATE ${A_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/src)
  target_compile_definitions(${name} PRIVATE
    FW_SHARED_DIR="${FW_SHARED_DIR}" FW_SOURCE_DIR="${CMAKE_SOURCE_DIR}" FW_BINARY_DIR="${CMAKE_BINARY_DIR}")
  target_compile_options(${name} PRIVATE ${FW_WARNINGS})
  add_test(NAME ${name} COMMAND ${name} --gtest_brief=1)
  if(NOT A_TIMEOUT)
    set(A_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES TIMEOUT ${A_TIMEOUT} LABELS "${A_LABELS}")
endfunction()

function(fw_bench name)
  if(NOT FW_BENCH)
    return()
  endif()
  cmake_parse_arguments(A "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${A_SOURCES})
  target_link_libraries(${name} PRIVATE ${A_DEPS} benchmark::benchmark)
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/src)
  target_compile_definitions(${name} PRIVATE
    FW_SHARED_DIR="${FW_SHARED_DIR}" FW_SOURCE_DIR="${CMAKE_SOURCE_DIR}" FW_BINARY_DIR="${CMAKE_BINARY_DIR}")
endfunction()

# fw_fuzz(NAME SOURCES f.cpp DEPS ...): libFuzzer target, only in FW_FUZZ builds (clang).
function(fw_fuzz name)
  cmake_parse_arguments(A "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${A_SOURCES})
  target_link_libraries(${name} PRIVATE ${A_DEPS})
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
endfunction()

# fw_globbed_module(NAME DEPS ...): a module that several areas add files to (service/,
# server/). Every *.cpp in the folder that is not a *_test.cpp is the library fw_NAME,
# linked to every earlier fleetward module that exists plus DEPS; all *_test.cpp files
# make one test binary NAME_test.
function(fw_globbed_module name)
  cmake_parse_arguments(A "" "" "DEPS" ${ARGN})
  file(GLOB all CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  set(src)
  set(tests)
  foreach(f IN LISTS all)
    if(f MATCHES "_test\\.cpp$")
      list(APPEND tests ${f})
    else()
      list(APPEND src ${f})
    endif()
  endforeach()
  set(deps)
  foreach(m IN LISTS FW_MODULES)
    if(m STREQUAL name)
      break()
    endif()
    if(TARGET fw_${m})
      list(APPEND deps fw::${m})
    endif()
  endforeach()
  fw_library(${name} SOURCES ${src} DEPS ${deps} ${A_DEPS})
  if(tests)
    fw_test(${name}_test SOURCES ${tests} DEPS fw::${name})
  endif()
endfunction()
