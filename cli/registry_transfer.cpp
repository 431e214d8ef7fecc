#include "cli/registry_transfer.hpp"

#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "cli/command_error.hpp"
#include "cli/display.hpp"

namespace berth::cli {
namespace {

std::string base64_decode(const std::string& in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  int bits = 0, acc = 0;
  for (char c : in) {
    int v = value(c);
    if (v < 0) continue;  // padding, whitespace
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

std::string short_digest(const std::string& d) {
  return d.size() > 19 ? d.substr(0, 19) : d;  // "sha256:" + 12 hex digits
}

// Per-blob progress on stderr: on a terminal, one line per blob rewritten in
// place (bytes, rate, done or cached); otherwise one line as each blob ends.
class pull_printer final : public api::PullProgressSink::Server {
 public:
 protected:
  kj::Promise<void> progress(ProgressContext context) override {
    auto p = context.getParams().getProgress();
    std::string digest = p.getDigest().cStr();
    auto now = std::chrono::steady_clock::now();
    auto [it, fresh] = blobs_.try_emplace(digest);
    auto& b = it->second;
    if (fresh) {
      b.started = now;
      order_.push_back(digest);
    }
    b.done = p.getBytesDone();
    b.total = p.getBytesTotal();
    b.cached = p.getCached();
    b.mounted_from = p.getMountedFrom().cStr();
    bool finished_now = p.getDone() && !b.finished;
    b.finished = p.getDone();
    if (finished_now) b.ended = now;
    if (isatty(STDERR_FILENO)) {
      redraw(now);
    } else if (finished_now) {
      std::cerr << line(digest, b, now) << "\n";
    }
    return kj::READY_NOW;
  }

 private:
  struct blob {
    std::int64_t done = 0, total = 0;
    bool cached = false, finished = false;
    std::string mounted_from;
    std::chrono::steady_clock::time_point started, ended;
  };

  static std::string line(const std::string& digest, const blob& b,
                          std::chrono::steady_clock::time_point now) {
    std::string out = short_digest(digest) + ": ";
    if (b.cached) return out + "cached (" + human_size(b.total) + ")";
    if (!b.mounted_from.empty())
      return out + "mounted from " + b.mounted_from + " (" + human_size(b.total) + ")";
    double secs = std::chrono::duration<double>((b.finished ? b.ended : now) - b.started).count();
    std::string rate =
        secs > 0.05 ? human_size(static_cast<std::int64_t>(b.done / secs)) + "/s" : "";
    if (b.finished)
      return out + "done, " + human_size(b.total) + (rate.empty() ? "" : " at " + rate);
    return out + human_size(b.done) + " / " + human_size(b.total) +
           (rate.empty() ? "" : ", " + rate);
  }

  void redraw(std::chrono::steady_clock::time_point now) {
    if (drawn_ > 0) std::cerr << "\033[" << drawn_ << "A";
    for (const auto& d : order_) std::cerr << "\r\033[K" << line(d, blobs_[d], now) << "\n";
    drawn_ = order_.size();
    std::cerr << std::flush;
  }

  std::map<std::string, blob> blobs_;
  std::vector<std::string> order_;
  std::size_t drawn_ = 0;
};

std::string read_password() {
  if (!isatty(STDIN_FILENO))
    throw command_error("pull",
                        "--user USER without a password needs a terminal to ask on; "
                        "give --user USER:PASSWORD");
  std::cerr << "Password: " << std::flush;
  termios old{};
  tcgetattr(STDIN_FILENO, &old);
  termios quiet = old;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  std::string password;
  std::getline(std::cin, password);
  tcsetattr(STDIN_FILENO, TCSANOW, &old);
  std::cerr << "\n";
  return password;
}

std::optional<registry_login> login_for(const std::string& registry) {
  std::string dir;
  if (const char* d = std::getenv("DOCKER_CONFIG"); d && *d)
    dir = d;
  else if (const char* h = std::getenv("HOME"); h && *h)
    dir = std::string(h) + "/.docker";
  if (dir.empty()) return std::nullopt;
  std::ifstream f(dir + "/config.json");
  if (!f) return std::nullopt;
  std::stringstream text;
  text << f.rdbuf();
  return login_from_docker_config(text.str(), registry);
}

// --user USER[:PASSWORD], else the docker config's login, else anonymous.
registry_login credentials(const std::string& user, const std::string& reference) {
  if (!user.empty()) {
    auto colon = user.find(':');
    return {user.substr(0, colon),
            colon == std::string::npos ? read_password() : user.substr(colon + 1)};
  }
  return login_for(registry_of(reference)).value_or(registry_login{});
}

}  // namespace

std::string registry_of(const std::string& reference) {
  // Docker's rule: the first component names a registry when it has a dot or
  // a port, or is localhost; otherwise the image is on Docker Hub.
  auto slash = reference.find('/');
  if (slash == std::string::npos) return "docker.io";
  auto first = reference.substr(0, slash);
  if (first.find_first_of(".:") != std::string::npos || first == "localhost") return first;
  return "docker.io";
}

std::optional<registry_login> login_from_docker_config(const std::string& config_json,
                                                       const std::string& registry) {
  auto j = nlohmann::json::parse(config_json, nullptr, false);
  if (!j.is_object() || !j.contains("auths") || !j["auths"].is_object()) return std::nullopt;
  std::vector<std::string> keys{registry, "https://" + registry, "http://" + registry};
  if (registry == "docker.io")
    keys.insert(keys.end(),
                {"https://index.docker.io/v1/", "index.docker.io", "registry-1.docker.io"});
  for (const auto& k : keys) {
    auto e = j["auths"].find(k);
    if (e == j["auths"].end() || !e->is_object()) continue;
    auto a = e->find("auth");
    if (a == e->end() || !a->is_string()) continue;
    auto decoded = base64_decode(a->get<std::string>());
    auto colon = decoded.find(':');
    if (colon == std::string::npos) continue;
    return registry_login{decoded.substr(0, colon), decoded.substr(colon + 1)};
  }
  return std::nullopt;
}

int pull_image(daemon_client& client, const pull_options& o, std::ostream& printed) {
  // berthd normalises and checks the reference; its error names the rule.
  std::string what = "pull " + o.reference;
  auto req = client.berth().pullImageRequest();
  auto r = req.initReq();
  r.setNamespace(client.ns());
  r.setReference(o.reference);
  r.setPlatform(o.platform);
  r.setAllPlatforms(o.all_platforms);
  r.setPlainHttp(o.plain_http);
  auto login = credentials(o.user, o.reference);
  r.setUsername(login.username);
  r.setPassword(login.password);
  r.setProgress(kj::heap<pull_printer>());
  // A pull takes as long as the image is big: no --timeout here.
  auto resp = client.wait_unbounded(req.send(), what);
  auto out = resp.getResp();
  check(out, what);
  printed << "pulled " << out.getImage().getName().cStr() << " ("
          << out.getImage().getDigest().cStr() << ")\n";
  return 0;
}

int push_image(daemon_client& client, const push_options& o) {
  std::string what = "push " + o.target;
  auto req = client.berth().pushImageRequest();
  auto r = req.initReq();
  r.setNamespace(client.ns());
  r.setName(o.local.empty() ? o.target : o.local);
  r.setTarget(o.target);
  r.setPlainHttp(o.plain_http);
  auto login = credentials(o.user, o.target);
  r.setUsername(login.username);
  r.setPassword(login.password);
  r.setProgress(kj::heap<pull_printer>());
  auto resp = client.wait_unbounded(req.send(), what);
  auto out = resp.getResp();
  check(out, what);
  std::cout << "pushed " << o.target << " (" << out.getDigest().cStr() << ")\n";
  return 0;
}

void ensure_image(daemon_client& client, const std::string& image, const std::string& policy) {
  if (policy == "never" || image.empty()) return;
  if (policy == "missing") {
    auto req = client.berth().getImageRequest();
    req.initReq().setNamespace(client.ns());
    req.getReq().setName(image);
    auto resp = client.wait(req.send(), "look up image " + image);
    auto r = resp.getResp();
    if (!r.hasError() || r.getError().getCode() == wire::ErrorCode::OK) return;
    if (r.getError().getCode() != wire::ErrorCode::NOT_FOUND)
      check(r.hasError(), r.getError(), "look up image " + image);
  }
  pull_options o;
  o.reference = image;
  pull_image(client, o, std::cerr);
}

}  // namespace berth::cli
