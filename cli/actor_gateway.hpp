// `berth --actor HOST:PORT`: the CLI speaks actor messages to a node through
// berth-actor-gateway, a child process that joins the node's actor system
// (CAF's middleman, mutual TLS) and serves berth's API from the node's actors
// on a private unix socket. Every verb then runs unchanged over that socket,
// so its output, exit codes and errors are the same as over berthd's socket,
// and the CLI itself stays a small Cap'n Proto client that starts fast.
#pragma once

#include <sys/types.h>

#include <string>

namespace berth::cli {

struct actor_options {
  std::string address;  // HOST:PORT of the node's published actors
  std::string tls_cert, tls_key, tls_ca;
  bool insecure = false;  // plain actor messages (loopback only)
  double timeout_seconds = 10;
};

class actor_gateway {
 public:
  // Starts the gateway and waits for it to be serving. Throws command_error
  // ("connect to node at HOST:PORT", why) with the gateway's own reason.
  explicit actor_gateway(const actor_options& opts);
  ~actor_gateway();
  actor_gateway(const actor_gateway&) = delete;
  actor_gateway& operator=(const actor_gateway&) = delete;

  // "unix:<private dir>/api.sock"
  std::string address() const { return "unix:" + socket_; }
  const std::string& node() const { return node_; }

 private:
  // Ends the gateway (closing its stdin), reaps it, removes the socket's dir.
  void release();

  std::string dir_, socket_, node_;
  pid_t pid_ = -1;
  int to_gateway_ = -1;  // its stdin: closing it ends the gateway
};

}  // namespace berth::cli
