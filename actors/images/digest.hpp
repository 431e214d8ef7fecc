// Content digests: "sha256:" + 64 lowercase hex. Every digest that arrives
// from outside (a client, an archive) is checked here before it names a file.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

struct sha256_ctx;  // nettle's, kept out of this header: its names are macros

namespace berth::images {

// True for "sha256:" followed by exactly 64 lowercase hex digits.
bool is_valid_digest(std::string_view digest);

// Throws std::invalid_argument naming `what` unless is_valid_digest(digest).
void check_digest(std::string_view digest, std::string_view what);

// The 64 hex digits of a valid digest.
std::string_view digest_hex(std::string_view digest);

// An incremental SHA-256. Nettle, not OpenSSL: libarchive loads nettle into
// berthd anyway, and libcrypto alone added 1.4 MiB to berthd's resident set
// (its relocations and tables are touched at load) for this one function.
class sha256_hasher {
 public:
  sha256_hasher();
  ~sha256_hasher();
  sha256_hasher(sha256_hasher&&) noexcept;
  sha256_hasher& operator=(sha256_hasher&&) noexcept;
  void update(const void* data, std::size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  // "sha256:<hex>"; the hasher cannot be updated afterwards.
  std::string finish();

 private:
  std::unique_ptr<::sha256_ctx> ctx_;
};

// "sha256:<hex>" of `data`.
std::string sha256_digest(std::string_view data);

}  // namespace berth::images
