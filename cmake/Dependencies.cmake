# Every third-party dependency, found once here. All come from Debian 12 packages
# installed by scripts/install-deps.sh.
find_package(Threads REQUIRED)
find_package(Boost 1.81 EXACT REQUIRED COMPONENTS json url)
find_package(SQLite3 REQUIRED)
find_package(PostgreSQL REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(CURL REQUIRED)
find_package(ZLIB REQUIRED)
find_package(CLI11 REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET re2)
pkg_check_modules(HS REQUIRED IMPORTED_TARGET libhs)
# spdlog (Debian: a shared library over the system fmt) links as is into clang fuzz builds.
find_package(spdlog REQUIRED)
if(NOT FW_FUZZ)
  # mbed TLS 2.28 (libmbedtls-dev), the agent's TLS; Debian ships no pkg-config file for it.
  # The static archives are preferred: the agent maps only what it uses (memory budget).
  find_path(MBEDTLS_INCLUDE_DIR mbedtls/ssl.h REQUIRED)
  foreach(l mbedtls mbedx509 mbedcrypto)
    find_library(FW_${l}_LIB NAMES lib${l}.a ${l} REQUIRED)
  endforeach()
  add_library(MbedTLS::mbedtls INTERFACE IMPORTED)
  target_include_directories(MbedTLS::mbedtls INTERFACE ${MBEDTLS_INCLUDE_DIR})
  target_link_libraries(MbedTLS::mbedtls INTERFACE ${FW_mbedtls_LIB} ${FW_mbedx509_LIB} ${FW_mbedcrypto_LIB})
endif()
if(FW_TESTS)
  find_package(GTest REQUIRED)
endif()
if(FW_BENCH)
  find_package(benchmark REQUIRED)
endif()
# Usage: link PkgConfig::RE2, PkgConfig::HS, Boost::json, Boost::url, SQLite::SQLite3,
# PostgreSQL::PostgreSQL, yaml-cpp, OpenSSL::SSL, OpenSSL::Crypto, CURL::libcurl, ZLIB::ZLIB,
# CLI11::CLI11, spdlog::spdlog, MbedTLS::mbedtls (agent only), Threads::Threads.
