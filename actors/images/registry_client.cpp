#include "actors/images/registry_client.hpp"

#include <curl/curl.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "actors/images/content_store.hpp"
#include "actors/images/digest.hpp"
#include "actors/images/images_error.hpp"
#include "actors/images/oci_manifest.hpp"
#include "actors/images/transfer_loop.hpp"

namespace berth::images {

namespace {

constexpr std::size_t kMaxManifest = 4 << 20;  // the distribution spec's own advice
constexpr std::size_t kMaxErrorBody = 64 << 10;

std::once_flag curl_initialised;

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string base64(const std::string& in) {
  static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                 (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out += {table[v >> 18], table[(v >> 12) & 63], table[(v >> 6) & 63], table[v & 63]};
  }
  if (i + 1 == in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += {table[v >> 18], table[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    unsigned v =
        (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += {table[v >> 18], table[(v >> 12) & 63], table[(v >> 6) & 63], '='};
  }
  return out;
}

// One WWW-Authenticate challenge: `Bearer realm="...",service="...",scope="..."`.
struct challenge {
  std::string scheme;  // lower case
  std::map<std::string, std::string> params;
};

challenge parse_challenge(const std::string& h) {
  challenge c;
  std::size_t i = 0;
  while (i < h.size() && h[i] == ' ') ++i;
  std::size_t start = i;
  while (i < h.size() && h[i] != ' ') ++i;
  c.scheme = lower(h.substr(start, i - start));
  while (i < h.size()) {
    while (i < h.size() && (h[i] == ' ' || h[i] == ',')) ++i;
    start = i;
    while (i < h.size() && h[i] != '=' && h[i] != ',') ++i;
    std::string key = lower(h.substr(start, i - start));
    if (i >= h.size() || h[i] != '=') continue;
    ++i;
    std::string value;
    if (i < h.size() && h[i] == '"') {
      for (++i; i < h.size() && h[i] != '"'; ++i) {
        if (h[i] == '\\' && i + 1 < h.size()) ++i;
        value += h[i];
      }
      ++i;
    } else {
      while (i < h.size() && h[i] != ',') value += h[i++];
    }
    if (!key.empty()) c.params[key] = value;
  }
  return c;
}

// The distribution spec's grammar for repository path components and tags.
bool valid_repository(const std::string& r) {
  if (r.empty() || r.size() > 255) return false;
  char prev = '/';
  for (char c : r) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    bool sep = c == '.' || c == '_' || c == '-' || c == '/';
    if (!alnum && !sep) return false;
    if (sep && prev != 0 && !((prev >= 'a' && prev <= 'z') || (prev >= '0' && prev <= '9')) &&
        !(c == '_' && prev == '_'))
      return false;
    prev = c;
  }
  return (prev >= 'a' && prev <= 'z') || (prev >= '0' && prev <= '9');
}

bool valid_tag(const std::string& t) {
  if (t.empty() || t.size() > 128) return false;
  for (std::size_t i = 0; i < t.size(); ++i) {
    char c = t[i];
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '_' ||
              (i > 0 && (c == '.' || c == '-'));
    if (!ok) return false;
  }
  return true;
}

bool valid_host(const std::string& h) {
  if (h.empty() || h.size() > 255) return false;
  for (char c : h)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != ':' &&
        c != '[' && c != ']')
      return false;
  return true;
}

// The registry's own words from an error body: {"errors":[{"code","message"}]}.
std::string registry_says(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("errors") || !j["errors"].is_array())
    return {};
  std::string out;
  for (const auto& e : j["errors"]) {
    if (!e.is_object()) continue;
    std::string code = e.value("code", std::string{});
    std::string message = e.value("message", std::string{});
    if (!out.empty()) out += "; ";
    out += code.empty() ? message : code + (message.empty() ? "" : ": " + message);
  }
  return out;
}

bool retryable(CURLcode c) {
  switch (c) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
      return true;
    default:
      return false;
  }
}

struct response {
  CURLcode code = CURLE_OK;
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;                            // error bodies and small documents
  std::string curl_error;
};

// What one perform() hands its callbacks.
struct transfer {
  CURL* curl;
  response* r;
  // Receives the body of a 2xx answer; false aborts the transfer.
  const std::function<bool(long status, const char*, std::size_t)>* sink;
  std::size_t limit;
  bool too_large = false;
};

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<transfer*>(user);
  std::string line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) t->r->headers.clear();  // a new response (redirect)
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.erase(0, 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
    t->r->headers[lower(line.substr(0, colon))] = value;
  }
  return size * n;
}

// What a request sends: nothing (GET, HEAD), a string or a file.
struct upload {
  std::string method = "GET";  // GET, HEAD, POST, PUT, PATCH
  const std::string* text = nullptr;
  int fd = -1;
  std::int64_t offset = 0;  // where in `fd` the bytes to send start
  std::int64_t size = 0;
  std::int64_t sent = 0;  // reset before every attempt
};

std::size_t on_read(char* buf, std::size_t size, std::size_t n, void* user) {
  auto* u = static_cast<upload*>(user);
  std::size_t want = std::min<std::int64_t>(static_cast<std::int64_t>(size * n), u->size - u->sent);
  if (want == 0) return 0;
  if (u->text) {
    std::memcpy(buf, u->text->data() + u->sent, want);
  } else {
    ssize_t got = ::pread(u->fd, buf, want, u->offset + u->sent);
    if (got <= 0) return CURL_READFUNC_ABORT;
    want = static_cast<std::size_t>(got);
  }
  u->sent += static_cast<std::int64_t>(want);
  return want;
}

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<transfer*>(user);
  long status = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  std::size_t len = size * n;
  if (status >= 200 && status < 300 && t->sink && *t->sink) {
    return (*t->sink)(status, data, len) ? len : 0;
  }
  if (t->r->body.size() + len > t->limit) {
    t->too_large = true;
    return 0;
  }
  t->r->body.append(data, len);
  return len;
}

}  // namespace

std::string registry_host(const std::string& domain) {
  return domain == "docker.io" ? "registry-1.docker.io" : domain;
}

struct registry_client::impl {
  std::string domain;
  std::string repository;
  registry_options options;
  std::string base;           // scheme://host/v2/repository
  std::string authorization;  // "Authorization: ..." once the registry asked for it
  CURL* curl = nullptr;
  upload body;  // what the next requests send (push); GET by default

  std::string what() const { return "registry " + domain + ", repository " + repository; }

  [[noreturn]] void fail(error_kind kind, const std::string& object, const std::string& why) const {
    throw images_error(kind, what() + ": " + object + ": " + why);
  }

  response perform(const std::string& url, const std::vector<std::string>& extra_headers,
                   const std::function<bool(long, const char*, std::size_t)>* sink,
                   std::size_t limit, const registry_credentials* basic = nullptr) {
    response r;
    transfer t{curl, &r, sink, limit};
    char errbuf[CURL_ERROR_SIZE] = {0};
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    // Blobs are often redirected to storage elsewhere; libcurl does not send
    // our Authorization header to another host.
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 15000L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);  // stalled for a minute: give up
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "berth/0.1");
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    if (!options.ca_file.empty()) {
      curl_easy_setopt(curl, CURLOPT_CAINFO, options.ca_file.c_str());
      curl_easy_setopt(curl, CURLOPT_CAPATH, "/etc/ssl/certs");  // the system's, too
    }
    if (basic && !basic->empty()) {
      curl_easy_setopt(curl, CURLOPT_USERNAME, basic->username.c_str());
      curl_easy_setopt(curl, CURLOPT_PASSWORD, basic->password.c_str());
    }
    curl_slist* headers = nullptr;
    for (const auto& h : extra_headers) headers = curl_slist_append(headers, h.c_str());
    if (headers) curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
    body.sent = 0;
    if (body.method == "HEAD") {
      curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    } else if (body.method == "POST") {
      curl_easy_setopt(curl, CURLOPT_POST, 1L);
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(0));
    } else if (body.method == "PUT" || body.method == "PATCH") {
      curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
      if (body.method == "PATCH") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "PATCH");
      curl_easy_setopt(curl, CURLOPT_READFUNCTION, on_read);
      curl_easy_setopt(curl, CURLOPT_READDATA, &body);
      curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(body.size));
    }
    r.code = options.loop ? options.loop->perform(curl) : curl_easy_perform(curl);
    curl_slist_free_all(headers);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
    r.curl_error = errbuf[0] ? errbuf : curl_easy_strerror(r.code);
    if (t.too_large) r.curl_error = "the answer is larger than " + std::to_string(limit) + " bytes";
    return r;
  }

  // Answers the registry's 401 challenge: credentials for Basic, a token
  // from the realm for Bearer. Sets `authorization`.
  void authenticate(const response& r, const std::string& object) {
    auto header = r.headers.find("www-authenticate");
    if (header == r.headers.end())
      fail(error_kind::failed_precondition, object,
           "HTTP 401 without a WWW-Authenticate challenge");
    auto c = parse_challenge(header->second);
    const auto& creds = options.credentials;
    if (c.scheme == "basic") {
      if (creds.empty())
        fail(error_kind::failed_precondition, object,
             "HTTP 401: the registry wants a user name and password (--user)");
      authorization = "Authorization: Basic " + base64(creds.username + ":" + creds.password);
      return;
    }
    if (c.scheme != "bearer")
      fail(error_kind::failed_precondition, object,
           "HTTP 401 with an authentication scheme berth does not speak: " + c.scheme);
    auto realm = c.params["realm"];
    if (realm.rfind("https://", 0) != 0 && realm.rfind("http://", 0) != 0)
      fail(error_kind::failed_precondition, object,
           "the registry's token realm \"" + realm + "\" is not an http(s) URL");
    std::string scope =
        c.params.count("scope") ? c.params["scope"] : "repository:" + repository + ":pull";
    auto escape = [this](const std::string& s) {
      char* e = curl_easy_escape(curl, s.c_str(), static_cast<int>(s.size()));
      std::string out = e ? e : "";
      curl_free(e);
      return out;
    };
    std::string url = realm + (realm.find('?') == std::string::npos ? "?" : "&") +
                      "service=" + escape(c.params["service"]) + "&scope=" + escape(scope);
    auto tr = perform(url, {}, nullptr, 1 << 20, &creds);
    if (tr.code != CURLE_OK)
      fail(error_kind::internal, object,
           "cannot reach the token service " + realm + ": " + tr.curl_error);
    if (tr.status == 401 || tr.status == 403)
      fail(error_kind::failed_precondition, object,
           "the token service " + realm + " refused the credentials (HTTP " +
               std::to_string(tr.status) + ")");
    if (tr.status != 200)
      fail(error_kind::internal, object,
           "the token service " + realm + " answered HTTP " + std::to_string(tr.status));
    auto j = nlohmann::json::parse(tr.body, nullptr, false);
    std::string token;
    if (j.is_object()) {
      if (j.contains("token") && j["token"].is_string())
        token = j["token"];
      else if (j.contains("access_token") && j["access_token"].is_string())
        token = j["access_token"];
    }
    if (token.empty())
      fail(error_kind::internal, object, "the token service " + realm + " sent no token");
    authorization = "Authorization: Bearer " + token;
  }

  // Runs a request until it has an answer: retries connection errors and 5xx
  // with backoff, answers one 401 challenge (a token that expired is renewed
  // the same way). `prepare` gives the headers of each attempt.
  response request(const std::string& url, const std::string& object,
                   const std::function<std::vector<std::string>()>& prepare,
                   const std::function<bool(long, const char*, std::size_t)>* sink,
                   std::size_t limit, const std::function<bool()>& restart = {}) {
    bool challenged = false;
    long delay = options.retry_delay_ms;
    for (int attempt = 1;; ++attempt) {
      auto headers = prepare();
      if (!authorization.empty()) headers.push_back(authorization);
      auto r = perform(url, headers, sink, limit);
      if (restart && restart()) {  // the sink asked for a fresh start
        --attempt;
        continue;
      }
      bool last = attempt >= options.attempts;
      // The sink refused the body (too large, or its own failure): the caller's to judge.
      if (r.code == CURLE_WRITE_ERROR && r.status >= 200 && r.status < 300) return r;
      if (r.code != CURLE_OK && r.code != CURLE_WRITE_ERROR) {
        if (retryable(r.code) && !last) {
          std::this_thread::sleep_for(std::chrono::milliseconds(delay));
          delay *= 2;
          continue;
        }
        fail(error_kind::internal, object,
             "cannot fetch " + url + ": " + r.curl_error +
                 (attempt > 1 ? " (after " + std::to_string(attempt) + " attempts)" : ""));
      }
      if (r.status == 401 && !challenged) {
        challenged = true;
        authorization.clear();
        authenticate(r, object);
        --attempt;
        continue;
      }
      if (r.status >= 500 && !last) {
        std::this_thread::sleep_for(std::chrono::milliseconds(delay));
        delay *= 2;
        continue;
      }
      if (r.status >= 200 && r.status < 300) return r;
      auto says = registry_says(r.body);
      std::string why =
          "HTTP " + std::to_string(r.status) + (says.empty() ? "" : " (" + says + ")");
      if (r.status == 404) fail(error_kind::not_found, object, why);
      if (r.status == 401 || r.status == 403)
        fail(error_kind::failed_precondition, object,
             why + (options.credentials.empty() ? "; no credentials were given (--user)"
                                                : "; the credentials were refused"));
      fail(r.status >= 500 ? error_kind::internal : error_kind::failed_precondition, object, why);
    }
  }
};

namespace {

// Sets what the client's next requests send, and back to GET when it goes.
struct sending {
  upload& slot;
  sending(upload& s, upload u) : slot(s) { slot = u; }
  ~sending() { slot = upload{}; }
};

}  // namespace

registry_client::registry_client(std::string domain, std::string repository,
                                 registry_options options)
    : impl_(std::make_unique<impl>()) {
  if (!valid_host(domain))
    throw images_error(error_kind::invalid_argument,
                       "invalid registry \"" + domain + "\": not a host[:port]");
  if (!valid_repository(repository))
    throw images_error(
        error_kind::invalid_argument,
        "invalid repository \"" + repository + "\": lower-case letters, digits and . _ - / only");
  std::call_once(curl_initialised, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  impl_->domain = std::move(domain);
  impl_->repository = std::move(repository);
  impl_->options = std::move(options);
  impl_->base = std::string(impl_->options.plain_http ? "http://" : "https://") +
                registry_host(impl_->domain) + "/v2/" + impl_->repository;
  impl_->curl = curl_easy_init();
  if (!impl_->curl) throw images_error(error_kind::internal, "cannot start libcurl");
}

registry_client::~registry_client() {
  if (impl_ && impl_->curl) curl_easy_cleanup(impl_->curl);
}

std::string registry_client::describe() const {
  return impl_->what();
}

fetched_manifest registry_client::get_manifest(const std::string& reference) {
  bool by_digest = reference.rfind("sha256:", 0) == 0;
  if (by_digest ? !is_valid_digest(reference) : !valid_tag(reference))
    throw images_error(error_kind::invalid_argument,
                       impl_->what() + ": invalid reference \"" + reference + "\"");
  std::string object = "manifest " + reference;
  auto accept = [] {
    return std::vector<std::string>{
        std::string("Accept: ") + media_type::oci_index + ", " + media_type::oci_manifest + ", " +
        media_type::docker_manifest_list + ", " + media_type::docker_manifest};
  };
  std::string body;
  std::function<bool(long, const char*, std::size_t)> sink = [&](long, const char* d,
                                                                 std::size_t n) {
    if (body.size() + n > kMaxManifest) return false;
    body.append(d, n);
    return true;
  };
  auto r = impl_->request(impl_->base + "/manifests/" + reference, object, accept, &sink,
                          kMaxErrorBody, [&] { return false; });
  if (r.code == CURLE_WRITE_ERROR)
    impl_->fail(error_kind::invalid_argument, object,
                "larger than " + std::to_string(kMaxManifest) + " bytes");
  fetched_manifest m;
  m.body = std::move(body);
  m.digest = sha256_digest(m.body);
  if (by_digest && m.digest != reference)
    impl_->fail(error_kind::invalid_argument, object,
                "the registry sent content whose digest is " + m.digest);
  auto type = r.headers.count("content-type") ? r.headers["content-type"] : "";
  type = type.substr(0, type.find(';'));
  auto j = nlohmann::json::parse(m.body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    impl_->fail(error_kind::invalid_argument, object, "not a JSON object");
  if (j.contains("mediaType") && j["mediaType"].is_string()) type = j["mediaType"];
  if (!is_index_type(type) && !is_manifest_type(type))
    impl_->fail(error_kind::invalid_argument, object,
                "unsupported media type \"" + type + "\" (OCI or Docker schema 2 only)");
  m.media_type = type;
  return m;
}

bool registry_client::fetch_blob(const content_store& store, const std::string& digest,
                                 std::int64_t size,
                                 const std::function<void(std::int64_t)>& progress) {
  if (!is_valid_digest(digest))
    throw images_error(error_kind::invalid_argument,
                       impl_->what() + ": invalid digest \"" + digest + "\"");
  if (store.has(digest)) return false;
  std::string object = "blob " + digest;
  auto writer =
      std::make_unique<blob_writer>(store.begin_write(digest, size, impl_->what() + " " + object));
  std::int64_t offset = 0;
  bool restart = false;
  std::exception_ptr failed;  // never thrown through libcurl's C frames
  std::function<bool(long, const char*, std::size_t)> sink = [&](long status, const char* d,
                                                                 std::size_t n) {
    if (offset > 0 && status != 206) {  // the range was ignored: start again
      restart = true;
      return false;
    }
    if (size >= 0 && writer->written() + static_cast<std::int64_t>(n) > size) return false;
    try {
      writer->write(d, n);
      if (progress) progress(writer->written());
    } catch (...) {
      failed = std::current_exception();
      return false;
    }
    return true;
  };
  auto prepare = [&] {
    offset = writer->written();
    std::vector<std::string> h;
    if (offset > 0) h.push_back("Range: bytes=" + std::to_string(offset) + "-");
    return h;
  };
  auto again = [&] {
    if (!restart) return false;
    restart = false;
    writer = std::make_unique<blob_writer>(
        store.begin_write(digest, size, impl_->what() + " " + object));
    return true;
  };
  for (int tries = 0;; ++tries) {
    auto r = impl_->request(impl_->base + "/blobs/" + digest, object, prepare, &sink, kMaxErrorBody,
                            again);
    if (failed) std::rethrow_exception(failed);
    if (r.code == CURLE_WRITE_ERROR)
      impl_->fail(error_kind::invalid_argument, object,
                  "the registry sent more than the " + std::to_string(size) + " bytes expected");
    if (writer->written() < size && tries + 1 < impl_->options.attempts) continue;  // cut short
    break;
  }
  writer->commit();  // checks size and digest; a mismatch keeps nothing
  return true;
}

bool registry_client::has_blob(const std::string& digest) {
  if (!is_valid_digest(digest))
    throw images_error(error_kind::invalid_argument,
                       impl_->what() + ": invalid digest \"" + digest + "\"");
  sending s(impl_->body, upload{"HEAD"});
  try {
    impl_->request(
        impl_->base + "/blobs/" + digest, "blob " + digest,
        [] { return std::vector<std::string>{}; }, nullptr, kMaxErrorBody);
    return true;
  } catch (const images_error& e) {
    if (e.kind() == error_kind::not_found) return false;
    throw;
  }
}

bool registry_client::push_blob(const content_store& store, const std::string& digest,
                                const std::string& mount_from) {
  std::string object = "blob " + digest;
  auto none = [] { return std::vector<std::string>{}; };
  std::string start = impl_->base + "/blobs/uploads/";
  if (!mount_from.empty() && valid_repository(mount_from))
    start += "?mount=" + digest + "&from=" + mount_from;
  response r;
  {
    sending s(impl_->body, upload{"POST"});
    r = impl_->request(start, object, none, nullptr, kMaxErrorBody);
  }
  if (r.status == 201) return true;  // mounted from the other repository: nothing to send
  // Each answer names where the upload goes on, often as a path alone.
  auto next = [&](const response& answer) {
    auto it = answer.headers.find("location");
    if (it == answer.headers.end() || it->second.empty())
      impl_->fail(error_kind::internal, object,
                  "the registry's upload answer (HTTP " + std::to_string(answer.status) +
                      ") names no Location to go on at");
    std::string l = it->second;
    if (l.rfind("http://", 0) != 0 && l.rfind("https://", 0) != 0)
      l = std::string(impl_->options.plain_http ? "http://" : "https://") +
          registry_host(impl_->domain) + l;
    return l;
  };
  auto location = next(r);
  int fd = ::open(store.path(digest).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw_errno("cannot open blob " + digest);
  std::unique_ptr<int, void (*)(int*)> guard(&fd, [](int* f) { ::close(*f); });
  std::int64_t size = store.size(digest);
  std::int64_t chunk = impl_->options.chunk_size;
  std::int64_t offset = 0;  // what the registry has; the final PUT sends the rest
  if (chunk > 0 && size > chunk) {
    for (; offset < size; offset += chunk) {
      std::int64_t n = std::min(chunk, size - offset);
      std::string range = std::to_string(offset) + "-" + std::to_string(offset + n - 1);
      upload u{"PATCH"};
      u.fd = fd;
      u.offset = offset;
      u.size = n;
      sending s(impl_->body, u);
      auto pr = impl_->request(
          location, object + " (bytes " + range + ")",
          [&] {
            return std::vector<std::string>{"Content-Type: application/octet-stream",
                                            "Content-Range: " + range};
          },
          nullptr, kMaxErrorBody);
      location = next(pr);
    }
    offset = size;
  }
  location +=
      (location.find('?') == std::string::npos ? "?" : "&") + std::string("digest=") + digest;
  upload u{"PUT"};
  u.fd = fd;
  u.offset = offset;
  u.size = size - offset;
  sending s(impl_->body, u);
  impl_->request(
      location, object,
      [] { return std::vector<std::string>{"Content-Type: application/octet-stream"}; }, nullptr,
      kMaxErrorBody);
  return false;
}

void registry_client::put_manifest(const std::string& tag, const std::string& media_type,
                                   const std::string& body) {
  if (!valid_tag(tag) && !is_valid_digest(tag))
    throw images_error(error_kind::invalid_argument,
                       impl_->what() + ": invalid reference \"" + tag + "\"");
  upload u{"PUT"};
  u.text = &body;
  u.size = static_cast<std::int64_t>(body.size());
  sending s(impl_->body, u);
  impl_->request(
      impl_->base + "/manifests/" + tag, "manifest " + tag,
      [&] { return std::vector<std::string>{"Content-Type: " + media_type}; }, nullptr,
      kMaxErrorBody);
}

}  // namespace berth::images
