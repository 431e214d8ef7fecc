#include "actors/images/digest.hpp"

#include <stdexcept>

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

sha256_hasher::sha256_hasher() : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("cannot initialise SHA-256 (OpenSSL EVP)");
}

void sha256_hasher::update(const void* data, std::size_t size) {
  if (size != 0 && EVP_DigestUpdate(ctx_.get(), data, size) != 1)
    throw std::runtime_error("SHA-256 update failed (OpenSSL EVP)");
}

std::string sha256_hasher::finish() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx_.get(), md, &len) != 1)
    throw std::runtime_error("SHA-256 final failed (OpenSSL EVP)");
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned int i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 0xf];
  }
  return out;
}

std::string sha256_digest(std::string_view data) {
  sha256_hasher h;
  h.update(data);
  return h.finish();
}

}  // namespace berth::images
