#include "cli/daemon_client.hpp"

#include <cstdio>
#include <iostream>

#include "schema/socket_address.hpp"
#include "schema/tls_endpoint.hpp"

namespace berth::cli {

void add_global_options(CLI::App& app, global_options& opts) {
  app.add_option("-a,--address", opts.address,
                 "berthd's socket (unix:PATH) or TLS endpoint (tls://HOST:PORT)")
      ->envname("BERTH_ADDRESS")
      ->capture_default_str();
  app.add_option("--tls-cert", opts.tls_cert,
                 "with tls:// or --actor: this client's PEM certificate")
      ->envname("BERTH_TLS_CERT");
  app.add_option("--tls-key", opts.tls_key,
                 "with tls:// or --actor: the PEM private key of --tls-cert")
      ->envname("BERTH_TLS_KEY");
  app.add_option("--tls-ca", opts.tls_ca,
                 "with tls:// or --actor: the PEM CA that signed berthd's certificate")
      ->envname("BERTH_TLS_CA");
  app.add_option("--tls-server-name", opts.tls_server_name,
                 "with tls://: the name berthd's certificate must carry (default: the host)");
  app.add_option("-n,--namespace", opts.ns, "namespace of the objects to act on")
      ->envname("BERTH_NAMESPACE")
      ->capture_default_str();
  // A number of seconds, or with a unit: 500ms, 10s, 2m.
  app.add_option("--timeout", opts.timeout_seconds,
                 "deadline for connecting and for each quick call (default 30s; 0: none; "
                 "wait, attach, events, logs -f and run's wait have none)")
      ->transform(
          CLI::AsNumberWithUnit(std::map<std::string, double>{{"ms", 0.001}, {"s", 1}, {"m", 60}},
                                CLI::AsNumberWithUnit::CASE_SENSITIVE, "DURATION"))
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--debug", opts.debug, "print each call to berthd and how long it took");
  app.add_option("--node", opts.node,
                 "send the verb to this node of the cluster, through the daemon connected to");
  app.add_option("--actor", opts.actor.address,
                 "speak actor messages to the node published at HOST:PORT (instead of --address)");
  app.add_flag("--insecure-actors", opts.actor.insecure,
               "with --actor: plain actor messages, without TLS (loopback only)");
}

namespace {

std::string socket_address(const std::string& address) {
  // A bare path and unix://PATH are accepted too, as berthd takes them.
  auto a = berth::unix_socket_address(address);
  return a.empty() ? address : a;
}

// Signals must be captured before the event port exists, and they stay
// blocked in threads created later (the attached-I/O copiers), so only the
// KJ loop sees them.
kj::AsyncIoContext setup_io(const std::vector<int>& captured_signals) {
  for (int signo : captured_signals) kj::UnixEventPort::captureSignal(signo);
  return kj::setupAsyncIo();
}

}  // namespace

daemon_client::daemon_client(const global_options& opts, const std::vector<int>& captured_signals)
    : opts_(opts), io_(setup_io(captured_signals)), berth_(nullptr) {
  if (opts_.ns.empty()) opts_.ns = "default";
  std::string address = socket_address(opts_.address);
  if (!opts_.actor.address.empty()) {
    if (opts_.timeout_seconds > 0) opts_.actor.timeout_seconds = opts_.timeout_seconds;
    opts_.actor.tls_cert = opts_.tls_cert;
    opts_.actor.tls_key = opts_.tls_key;
    opts_.actor.tls_ca = opts_.tls_ca;
    gateway_ = std::make_unique<actor_gateway>(opts_.actor);
    debug("speaking actor messages to node " + gateway_->node() + " at " + opts_.actor.address);
    address = gateway_->address();
  }
  std::string what = "connect to berthd at " + address;
  if (berth::is_tls_address(address) || address.rfind("tcp://", 0) == 0) {
    connect_tls(address, what);
  } else {
    if (address.rfind("unix:", 0) != 0)
      throw command_error(what, "expected unix:PATH or tls://HOST:PORT");
    connect_unix(address, what);
  }
  answered_ = false;  // the connecting above was no answer of berthd's
  rpc_ = kj::heap<capnp::TwoPartyClient>(*stream_);
  berth_ = rpc_->bootstrap().castAs<api::Berth>();
  debug("connected to " + address + ", namespace " + opts_.ns);
  if (!opts_.node.empty()) {
    // One round trip, so a node that is down or unknown is reported as such
    // before the verb starts.
    auto req = berth_.atNodeRequest();
    req.initReq().setName(opts_.node);
    auto resp = wait(req.send(), "node " + opts_.node);
    check(resp.getResp(), "node " + opts_.node);
    berth_ = resp.getBerth();
    debug("calls go to node " + opts_.node);
  }
}

void daemon_client::connect_unix(const std::string& address, const std::string& what) {
  auto parsed = wait(io_.provider->getNetwork().parseAddress(address), what);
  try {
    stream_ = wait(parsed->connect(), what);
  } catch (const command_error& e) {
    // The usual cause is a daemon that is not running, or another address.
    throw command_error(what, e.reason() + " (is berthd running? --address or BERTH_ADDRESS)");
  }
}

void daemon_client::connect_tls(const std::string& address, const std::string& what) {
  berth::tls_address at;
  try {
    at = berth::parse_tls_address(address);
    auto id = berth::tls_identity::load({opts_.tls_cert, opts_.tls_key, opts_.tls_ca}, false);
    tls_ = kj::heap<kj::TlsContext>(id.options(false));
  } catch (const std::exception& e) {
    throw command_error(what, e.what());
  } catch (const kj::Exception& e) {
    throw command_error(what, e.getDescription().cStr());
  }
  auto parsed = wait(io_.provider->getNetwork().parseAddress(at.kj_address), what);
  kj::Own<kj::AsyncIoStream> raw;
  try {
    raw = wait(parsed->connect(), what);
  } catch (const command_error& e) {
    throw command_error(what, e.reason() + " (is berthd serving tls:// there?)");
  }
  auto name = opts_.tls_server_name.empty() ? at.host : opts_.tls_server_name;
  try {
    stream_ = wait(tls_->wrapClient(kj::mv(raw), name), what);
  } catch (const command_error& e) {
    const auto& why = e.reason();
    if (why.find("hostname mismatch") != std::string::npos)
      throw command_error(what, "berthd's certificate does not name \"" + name + "\" (" + why +
                                    "); connect by a name it carries, or give that name with "
                                    "--tls-server-name");
    if (why.find("not trusted") != std::string::npos)
      throw command_error(what, "berthd's certificate is not signed by the CA in --tls-ca " +
                                    opts_.tls_ca + " (" + why + ")");
    throw command_error(what, "TLS handshake failed: " + why);
  }
  // With TLS 1.3 the server checks this client's certificate after the
  // client's side of the handshake is done: a refusal shows at the first
  // call (describe() says what it means).
}

void daemon_client::debug(const std::string& message) const {
  if (opts_.debug) std::cerr << "berth: debug: " << message << "\n";
}

void daemon_client::debug_elapsed(const std::string& what,
                                  std::chrono::steady_clock::time_point started) const {
  if (!opts_.debug) return;
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                                  started)
                .count();
  debug(what + ": " + std::to_string(us / 1000.0) + " ms");
}

std::string daemon_client::describe(const kj::Exception& e) const {
  std::string description = e.getDescription().cStr();
  if (description.find("timed out") != std::string::npos ||
      e.getType() == kj::Exception::Type::OVERLOADED) {
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%g", deadline_seconds());
    return std::string("no answer from berthd within ") + seconds + "s (deadline exceeded" +
           (opts_.timeout_seconds < 0 ? "; --timeout changes it)" : ")");
  }
  if (tls_.get() != nullptr) {
    // berthd refuses a client's certificate in the handshake. With TLS 1.3
    // this client learns it only at its first call: from the alert berthd
    // sent, or, when a write meets the closed connection first, from the
    // connection ending before any answer.
    bool alert = description.find(" alert ") != std::string::npos;
    bool ended_early =
        !answered_ && (e.getType() == kj::Exception::Type::DISCONNECTED ||
                       description.find("ssl connection ended") != std::string::npos);
    if (alert || ended_early) {
      std::string how = alert ? "refused the connection" : "closed the connection before answering";
      if (opts_.tls_cert.empty())
        return "berthd at " + opts_.address + " " + how +
               ": it requires a client certificate (--tls-cert and --tls-key) signed by the CA "
               "it trusts (" +
               description + ")";
      bool other_alert = alert && description.find("unknown ca") == std::string::npos;
      return "berthd at " + opts_.address + " " + how + ": it refused this client's certificate " +
             opts_.tls_cert + (other_alert ? "" : ", which is not signed by the CA berthd trusts") +
             " (" + description + ")";
    }
  }
  if (e.getType() == kj::Exception::Type::DISCONNECTED) {
    if (gateway_) return "node at " + opts_.actor.address + " hung up (" + description + ")";
    return "berthd at " + opts_.address + " is not reachable or hung up (" + description + ")";
  }
  return description;
}

capnp::Response<api::Berth::GetContainerResults> get_container(daemon_client& client,
                                                               const std::string& id) {
  auto req = client.berth().getContainerRequest();
  auto r = req.initReq();
  r.setNamespace(client.ns());
  r.setId(id);
  auto resp = client.wait(req.send(), "container " + id);
  check(resp.getResp(), "container " + id);
  return resp;
}

}  // namespace berth::cli
