// The API's TLS endpoint, as berthd and every client see it: the address
// rule (tls://HOST:PORT; plain tcp:// is never offered) and the certificate,
// key and CA files, read and checked before anything listens or connects.
// Both sides trust only the given CA (never the system's store): berthd
// accepts a client only with a certificate that CA signed, and a client
// accepts only a server whose certificate that CA signed for the name it
// dialled (docs/security.md, "The TLS endpoint").
#pragma once

#include <kj/async-io.h>
#include <kj/compat/tls.h>
#include <kj/time.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace berth {

// tls://HOST:PORT split; `host` is what a client verifies the server's
// certificate against (an IPv6 literal without its brackets), `kj_address`
// what kj::Network::parseAddress takes.
struct tls_address {
  std::string host;
  std::uint16_t port = 0;
  std::string kj_address;
  std::string text;  // as given: tls://HOST:PORT
};

// Whether `address` asks for TLS (starts with tls://); other schemes are not
// this file's business, except tcp://, which parse_tls_address refuses.
bool is_tls_address(const std::string& address);

// Parses tls://HOST:PORT, or throws std::invalid_argument saying what is
// wrong; tcp://… is refused with the reason (plain TCP is not offered).
tls_address parse_tls_address(const std::string& address);

struct tls_files {
  std::string cert;  // PEM: this side's certificate (a chain may follow it)
  std::string key;   // PEM: its unencrypted private key
  std::string ca;    // PEM: the CA certificate(s) to trust for the other side
};

// The parsed material of tls_files. Loading checks each file (readable,
// PEM of the right kind, the key matching the certificate, the certificate
// within its validity period) and throws std::runtime_error naming the file
// and why.
class tls_identity {
 public:
  // `need_keypair`: the server must have a certificate; a client may go
  // without (berthd then refuses it, which is what a test of that wants).
  static tls_identity load(const tls_files& files, bool need_keypair);

  // The options of a kj::TlsContext for this identity; `server` also asks
  // the peer for a certificate signed by the CA. The options point into this
  // object: build the context while it lives (the context keeps its own
  // references afterwards).
  kj::TlsContext::Options options(bool server) const;

  bool has_keypair() const { return keypair_ != std::nullopt; }
  const tls_files& files() const { return files_; }

 private:
  tls_files files_;
  std::optional<kj::TlsKeypair> keypair_;
  std::vector<kj::TlsCertificate> trusted_;
};

}  // namespace berth
