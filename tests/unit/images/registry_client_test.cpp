// The registry client alone against a small HTTP server in the test, for what
// Debian's docker-registry cannot be made to do on demand: bearer tokens from
// a token service (and a token that expires), a 503 that passes, a blob cut
// off mid-way and resumed with a Range request, a blob whose bytes do not
// match its digest.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "actors/images/content_store.hpp"
#include "actors/images/digest.hpp"
#include "actors/images/image_pull.hpp"
#include "actors/images/images_error.hpp"
#include "actors/images/oci_manifest.hpp"
#include "actors/images/registry_client.hpp"
#include "actors/images/transfer_loop.hpp"
#include "tests/support/busybox_bundle.hpp"
#include "tests/unit/images/http_server.hpp"

using namespace berth::images;
using berth::test::http_reply;
using berth::test::http_request;
using berth::test::http_server;
using Catch::Matchers::Contains;

namespace {

const std::string kManifest =
    R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
    R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:)" +
    std::string(64, 'a') + R"(","size":2},"layers":[]})";

registry_options quick(registry_options o = {}) {
  o.plain_http = true;
  o.retry_delay_ms = 10;
  return o;
}

}  // namespace

TEST_CASE(
    "bearer tokens: fetched from the realm with the user's credentials, renewed when they "
    "expire",
    "[registry]") {
  std::atomic<int> token_generation{1};
  std::atomic<int> token_requests{0};
  std::string host;
  http_server server([&](const http_request& r) -> http_reply {
    std::string token = "T" + std::to_string(token_generation.load());
    if (r.target.rfind("/token?", 0) == 0) {
      ++token_requests;
      if (r.headers.count("authorization") == 0 ||
          r.headers.at("authorization") != "Basic YWxpY2U6cHc=")  // alice:pw
        return {401, {}, "{}"};
      CHECK_THAT(r.target, Contains("service=test-registry"));
      CHECK_THAT(r.target, Contains("scope=repository%3Alib%2Fapp%3Apull"));
      return {200, {}, R"({"token":")" + token + R"(","expires_in":60})"};
    }
    if (r.headers.count("authorization") == 0 || r.headers.at("authorization") != "Bearer " + token)
      return {401,
              {{"WWW-Authenticate", "Bearer realm=\"http://" + host +
                                        "/token\",service=\"test-registry\",scope=\"repository:"
                                        "lib/app:pull\""}},
              R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})"};
    return {200, {{"Content-Type", "application/vnd.oci.image.manifest.v1+json"}}, kManifest};
  });
  host = server.host();

  registry_options o = quick();
  o.credentials = {"alice", "pw"};
  registry_client client(host, "lib/app", o);
  auto m = client.get_manifest("1.0");
  CHECK(m.digest == sha256_digest(kManifest));
  CHECK(m.media_type == "application/vnd.oci.image.manifest.v1+json");
  CHECK(token_requests == 1);
  client.get_manifest("1.0");  // the token is kept
  CHECK(token_requests == 1);
  token_generation = 2;  // the old token expires: one more token request, no error
  CHECK(client.get_manifest("1.0").digest == m.digest);
  CHECK(token_requests == 2);

  registry_options wrong = quick();
  wrong.credentials = {"alice", "nope"};
  registry_client refused(host, "lib/app", wrong);
  CHECK_THROWS_WITH(refused.get_manifest("1.0"),
                    Contains("registry " + host +
                             ", repository lib/app: manifest 1.0: the token "
                             "service http://" +
                             host + "/token refused the credentials (HTTP 401)"));
}

TEST_CASE("a 503 is retried, a blob cut off is resumed with a Range request", "[registry]") {
  berth::test::temp_dir dir;
  content_store store(dir.path());
  std::string blob(300000, '\0');
  for (std::size_t i = 0; i < blob.size(); ++i) blob[i] = static_cast<char>(i * 7 % 251);
  auto digest = sha256_digest(blob);
  std::atomic<int> manifest_calls{0}, blob_calls{0};
  http_server server([&](const http_request& r) -> http_reply {
    if (r.target.find("/manifests/") != std::string::npos)
      return ++manifest_calls == 1 ? http_reply{503, {}, "busy"} : http_reply{200, {}, kManifest};
    if (++blob_calls == 1) {
      http_reply cut{200, {}, blob};
      cut.cut_after = 100000;
      return cut;
    }
    auto range = r.headers.count("range") ? r.headers.at("range") : "";
    REQUIRE(range == "bytes=100000-");
    return {206, {{"Content-Range", "bytes 100000-299999/300000"}}, blob.substr(100000)};
  });
  registry_client client(server.host(), "lib/app", quick());
  CHECK(client.get_manifest("latest").digest == sha256_digest(kManifest));
  CHECK(manifest_calls == 2);

  std::vector<std::int64_t> progress;
  CHECK(client.fetch_blob(store, digest, static_cast<std::int64_t>(blob.size()),
                          [&](std::int64_t done) { progress.push_back(done); }));
  CHECK(blob_calls == 2);
  CHECK(store.has(digest));
  CHECK(store.read(digest) == blob);
  REQUIRE_FALSE(progress.empty());
  CHECK(progress.back() == 300000);
  // Already there: nothing is asked of the registry.
  CHECK_FALSE(client.fetch_blob(store, digest, static_cast<std::int64_t>(blob.size())));
  CHECK(blob_calls == 2);
}

TEST_CASE("content that does not match its digest is refused and nothing is kept", "[registry]") {
  berth::test::temp_dir dir;
  content_store store(dir.path());
  std::string expected = "the bytes the manifest promised";
  auto digest = sha256_digest(expected);
  http_server server([&](const http_request& r) -> http_reply {
    if (r.target.find("/manifests/") != std::string::npos) return {200, {}, kManifest};
    return {200, {}, std::string(expected.size(), 'x')};
  });
  registry_client client(server.host(), "lib/app", quick());
  CHECK_THROWS_WITH(client.fetch_blob(store, digest, static_cast<std::int64_t>(expected.size())),
                    Contains("digest mismatch for registry " + server.host() +
                             ", repository lib/app blob " + digest));
  CHECK_FALSE(store.has(digest));
  CHECK(store.list().empty());
  // A manifest asked for by digest must be that digest.
  auto wrong = "sha256:" + std::string(64, 'b');
  CHECK_THROWS_WITH(client.get_manifest(wrong),
                    Contains("manifest " + wrong + ": the registry sent content whose digest is " +
                             sha256_digest(kManifest)));
  // Names are checked before any request is made.
  CHECK_THROWS_WITH(registry_client(server.host(), "Lib/App", quick()),
                    Contains("invalid repository \"Lib/App\""));
  CHECK_THROWS_WITH(client.get_manifest("../../etc"), Contains("invalid reference \"../../etc\""));
}

TEST_CASE("a pull downloads up to `parallel` blobs at once", "[registry]") {
  // An image of four layers and a config; each blob is answered after 300 ms.
  std::vector<std::string> layers;
  std::string diff_ids, layer_list;
  for (int i = 0; i < 4; ++i) {
    layers.push_back(std::string(1000 + i, static_cast<char>('a' + i)));
    diff_ids += std::string(i ? "," : "") + "\"" + sha256_digest("diff" + std::to_string(i)) + "\"";
    layer_list += std::string(i ? "," : "") +
                  R"({"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":")" +
                  sha256_digest(layers.back()) + R"(","size":)" +
                  std::to_string(layers.back().size()) + "}";
  }
  std::string config = R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers",)"
                       R"("diff_ids":[)" +
                       diff_ids + "]}}";
  std::string manifest =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
      R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
      sha256_digest(config) + R"(","size":)" + std::to_string(config.size()) + R"(},"layers":[)" +
      layer_list + "]}";
  std::map<std::string, std::string> blobs{{sha256_digest(config), config}};
  for (const auto& l : layers) blobs[sha256_digest(l)] = l;
  std::atomic<int> in_flight{0}, most{0};
  http_server server([&](const http_request& r) -> http_reply {
    if (r.target.find("/manifests/") != std::string::npos) return {200, {}, manifest};
    int now = ++in_flight;
    for (int seen = most.load(); now > seen && !most.compare_exchange_weak(seen, now);) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    --in_flight;
    auto digest = r.target.substr(r.target.rfind('/') + 1);
    return {200, {}, blobs.at(digest)};
  });

  // On the calling threads (curl_easy_perform), and on one transfer loop
  // (libcurl's multi interface) as berthd's images actor runs them.
  for (auto [parallel, loop] : {std::pair{3, false}, {1, false}, {3, true}, {1, true}}) {
    INFO("parallel " << parallel << (loop ? ", on a transfer loop" : ""));
    berth::test::temp_dir dir;
    content_store store(dir.path());
    most = 0;
    pull_options o;
    o.registry = quick();
    if (loop) o.registry.loop = std::make_shared<transfer_loop>();
    o.parallel = parallel;
    std::mutex m;
    std::set<std::string> done;
    o.progress = [&](const pull_progress& p) {
      std::lock_guard<std::mutex> g(m);
      if (p.done) done.insert(p.digest);
    };
    auto img = pull_image(store, server.host() + "/lib/app:1", o);
    CHECK(img.target.digest == sha256_digest(manifest));
    CHECK(img.target.manifests.at(0).layers.size() == 4);
    CHECK(done.size() == 5);
    CHECK(most == parallel);
  }
}

TEST_CASE("push_blob: chunked with PATCH and Content-Range, then the closing PUT", "[registry]") {
  berth::test::temp_dir dir;
  content_store store(dir.path());
  std::string blob;
  for (int i = 0; blob.size() < 10000; ++i) blob += std::to_string(i) + ",";
  blob.resize(10000);
  auto digest = store.write(blob).digest;
  std::mutex m;
  std::string received;
  std::vector<std::string> ranges;
  int uploads = 0;
  http_server server([&](const http_request& r) -> http_reply {
    std::lock_guard<std::mutex> g(m);
    if (r.method == "HEAD") return {404, {}, ""};
    if (r.method == "POST")
      return {202, {{"Location", "/v2/lib/app/blobs/uploads/u" + std::to_string(++uploads)}}, ""};
    if (r.method == "PATCH") {
      ranges.push_back(r.headers.count("content-range") ? r.headers.at("content-range") : "none");
      received += r.body;
      return {202,
              {{"Location", "/v2/lib/app/blobs/uploads/u1?part=" + std::to_string(ranges.size())}},
              ""};
    }
    if (r.method == "PUT") {
      received += r.body;
      CHECK_THAT(r.target, Contains("digest=" + digest));
      return {201, {}, ""};
    }
    return {400, {}, ""};
  });

  registry_options o = quick();
  o.chunk_size = 4096;
  registry_client client(server.host(), "lib/app", o);
  CHECK_FALSE(client.push_blob(store, digest));
  CHECK(ranges == std::vector<std::string>{"0-4095", "4096-8191", "8192-9999"});
  CHECK(received == blob);
  // Each PATCH went where the previous answer said; the PUT after the last.
  auto seen = server.seen();
  REQUIRE(seen.size() == 5);
  CHECK(seen[2].target == "/v2/lib/app/blobs/uploads/u1?part=1");
  CHECK(seen[4].target == "/v2/lib/app/blobs/uploads/u1?part=3&digest=" + digest);
  CHECK(seen[4].body.empty());

  // Without a chunk size: one PUT with the whole blob.
  received.clear();
  ranges.clear();
  registry_client whole(server.host(), "lib/app", quick());
  CHECK_FALSE(whole.push_blob(store, digest));
  CHECK(ranges.empty());
  CHECK(received == blob);
}

TEST_CASE("push_blob: a cross-repository mount when the registry offers it, else an upload",
          "[registry]") {
  berth::test::temp_dir dir;
  content_store store(dir.path());
  auto digest = store.write(std::string("layer bytes")).digest;
  std::atomic<bool> mounts{true};
  std::atomic<int> puts{0};
  http_server server([&](const http_request& r) -> http_reply {
    if (r.method == "POST") {
      CHECK(r.target == "/v2/lib/app/blobs/uploads/?mount=" + digest + "&from=lib/base");
      if (mounts) return {201, {{"Location", "/v2/lib/app/blobs/" + digest}}, ""};
      return {202, {{"Location", "/v2/lib/app/blobs/uploads/u1"}}, ""};
    }
    if (r.method == "PUT") ++puts;
    return {201, {}, ""};
  });
  registry_client client(server.host(), "lib/app", quick());
  CHECK(client.push_blob(store, digest, "lib/base"));
  CHECK(puts == 0);
  mounts = false;  // a registry that declines: the upload follows
  CHECK_FALSE(client.push_blob(store, digest, "lib/base"));
  CHECK(puts == 1);
}

TEST_CASE("content store: a blob's sources are kept once each and removed with it", "[registry]") {
  berth::test::temp_dir dir;
  content_store store(dir.path());
  auto digest = store.write(std::string("x")).digest;
  store.add_source(digest, "127.0.0.1:5000/lib/base");
  store.add_source(digest, "127.0.0.1:5000/lib/base");
  store.add_source(digest, "docker.io/library/busybox");
  CHECK(store.sources(digest) ==
        std::vector<std::string>{"127.0.0.1:5000/lib/base", "docker.io/library/busybox"});
  store.remove(digest);
  CHECK(store.sources(digest).empty());
}

TEST_CASE("pull --all-platforms: an index's attestation comes along, whatever its blobs' types",
          "[registry]") {
  std::string layer(3000, 'l');
  std::string config = R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers",)"
                       R"("diff_ids":[")" +
                       sha256_digest("diff") + R"("]}})";
  auto desc = [](const std::string& type, const std::string& body) {
    return R"({"mediaType":")" + type + R"(","digest":")" + sha256_digest(body) + R"(","size":)" +
           std::to_string(body.size()) + "}";
  };
  std::string image =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
      R"("config":)" +
      desc("application/vnd.oci.image.config.v1+json", config) + R"(,"layers":[)" +
      desc("application/vnd.oci.image.layer.v1.tar+gzip", layer) + "]}";
  std::string statement = R"({"_type":"https://in-toto.io/Statement/v0.1"})";
  std::string empty_config = "{}";
  std::string attestation =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
      R"("config":)" +
      desc("application/vnd.oci.image.config.v1+json", empty_config) + R"(,"layers":[)" +
      desc("application/vnd.in-toto+json", statement) + "]}";
  auto entry = [&](const std::string& body, const std::string& os, const std::string& arch) {
    auto d = desc("application/vnd.oci.image.manifest.v1+json", body);
    d.pop_back();
    return d + R"(,"platform":{"os":")" + os + R"(","architecture":")" + arch + R"("}})";
  };
  std::string index = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",)"
                      R"("manifests":[)" +
                      entry(image, "linux", "amd64") + "," +
                      entry(attestation, "unknown", "unknown") + "]}";
  std::map<std::string, std::string> docs{
      {sha256_digest(image), image}, {sha256_digest(attestation), attestation}, {"1", index}};
  std::map<std::string, std::string> blobs{{sha256_digest(config), config},
                                           {sha256_digest(layer), layer},
                                           {sha256_digest(statement), statement},
                                           {sha256_digest(empty_config), empty_config}};
  http_server server([&](const http_request& r) -> http_reply {
    auto name = r.target.substr(r.target.rfind('/') + 1);
    if (r.target.find("/manifests/") != std::string::npos) {
      auto body = docs.at(name);
      auto type = body == index ? "application/vnd.oci.image.index.v1+json"
                                : "application/vnd.oci.image.manifest.v1+json";
      return {200, {{"Content-Type", type}}, body};
    }
    return {200, {}, blobs.at(name)};
  });

  berth::test::temp_dir dir;
  content_store store(dir.path());
  pull_options o;
  o.registry = quick();
  o.all_platforms = true;
  auto pulled = pull_image(store, server.host() + "/lib/app:1", o);
  CHECK(pulled.target.digest == sha256_digest(index));
  REQUIRE(pulled.target.manifests.size() == 1);
  CHECK(pulled.target.manifests[0].platform == "linux/amd64");
  REQUIRE(pulled.target.attached.size() == 1);
  CHECK(pulled.target.attached[0].manifest.digest == sha256_digest(attestation));
  CHECK(pulled.target.attached[0].blobs.size() == 2);
  CHECK(store.has(sha256_digest(statement)));
  CHECK(store.has(sha256_digest(attestation)));
  // The same, read back from the store as an image record's target is.
  auto again = resolve_target(store, pulled.target.digest);
  CHECK(again.attached.size() == 1);
  CHECK(again.total_size == pulled.target.total_size);
}
