#include "actors/images/image_reference.hpp"

#include <regex>

#include "actors/images/digest.hpp"
#include "actors/images/images_error.hpp"

namespace berth::images {

namespace {

const std::regex& path_component() {
  static const std::regex re("[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*");
  return re;
}
const std::regex& tag_re() {
  static const std::regex re("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
  return re;
}
const std::regex& domain_re() {
  static const std::regex re("[A-Za-z0-9.-]+(?::[0-9]+)?");
  return re;
}

[[noreturn]] void bad(std::string_view name, const std::string& why) {
  throw images_error(error_kind::invalid_argument,
                     "invalid image name \"" + std::string(name) + "\": " + why);
}

}  // namespace

bool is_bare_tag(std::string_view s) {
  return std::regex_match(s.begin(), s.end(), tag_re()) && s.find('/') == std::string_view::npos;
}

std::string normalize_image_name(std::string_view name) {
  if (name.empty()) bad(name, "it is empty");
  if (name.size() > 255) bad(name, "it is longer than 255 characters");
  std::string rest(name);
  std::string digest;
  if (auto at = rest.find('@'); at != std::string::npos) {
    digest = rest.substr(at + 1);
    rest.resize(at);
    if (!is_valid_digest(digest)) bad(name, "\"" + digest + "\" is not a sha256 digest");
  }
  std::string tag;
  auto slash = rest.rfind('/');
  auto colon = rest.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    tag = rest.substr(colon + 1);
    rest.resize(colon);
    if (!std::regex_match(tag, tag_re())) bad(name, "\"" + tag + "\" is not a valid tag");
  }
  std::string domain = "docker.io";
  auto first = rest.find('/');
  if (first != std::string::npos) {
    std::string head = rest.substr(0, first);
    if (head.find('.') != std::string::npos || head.find(':') != std::string::npos ||
        head == "localhost") {
      if (!std::regex_match(head, domain_re()))
        bad(name, "\"" + head + "\" is not a registry host");
      domain = head;
      rest = rest.substr(first + 1);
    }
  }
  if (domain == "index.docker.io") domain = "docker.io";
  if (domain == "docker.io" && rest.find('/') == std::string::npos) rest = "library/" + rest;
  std::size_t start = 0;
  while (start <= rest.size()) {
    auto end = rest.find('/', start);
    if (end == std::string::npos) end = rest.size();
    std::string comp = rest.substr(start, end - start);
    if (!std::regex_match(comp, path_component()))
      bad(name,
          "\"" + comp +
              "\" is not a valid repository path component (lowercase letters, digits, . _ -)");
    start = end + 1;
  }
  std::string out = domain + "/" + rest;
  if (!tag.empty() || digest.empty()) out += ":" + (tag.empty() ? std::string("latest") : tag);
  if (!digest.empty()) out += "@" + digest;
  return out;
}

std::string with_tag(const std::string& normalized, std::string_view tag) {
  std::string repo = normalized;
  if (auto at = repo.find('@'); at != std::string::npos) repo.resize(at);
  auto slash = repo.rfind('/');
  auto colon = repo.rfind(':');
  if (colon != std::string::npos && colon > slash) repo.resize(colon);
  return repo + ":" + std::string(tag);
}

}  // namespace berth::images
