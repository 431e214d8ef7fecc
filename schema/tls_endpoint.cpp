#include "schema/tls_endpoint.hpp"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace berth {
namespace {

constexpr const char* kTlsScheme = "tls://";

// OpenSSL's queued errors as one line ("" when none), and the queue emptied.
std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ::ERR_get_error()) {
    char buf[256];
    ::ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

[[noreturn]] void refuse(const std::string& what, const std::string& file, const std::string& why) {
  throw std::runtime_error("bad " + what + " " + file + ": " + why);
}

// A small PEM file read whole; certificates and keys are a few KiB, so
// anything past 1 MiB is not one.
std::string read_pem(const std::string& what, const std::string& file) {
  if (file.empty()) throw std::runtime_error("no " + what + " file given");
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) refuse(what, file, std::strerror(errno));
  std::string out;
  char buf[8192];
  for (;;) {
    auto n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      refuse(what, file, std::strerror(e));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > (1u << 20)) {
      ::close(fd);
      refuse(what, file, "larger than 1 MiB, not a PEM file");
    }
  }
  ::close(fd);
  return out;
}

struct bio_free {
  void operator()(BIO* b) const { ::BIO_free(b); }
};
struct x509_free {
  void operator()(X509* x) const { ::X509_free(x); }
};
struct pkey_free {
  void operator()(EVP_PKEY* k) const { ::EVP_PKEY_free(k); }
};
using x509_ptr = std::unique_ptr<X509, x509_free>;

std::unique_ptr<BIO, bio_free> memory_bio(const std::string& pem) {
  return std::unique_ptr<BIO, bio_free>(
      ::BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// Every certificate of a PEM file, in order; at least one.
std::vector<x509_ptr> read_certificates(const std::string& what, const std::string& file,
                                        const std::string& pem) {
  auto bio = memory_bio(pem);
  std::vector<x509_ptr> out;
  while (X509* x = ::PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out.emplace_back(x);
  ::ERR_clear_error();  // the end of the file reads as an error
  if (out.empty()) refuse(what, file, "no PEM certificate in it (\"-----BEGIN CERTIFICATE-----\")");
  return out;
}

std::string asn1_time(const ASN1_TIME* t) {
  auto bio = std::unique_ptr<BIO, bio_free>(::BIO_new(::BIO_s_mem()));
  ::ASN1_TIME_print(bio.get(), t);
  char* data = nullptr;
  auto n = ::BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

// A certificate outside its validity period would fail every handshake
// with a less helpful message.
void check_validity(const std::string& what, const std::string& file, X509* x) {
  if (::X509_cmp_current_time(X509_get0_notBefore(x)) > 0)
    refuse(what, file, "not valid before " + asn1_time(X509_get0_notBefore(x)));
  if (::X509_cmp_current_time(X509_get0_notAfter(x)) < 0)
    refuse(what, file, "expired on " + asn1_time(X509_get0_notAfter(x)));
}

}  // namespace

bool is_tls_address(const std::string& address) {
  return address.rfind(kTlsScheme, 0) == 0;
}

tls_address parse_tls_address(const std::string& address) {
  auto bad = [&](const std::string& why) {
    throw std::invalid_argument("invalid address \"" + address + "\": " + why);
  };
  if (address.rfind("tcp://", 0) == 0)
    bad("plain TCP is not offered; use tls://HOST:PORT with --tls-cert, --tls-key and --tls-ca");
  if (!is_tls_address(address)) bad("expected tls://HOST:PORT");
  tls_address out;
  out.text = address;
  std::string rest = address.substr(std::strlen(kTlsScheme));
  std::string port;
  if (!rest.empty() && rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string::npos || close + 1 >= rest.size() || rest[close + 1] != ':')
      bad("expected tls://[IPV6]:PORT");
    out.host = rest.substr(1, close - 1);
    port = rest.substr(close + 2);
  } else {
    auto colon = rest.rfind(':');
    if (colon == std::string::npos) bad("no port (tls://HOST:PORT)");
    out.host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (out.host.find(':') != std::string::npos) bad("an IPv6 address goes in brackets");
  }
  if (out.host.empty()) bad("no host (tls://HOST:PORT; 0.0.0.0 listens on every address)");
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
    bad("the port must be a number from 1 to 65535");
  auto n = std::stoul(port);
  if (n == 0 || n > 65535) bad("the port must be a number from 1 to 65535");
  out.port = static_cast<std::uint16_t>(n);
  out.kj_address = rest;
  return out;
}

tls_identity tls_identity::load(const tls_files& files, bool need_keypair) {
  tls_identity id;
  id.files_ = files;
  if (files.ca.empty()) throw std::runtime_error("no CA file given (--tls-ca)");
  if (files.cert.empty() != files.key.empty())
    throw std::runtime_error(files.cert.empty() ? "--tls-key needs --tls-cert"
                                                : "--tls-cert needs --tls-key");
  if (need_keypair && files.cert.empty())
    throw std::runtime_error("no certificate and key given (--tls-cert, --tls-key)");

  auto ca_pem = read_pem("CA file", files.ca);
  for (auto& x : read_certificates("CA file", files.ca, ca_pem)) {
    check_validity("CA file", files.ca, x.get());
    // One kj::TlsCertificate per CA: KJ trusts only the first of each chain.
    auto bio = std::unique_ptr<BIO, bio_free>(::BIO_new(::BIO_s_mem()));
    ::PEM_write_bio_X509(bio.get(), x.get());
    char* data = nullptr;
    auto n = ::BIO_get_mem_data(bio.get(), &data);
    std::string one(data, static_cast<size_t>(n));
    try {
      id.trusted_.emplace_back(kj::StringPtr(one.c_str()));
    } catch (const kj::Exception& e) {
      refuse("CA file", files.ca, e.getDescription().cStr());
    }
  }

  if (files.cert.empty()) return id;
  auto cert_pem = read_pem("certificate", files.cert);
  auto chain = read_certificates("certificate", files.cert, cert_pem);
  check_validity("certificate", files.cert, chain.front().get());
  auto key_pem = read_pem("key", files.key);
  std::unique_ptr<EVP_PKEY, pkey_free> key;
  {
    auto bio = memory_bio(key_pem);
    // No password callback: an encrypted key fails here, not at a prompt.
    static pem_password_cb* no_password = [](char*, int, int, void*) { return 0; };
    key.reset(::PEM_read_bio_PrivateKey(bio.get(), nullptr, no_password, nullptr));
  }
  if (!key) {
    auto why = openssl_errors();
    refuse("key", files.key,
           "not an unencrypted PEM private key" + (why.empty() ? "" : " (" + why + ")"));
  }
  if (::X509_check_private_key(chain.front().get(), key.get()) != 1) {
    openssl_errors();
    refuse("key", files.key, "it does not belong to the certificate " + files.cert);
  }
  try {
    id.keypair_.emplace(kj::TlsKeypair{kj::TlsPrivateKey(kj::StringPtr(key_pem.c_str())),
                                       kj::TlsCertificate(kj::StringPtr(cert_pem.c_str()))});
  } catch (const kj::Exception& e) {
    refuse("certificate", files.cert, e.getDescription().cStr());
  }
  return id;
}

kj::TlsContext::Options tls_identity::options(bool server) const {
  kj::TlsContext::Options o;
  o.useSystemTrustStore = false;  // only the given CA
  o.verifyClients = server;
  o.minVersion = kj::TlsVersion::TLS_1_2;
  o.trustedCertificates = kj::ArrayPtr<const kj::TlsCertificate>(trusted_.data(), trusted_.size());
  if (keypair_) o.defaultKeypair = *keypair_;
  return o;
}

}  // namespace berth
