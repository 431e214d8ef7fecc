// Certificates for the TLS tests, made at test time with the openssl CLI
// (P-256 keys: quick to make): a CA, and certificates it signs for nodes and
// clients, valid for 127.0.0.1, ::1 and localhost. Two CAs in one test give
// a peer that must be refused.
#pragma once

#include <string>

#include "tests/support/busybox_bundle.hpp"

namespace berth::test {

struct certificate {
  std::string cert;  // path of a PEM file
  std::string key;   // path of a PEM file, unencrypted
};

class test_ca {
 public:
  // Makes the CA's key and self-signed certificate in a temp dir.
  explicit test_ca(const std::string& name);

  const std::string& cert() const { return ca_.cert; }
  // A certificate for `name` (no quote in it) signed by this CA (serverAuth
  // and clientAuth).
  // Throws std::runtime_error with openssl's output when it fails.
  certificate issue(const std::string& name) const;

 private:
  temp_dir dir_;
  std::string name_;
  certificate ca_;
};

}  // namespace berth::test
