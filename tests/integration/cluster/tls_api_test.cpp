// The API's TLS endpoint against a real berthd (real berth-shim, real runc):
// certificates made with the openssl CLI at test time (a CA, berthd's
// certificate, a client's; a second CA and a client it signed), then the
// real berth binary as a remote client. A client with the CA's certificate
// runs a container; one from the other CA, or with none, is refused in the
// handshake and nothing it asked for happens; a host path from a remote
// client is refused with its reason; berthd refuses bad TLS files and
// plain TCP before it starts.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>
#include <kj/compat/tls.h>

#include "berth_runner.hpp"
#include "cluster_fixture.hpp"
#include "schema/api.capnp.h"
#include "schema/tls_endpoint.hpp"
#include "tests/support/berthd_process.hpp"
#include "tests/support/busybox_bundle.hpp"
#include "tests/support/test_certificates.hpp"

using namespace berth::test;
using Catch::Contains;

namespace {

// berthd's certificate (for localhost), alice's from the same CA, and
// mallory's from another (tests/support/test_certificates.hpp).
struct certificates {
  test_ca ca{"berth test CA"};
  test_ca other_ca{"another CA"};
  certificate server = ca.issue("berthd");
  certificate client = ca.issue("alice");
  certificate mallory = other_ca.issue("mallory");
  temp_dir scratch{"berth-tls-test"};  // an archive, a checkpoint path

  const certificate& of(const std::string& who) const { return who == "client" ? client : mallory; }
};

struct tls_daemon {
  certificates certs;
  std::string endpoint = "tls://127.0.0.1:" + std::to_string(free_port());
  berthd_process daemon{
      berthd_process::options{{"--address", endpoint, "--tls-cert", certs.server.cert, "--tls-key",
                               certs.server.key, "--tls-ca", certs.ca.cert()}}};
};

tls_daemon& fixture() {
  static tls_daemon d;
  return d;
}

// `berth --address tls://… [TLS flags] args…`: the client `who` ("client",
// "mallory", or "" for none) with berthd's CA.
berth_result remote(const std::string& who, std::vector<std::string> args) {
  auto& f = fixture();
  std::vector<std::string> argv = {"--tls-ca", f.certs.ca.cert(), "--tls-server-name", "localhost"};
  if (!who.empty())
    argv.insert(argv.end(), {"--tls-cert", f.certs.of(who).cert, "--tls-key", f.certs.of(who).key});
  argv.insert(argv.end(), args.begin(), args.end());
  berth_call call(argv, f.endpoint);
  call.deadline = std::chrono::seconds(90);
  return run_berth(call);
}

berth_result local(std::vector<std::string> args) {
  return run_berth_at(fixture().daemon.address(), std::move(args));
}

std::string unique_id(const std::string& stem) {
  static int next = 0;
  return stem + "-" + std::to_string(::getpid()) + "-" + std::to_string(next++);
}

}  // namespace

TEST_CASE("a client with a certificate the CA signed lists containers and runs one",
          "[cluster][tls]") {
  auto id = unique_id("tls-run");
  auto ls = remote("client", {"c", "ls"});
  INFO(ls.err);
  REQUIRE(ls.exit_code == 0);
  CHECK_THAT(ls.out, Catch::StartsWith("CONTAINER"));

  auto rootfs = fixture().daemon.rootfs();
  auto created = remote("client", {"c", "create", "--rootfs", rootfs, "local/busybox:latest", id,
                                   "sh", "-c", "echo hello over tls; exit 7"});
  INFO(created.err);
  REQUIRE(created.exit_code == 0);
  auto started = remote("client", {"t", "start", "-d", id});
  INFO(started.err);
  REQUIRE(started.exit_code == 0);
  auto waited = remote("client", {"t", "wait", id});
  CHECK(waited.err == "");
  CHECK(waited.out == "7\n");
  // The output comes back through the task's log: stdio FIFOs are host paths.
  auto logs = remote("client", {"t", "logs", id});
  CHECK(logs.err == "");
  CHECK(logs.out == "hello over tls\n");
  CHECK(remote("client", {"t", "rm", id}).exit_code == 0);
  CHECK(remote("client", {"c", "rm", id}).exit_code == 0);
  // The local socket is served beside the TLS endpoint.
  CHECK(local({"c", "ls"}).exit_code == 0);
}

TEST_CASE("a client with a certificate from another CA is refused before any call",
          "[cluster][tls]") {
  auto id = unique_id("tls-mallory");
  auto rootfs = fixture().daemon.rootfs();
  auto created =
      remote("mallory", {"c", "create", "--rootfs", rootfs, "local/busybox:latest", id, "true"});
  CHECK(created.exit_code == 1);
  CHECK_THAT(created.err, Contains("refused this client's certificate"));
  CHECK_THAT(created.err, Contains("which is not signed by the CA berthd trusts"));
  // Nothing was created, and berthd serves on.
  auto ls = local({"c", "ls", "-q"});
  CHECK(ls.exit_code == 0);
  CHECK_THAT(ls.out, !Contains(id));
  CHECK(remote("client", {"version"}).exit_code == 0);
  // berthd logs the refusal (maybe just after the client saw it).
  bool logged = false;
  for (int i = 0; i < 100 && !logged; ++i) {
    logged =
        fixture().daemon.log().find("refused TLS connection from 127.0.0.1:") != std::string::npos;
    if (!logged) ::usleep(100 * 1000);
  }
  CHECK(logged);
}

TEST_CASE("a client without a certificate is refused", "[cluster][tls]") {
  auto ls = remote("", {"c", "ls"});
  CHECK(ls.exit_code == 1);
  CHECK_THAT(ls.err, Contains("requires a client certificate"));
  CHECK(ls.out == "");
}

TEST_CASE("a client that does not trust berthd's CA does not talk to it", "[cluster][tls]") {
  auto& f = fixture();
  berth_call call({"--tls-ca", f.certs.other_ca.cert(), "--tls-server-name", "localhost",
                   "--tls-cert", f.certs.client.cert, "--tls-key", f.certs.client.key, "c", "ls"},
                  f.endpoint);
  auto r = run_berth(call);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Contains("berthd's certificate is not signed by the CA in --tls-ca"));
  // Dialled by an address its certificate does not name.
  berth_call by_ip({"--tls-ca", f.certs.ca.cert(), "--tls-cert", f.certs.client.cert, "--tls-key",
                    f.certs.client.key, "c", "ls"},
                   "tls://127.0.0.1:" + f.endpoint.substr(f.endpoint.rfind(':') + 1));
  auto named = run_berth(by_ip);
  CHECK(named.exit_code == 1);
  CHECK_THAT(named.err, Contains("--tls-server-name"));
}

TEST_CASE("host paths from a remote client are refused with the reason", "[cluster][tls]") {
  auto id = unique_id("tls-paths");
  auto rootfs = fixture().daemon.rootfs();
  REQUIRE(remote("client", {"c", "create", "--rootfs", rootfs, "local/busybox:latest", id, "sh",
                            "-c", "echo hi"})
              .exit_code == 0);
  // Attached start names stdio FIFOs on this host.
  auto attached = remote("client", {"t", "start", id});
  CHECK(attached.exit_code == 1);
  CHECK_THAT(attached.err, Contains("host paths are not accepted from a remote client (tls://"));
  CHECK_THAT(attached.err, Contains("CN=alice"));
  // Importing an archive by its path.
  auto archive = fixture().certs.scratch / "image.tar";
  std::ofstream(archive) << "not really a tar\n";
  auto imported = remote("client", {"i", "import", archive});
  CHECK(imported.exit_code == 1);
  CHECK_THAT(imported.err, Contains("host paths are not accepted from a remote client"));
  CHECK_THAT(imported.err, Contains("archive path \"" + archive + "\""));
  // The container is still usable, and cleaned up.
  auto tasks = local({"t", "ls", "-q"});
  CHECK_THAT(tasks.out, !Contains(id));
  CHECK(remote("client", {"c", "rm", id}).exit_code == 0);
}

TEST_CASE("berthd refuses plain TCP and bad TLS files before it starts", "[cluster][tls]") {
  auto& certs = fixture().certs;
  temp_dir dir{"berth-tls-bad"};
  auto berthd = berthd_process::berthd_binary() + " --root " + dir / "root" + " --state " +
                dir / "state" + " --address unix:" + dir / "b.sock";
  auto files = [&](const std::string& cert, const std::string& key, const std::string& ca) {
    return " --tls-cert " + cert + " --tls-key " + key + " --tls-ca " + ca;
  };
  auto tcp = run_program(berthd + " --address tcp://127.0.0.1:1" +
                         files(certs.server.cert, certs.server.key, certs.ca.cert()));
  CHECK(tcp.first == 1);
  CHECK_THAT(tcp.second, Contains("plain TCP is not offered"));

  auto endpoint = " --address tls://127.0.0.1:" + std::to_string(free_port());
  auto missing = run_program(berthd + endpoint +
                             files(certs.server.cert, certs.server.key, "/nonexistent.crt"));
  CHECK(missing.first == 1);
  CHECK_THAT(missing.second, Contains("bad CA file /nonexistent.crt: No such file or directory"));

  auto not_a_key =
      run_program(berthd + endpoint + files(certs.server.cert, certs.ca.cert(), certs.ca.cert()));
  CHECK(not_a_key.first == 1);
  CHECK_THAT(not_a_key.second, Contains("bad key " + certs.ca.cert()));

  auto wrong_key =
      run_program(berthd + endpoint + files(certs.server.cert, certs.client.key, certs.ca.cert()));
  CHECK(wrong_key.first == 1);
  CHECK_THAT(wrong_key.second, Contains("does not belong to the certificate"));

  auto no_files = run_program(berthd + endpoint);
  CHECK(no_files.first == 1);
  CHECK_THAT(no_files.second, Contains("no CA file given (--tls-ca)"));
  // None of them got as far as the socket.
  CHECK_FALSE(std::ifstream(dir / "b.sock").good());
}

TEST_CASE("the CLI refuses plain TCP", "[cluster][tls]") {
  auto r = run_berth_at("tcp://127.0.0.1:1", {"c", "ls"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Contains("plain TCP is not offered"));
}

TEST_CASE("a checkpoint path from a remote client is refused as invalid_argument",
          "[cluster][tls]") {
  // No CLI verb names a checkpoint: the call itself, over TLS as alice.
  auto& f = fixture();
  auto id = unique_id("tls-ckpt");
  auto rootfs = f.daemon.rootfs();
  REQUIRE(remote("client", {"c", "create", "--rootfs", rootfs, "local/busybox:latest", id, "true"})
              .exit_code == 0);
  auto identity =
      berth::tls_identity::load({f.certs.client.cert, f.certs.client.key, f.certs.ca.cert()}, true);
  auto io = kj::setupAsyncIo();
  kj::TlsContext tls(identity.options(false));
  auto at = berth::parse_tls_address(f.endpoint);
  auto raw = io.provider->getNetwork()
                 .parseAddress(at.kj_address)
                 .wait(io.waitScope)
                 ->connect()
                 .wait(io.waitScope);
  auto stream = tls.wrapClient(kj::mv(raw), "localhost").wait(io.waitScope);
  capnp::TwoPartyClient rpc(*stream);
  auto berth = rpc.bootstrap().castAs<berth::wire::api::Berth>();
  auto req = berth.createTaskRequest();
  req.initReq().setId(id);
  req.getReq().setCheckpoint(f.certs.scratch / "checkpoint");
  auto resp = req.send().wait(io.waitScope);
  auto err = resp.getResp().getError();
  CHECK(err.getCode() == berth::wire::ErrorCode::INVALID_ARGUMENT);
  CHECK_THAT(std::string(err.getMessage().cStr()),
             Contains("host paths are not accepted from a remote client (tls://127.0.0.1:"));
  CHECK_THAT(std::string(err.getMessage().cStr()), Contains("checkpoint path"));
  CHECK(local({"c", "rm", id}).exit_code == 0);
}
