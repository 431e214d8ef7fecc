// A small HTTP/1.1 server for the images tests, for what Debian's
// docker-registry cannot be made to do on demand (tokens that expire, a 503
// that passes, a blob cut off or held back). The handler runs on the
// connection's own thread, so it may block.
#pragma once

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace berth::test {

struct http_request {
  std::string method, target;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;                            // as Content-Length gives it
};

struct http_reply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::size_t cut_after = std::string::npos;  // close after this many body bytes
};

// A thread per connection, one request per connection (Connection: close).
class http_server {
 public:
  explicit http_server(std::function<http_reply(const http_request&)> handler)
      : handler_(std::move(handler)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    host_ = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
    thread_ = std::thread([this] { serve(); });
  }
  ~http_server() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    for (auto& t : connections_) t.join();
    ::close(fd_);
  }
  const std::string& host() const { return host_; }
  std::vector<http_request> seen() {
    std::lock_guard<std::mutex> g(mu_);
    return seen_;
  }

 private:
  void serve() {
    while (!stop_) {
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      connections_.emplace_back([this, c] { answer(c); });
    }
  }

  void answer(int c) {
    {
      std::string in;
      char buf[4096];
      while (in.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        in.append(buf, static_cast<std::size_t>(n));
      }
      http_request r;
      auto line_end = in.find("\r\n");
      auto first = in.substr(0, line_end);
      r.method = first.substr(0, first.find(' '));
      r.target = first.substr(first.find(' ') + 1);
      r.target = r.target.substr(0, r.target.find(' '));
      for (std::size_t p = line_end + 2; p < in.size();) {
        auto e = in.find("\r\n", p);
        if (e == std::string::npos || e == p) break;
        auto h = in.substr(p, e - p);
        auto colon = h.find(':');
        std::string name = h.substr(0, colon);
        for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        r.headers[name] = h.substr(h.find_first_not_of(' ', colon + 1));
        p = e + 2;
      }
      // The body: what came with the headers, then the rest (after a 100
      // Continue, when the client waits for one).
      std::size_t head_end = in.find("\r\n\r\n");
      if (r.headers.count("content-length") && head_end != std::string::npos) {
        std::size_t want = std::stoul(r.headers["content-length"]);
        r.body = in.substr(head_end + 4);
        if (r.body.size() < want && r.headers.count("expect")) {
          std::string go = "HTTP/1.1 100 Continue\r\n\r\n";
          (void)!::write(c, go.data(), go.size());
        }
        while (r.body.size() < want) {
          ssize_t n = ::read(c, buf, sizeof buf);
          if (n <= 0) break;
          r.body.append(buf, static_cast<std::size_t>(n));
        }
      }
      {
        std::lock_guard<std::mutex> g(mu_);
        seen_.push_back(r);
      }
      auto reply = handler_(r);
      std::string out = "HTTP/1.1 " + std::to_string(reply.status) +
                        " X\r\nContent-Length: " + std::to_string(reply.body.size()) +
                        "\r\nConnection: close\r\n";
      for (const auto& [k, v] : reply.headers) out += k + ": " + v + "\r\n";
      out += "\r\n" + reply.body.substr(0, reply.cut_after);
      (void)!::write(c, out.data(), out.size());
      ::close(c);
    }
  }

  std::function<http_reply(const http_request&)> handler_;
  int fd_ = -1;
  std::string host_;
  std::thread thread_;
  std::vector<std::thread> connections_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<http_request> seen_;
};

}  // namespace berth::test
