// Content digests: "sha256:" + 64 lowercase hex. Every digest that arrives
// from outside (a client, an archive) is checked here before it names a file.
#pragma once

#include <openssl/evp.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace berth::images {

// True for "sha256:" followed by exactly 64 lowercase hex digits.
bool is_valid_digest(std::string_view digest);

// Throws std::invalid_argument naming `what` unless is_valid_digest(digest).
void check_digest(std::string_view digest, std::string_view what);

// The 64 hex digits of a valid digest.
std::string_view digest_hex(std::string_view digest);

// An incremental SHA-256 (OpenSSL EVP).
class sha256_hasher {
 public:
  sha256_hasher();
  void update(const void* data, std::size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  // "sha256:<hex>"; the hasher cannot be updated afterwards.
  std::string finish();

 private:
  struct ctx_free {
    void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
  };
  std::unique_ptr<EVP_MD_CTX, ctx_free> ctx_;
};

// "sha256:<hex>" of `data`.
std::string sha256_digest(std::string_view data);

}  // namespace berth::images
