#include "actors/images/digest.hpp"

#include <nettle/sha2.h>

#include <stdexcept>

// nettle names its functions through macros; ours is berth::images::sha256_digest.
#undef sha256_digest

namespace berth::images {

bool is_valid_digest(std::string_view digest) {
  constexpr std::string_view prefix = "sha256:";
  if (digest.size() != prefix.size() + 64 || digest.substr(0, prefix.size()) != prefix)
    return false;
  for (char c : digest.substr(prefix.size()))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

void check_digest(std::string_view digest, std::string_view what) {
  if (!is_valid_digest(digest))
    throw std::invalid_argument(
        std::string(what) + " \"" + std::string(digest) +
        "\" is not a digest (expected sha256: and 64 lowercase hex digits)");
}

std::string_view digest_hex(std::string_view digest) {
  return digest.substr(7);
}

sha256_hasher::sha256_hasher() : ctx_(std::make_unique<::sha256_ctx>()) {
  nettle_sha256_init(ctx_.get());
}

sha256_hasher::~sha256_hasher() = default;
sha256_hasher::sha256_hasher(sha256_hasher&&) noexcept = default;
sha256_hasher& sha256_hasher::operator=(sha256_hasher&&) noexcept = default;

void sha256_hasher::update(const void* data, std::size_t size) {
  nettle_sha256_update(ctx_.get(), size, static_cast<const uint8_t*>(data));
}

std::string sha256_hasher::finish() {
  uint8_t md[SHA256_DIGEST_SIZE];
  nettle_sha256_digest(ctx_.get(), sizeof md, md);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "sha256:";
  for (uint8_t byte : md) {
    out += hex[byte >> 4];
    out += hex[byte & 0xf];
  }
  return out;
}

std::string sha256_digest(std::string_view data) {
  sha256_hasher h;
  h.update(data);
  return h.finish();
}

}  // namespace berth::images
