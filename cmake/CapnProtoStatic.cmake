# Cap'n Proto and KJ as static archives (Debian ships the .a files). berth
# links them statically everywhere: the shim must (one per container, so its
# private memory counts), and one flavour for all keeps the build simple.
# Defines berth::capnp, berth::capnp-rpc, berth::kj, berth::kj-async, and
# berth::kj-tls (KJ's TLS over OpenSSL, for the API's tls:// endpoint).
foreach(lib kj kj-async kj-tls capnp capnp-rpc)
  find_library(BERTH_${lib}_ARCHIVE NAMES lib${lib}.a REQUIRED)
  add_library(berth::${lib} STATIC IMPORTED)
  set_target_properties(berth::${lib} PROPERTIES IMPORTED_LOCATION ${BERTH_${lib}_ARCHIVE})
endforeach()
# The schema parser, for tests that read the .capnp files themselves.
find_library(BERTH_capnpc_ARCHIVE NAMES libcapnpc.a REQUIRED)
set_target_properties(berth::kj PROPERTIES INTERFACE_LINK_LIBRARIES Threads::Threads)
set_target_properties(berth::kj-async PROPERTIES INTERFACE_LINK_LIBRARIES berth::kj)
set_target_properties(berth::capnp PROPERTIES INTERFACE_LINK_LIBRARIES berth::kj)
set_target_properties(berth::capnp-rpc PROPERTIES
  INTERFACE_LINK_LIBRARIES "berth::capnp;berth::kj-async")
# libkj-tls.a calls OpenSSL: a shared library (security updates come with
# Debian's package), except in an executable with the property
# BERTH_STATIC_OPENSSL, which links Debian's libssl.a and libcrypto.a: the
# CLI, whose every start would otherwise pay about 1 ms for loading
# libcrypto.so (berth version: 2.7 ms -> 3.7 ms; static: 3.0 ms).
find_package(OpenSSL REQUIRED)
find_library(BERTH_ssl_ARCHIVE NAMES libssl.a REQUIRED)
find_library(BERTH_crypto_ARCHIVE NAMES libcrypto.a REQUIRED)
set(BERTH_OPENSSL_LINK
  "$<IF:$<BOOL:$<TARGET_PROPERTY:BERTH_STATIC_OPENSSL>>,${BERTH_ssl_ARCHIVE};${BERTH_crypto_ARCHIVE},OpenSSL::SSL;OpenSSL::Crypto>")
set_target_properties(berth::kj-tls PROPERTIES
  INTERFACE_LINK_LIBRARIES "berth::kj-async;${BERTH_OPENSSL_LINK}")
