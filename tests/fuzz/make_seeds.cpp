// berth-fuzz-seeds: writes the generated part of the fuzz targets' seed
// corpora, as committed in tests/fuzz/corpus/ (the image_config and
// runc_log seeds are plain text, written by hand):
//   api_request/     real requests of the CLI's verbs, framed as on the socket
//   archive_import/  tiny OCI-layout and docker archives, plain, gzip and zstd
//   layer_unpack/    tiny layers: files, links, whiteouts; plain, gzip and zstd
//
//   berth-fuzz-seeds OUTDIR      (tests/fuzz/README.md: regenerating the seeds)
// Built by the main build (g++), beside the tests.
#include <archive.h>
#include <archive_entry.h>
#include <capnp/message.h>
#include <capnp/schema.h>
#include <capnp/serialize.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>

#include "schema/api.capnp.h"
#include "tests/support/image_archives.hpp"

namespace {

using namespace berth;
using namespace berth::test;
using wire::api::Berth;
using wire::api::Task;
namespace fs = std::filesystem;

void write_file(const fs::path& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// ---- api_request: byte 0 picks the method (fuzz_api_request.cpp) -----------------

template <class Iface>
std::uint8_t method_byte(const char* name) {
  auto methods = capnp::Schema::from<Iface>().getMethods();
  for (unsigned i = 0; i < methods.size(); ++i)
    if (methods[i].getProto().getName() == name)
      return static_cast<std::uint8_t>(i | (std::is_same_v<Iface, Task> ? 0x80 : 0));
  throw std::runtime_error(std::string("no method ") + name);
}

template <class Iface>
void request(const fs::path& dir, const char* method, const std::string& file,
             capnp::MessageBuilder& m) {
  auto words = capnp::messageToFlatArray(m);
  auto bytes = words.asBytes();
  std::string out(1, static_cast<char>(method_byte<Iface>(method)));
  out.append(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
  write_file(dir / file, out);
}

void api_seeds(const fs::path& dir) {
  {
    capnp::MallocMessageBuilder m;
    m.initRoot<Berth::VersionParams>().initReq();
    request<Berth>(dir, "version", "version", m);
  }
  {
    capnp::MallocMessageBuilder m;
    auto r = m.initRoot<Berth::CreateNamespaceParams>().initReq();
    r.setName("team-a");
    auto l = r.initLabels(1);
    l[0].setKey("owner");
    l[0].setValue("alice");
    request<Berth>(dir, "createNamespace", "create-namespace", m);
  }
  {
    // berth c create -e A=1 -l app=web --user 1000:1000 busybox web sh -c 'echo hi'
    capnp::MallocMessageBuilder m;
    auto r = m.initRoot<Berth::CreateContainerParams>().initReq();
    r.setNamespace("default");
    r.setId("web");
    r.setImage("busybox");
    auto l = r.initLabels(2);
    l[0].setKey("app");
    l[0].setValue("web");
    l[1].setKey("tier");
    l[1].setValue("front");
    auto o = r.initOptions();
    auto p = o.initProcess();
    auto args = p.initArgs(3);
    args.set(0, "sh");
    args.set(1, "-c");
    args.set(2, "echo hi");
    auto env = p.initEnv(2);
    env.set(0, "A=1");
    env.set(1, "PATH=/usr/bin:/bin");
    p.setCwd("/srv");
    p.initUser().setName("1000:1000");
    o.setMemoryLimit(64 << 20);
    o.setCpus(0.5);
    o.setPidsLimit(100);
    o.setLogMaxSize(1 << 20);
    o.setLogMaxFiles(3);
    request<Berth>(dir, "createContainer", "create-container-image", m);
  }
  {
    // berth c create --rootfs /srv/root --mount ... --net-host -t ctr sh
    capnp::MallocMessageBuilder m;
    auto r = m.initRoot<Berth::CreateContainerParams>().initReq();
    r.setId("ctr");
    r.setRuntime("io.berth.runc.v1");
    auto o = r.initOptions();
    auto p = o.initProcess();
    p.initArgs(1).set(0, "sh");
    p.setTerminal(true);
    auto u = p.initUser();
    u.setUid(1000);
    u.setGid(100);
    auto g = u.initAdditionalGids(2);
    g.set(0, 10);
    g.set(1, 20);
    auto mounts = o.initMounts(1);
    mounts[0].setType("bind");
    mounts[0].setSource("/srv/data");
    mounts[0].setDestination("/data");
    auto mo = mounts[0].initOptions(2);
    mo.set(0, "rbind");
    mo.set(1, "ro");
    o.setRootfs("/srv/root");
    o.setNetHost(true);
    o.setReadonlyRootfs(true);
    o.setHostname("box");
    o.setSeccomp("unconfined");
    request<Berth>(dir, "createContainer", "create-container-rootfs", m);
  }
  {
    capnp::MallocMessageBuilder m;
    auto r = m.initRoot<Berth::CreateTaskParams>().initReq();
    r.setNamespace("default");
    r.setId("web");
    auto s = r.initStdio();
    s.setStdin("/run/user/1000/web.in");
    s.setStdout("/run/user/1000/web.out");
    s.setStderr("/run/user/1000/web.err");
    s.setOpenStdin(true);
    request<Berth>(dir, "createTask", "create-task", m);
  }
  {
    capnp::MallocMessageBuilder m;
    auto r = m.initRoot<Berth::ImportImageParams>().initReq();
    r.setArchivePath("/tmp/busybox.tar");
    r.setName("example.com/team/busybox:1.36");
    r.setPlatform("linux/arm64/v8");
    request<Berth>(dir, "importImage", "import-image", m);
  }
  {
    capnp::MallocMessageBuilder m;
    auto r = m.initRoot<Berth::TagImageParams>().initReq();
    r.setSource("busybox");
    r.setTarget("localhost:5000/busybox@sha256:" + std::string(64, 'a'));
    request<Berth>(dir, "tagImage", "tag-image", m);
  }
  {
    capnp::MallocMessageBuilder m;
    auto r = m.initRoot<Berth::SubscribeParams>().initReq();
    r.initFilter().setTopicPrefix("/tasks/");
    r.setSince(0);
    request<Berth>(dir, "subscribe", "subscribe", m);
  }
  {
    // berth t exec -e X=1 --cwd /tmp web sh1 ls -l
    capnp::MallocMessageBuilder m;
    auto r = m.initRoot<Task::ExecParams>().initReq();
    r.setExecId("sh1");
    auto spec = r.initSpec();
    auto args = spec.initArgs(2);
    args.set(0, "ls");
    args.set(1, "-l");
    spec.initEnv(1).set(0, "X=1");
    spec.setCwd("/tmp");
    r.initStdio().setStdout("/run/user/1000/sh1.out");
    request<Task>(dir, "exec", "exec-args", m);
  }
  {
    capnp::MallocMessageBuilder m;
    auto r = m.initRoot<Task::ExecParams>().initReq();
    r.setExecId("dbg");
    r.initSpec().setOciJson(
        R"({"args":["sh"],"env":["PATH=/bin"],"cwd":"/","user":{"uid":0,"gid":0},)"
        R"("terminal":true,"consoleSize":{"height":24,"width":80},)"
        R"("capabilities":{"bounding":["CAP_CHOWN","CAP_KILL"],"effective":["CAP_KILL"]}})");
    request<Task>(dir, "exec", "exec-oci-json", m);
  }
  {
    capnp::MallocMessageBuilder m;
    auto r = m.initRoot<Task::UpdateParams>().initReq().initResources();
    r.setMemoryLimit(128 << 20);
    r.setCpuQuota(50000);
    r.setCpuPeriod(100000);
    r.setPidsLimit(-1);
    request<Task>(dir, "update", "update", m);
  }
  {
    capnp::MallocMessageBuilder m;
    auto r = m.initRoot<Task::KillParams>().initReq();
    r.setSignal(15);
    r.setAll(true);
    request<Task>(dir, "kill", "kill", m);
  }
}

// ---- archives and layers --------------------------------------------------------

std::string compress(const std::string& data, layer_compression c) {
  archive* a = archive_write_new();
  archive_write_set_format_raw(a);
  if (c == layer_compression::gzip) archive_write_add_filter_gzip(a);
  if (c == layer_compression::zstd) archive_write_add_filter_zstd(a);
  archive_write_set_bytes_in_last_block(a, 1);
  std::string out;
  auto append = [](archive*, void* client, const void* buf, size_t n) -> la_ssize_t {
    static_cast<std::string*>(client)->append(static_cast<const char*>(buf), n);
    return static_cast<la_ssize_t>(n);
  };
  archive_write_open(a, &out, nullptr, append, nullptr);
  archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, "data");
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
  archive_write_header(a, e);
  archive_write_data(a, data.data(), data.size());
  archive_entry_free(e);
  if (archive_write_close(a) != ARCHIVE_OK)
    throw std::runtime_error(std::string("compress: ") + archive_error_string(a));
  archive_write_free(a);
  return out;
}

image_layer tiny_layer(layer_compression c) {
  return {{{tar_entry::dir, "bin", {}, {}, 0755},
           {tar_entry::file, "bin/sh", "#!fake shell\n", {}, 0755},
           {tar_entry::symlink, "bin/ls", {}, "sh"},
           {tar_entry::dir, "etc", {}, {}, 0755},
           {tar_entry::file, "etc/passwd",
            "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n"},
           {tar_entry::file, "etc/group", "root:x:0:\nstaff:x:50:alice\n"}},
          c};
}

image_spec tiny_image(layer_compression c) {
  image_spec s;
  s.layers = {tiny_layer(c)};
  s.cmd = {"sh"};
  s.user = "alice";
  s.working_dir = "/";
  s.name = "docker.io/library/tiny:1";
  return s;
}

void archive_seeds(const fs::path& dir, const fs::path& scratch) {
  auto path = scratch / "a.tar";
  write_oci_archive(path, tiny_image(layer_compression::gzip));
  write_file(dir / "oci.tar", read_file(path));
  write_file(dir / "oci.tar.gz", compress(read_file(path), layer_compression::gzip));

  auto two = tiny_image(layer_compression::zstd);
  two.layers.push_back({{{tar_entry::file, "etc/.wh.group"}, {tar_entry::file, "etc/motd", "hi\n"}},
                        layer_compression::none});
  write_oci_archive(path, two);
  write_file(dir / "oci-two-layers.tar", read_file(path));

  auto arm = tiny_image(layer_compression::none);
  arm.architecture = "arm64";
  write_oci_multiplatform_archive(path, {tiny_image(layer_compression::none), arm});
  write_file(dir / "oci-index.tar", read_file(path));

  write_docker_archive(path, tiny_image(layer_compression::none));
  write_file(dir / "docker.tar", read_file(path));
  write_file(dir / "docker.tar.zst", compress(read_file(path), layer_compression::zstd));
}

void layer_seeds(const fs::path& dir) {
  write_file(dir / "files.tar", make_tar(tiny_layer(layer_compression::none).entries));
  write_file(dir / "files.tar.gz",
             make_tar(tiny_layer(layer_compression::none).entries, layer_compression::gzip));
  std::vector<tar_entry> links = {{tar_entry::dir, "data", {}, {}, 0755},
                                  {tar_entry::file, "data/a.txt", "a\n"},
                                  {tar_entry::hardlink, "data/b.txt", {}, "data/a.txt"},
                                  {tar_entry::symlink, "data/up", {}, "../.."},
                                  {tar_entry::symlink, "abs", {}, "/etc/passwd"},
                                  {tar_entry::fifo, "data/pipe"},
                                  {tar_entry::dir, "tmp", {}, {}, 01777}};
  write_file(dir / "links.tar.zst", make_tar(links, layer_compression::zstd));
  std::vector<tar_entry> whiteouts = {
      {tar_entry::dir, "etc", {}, {}, 0755},
      {tar_entry::file, "etc/.wh.passwd"},
      {tar_entry::dir, "opaque", {}, {}, 0755},
      {tar_entry::file, "opaque/.wh..wh..opq"},
      {tar_entry::file, "opaque/new.txt", "new\n", {}, 0600, 1000, 1000}};
  write_file(dir / "whiteouts.tar", make_tar(whiteouts));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: berth-fuzz-seeds OUTDIR\n";
    return 2;
  }
  try {
    fs::path out = argv[1];
    for (const char* t : {"api_request", "archive_import", "layer_unpack"})
      fs::create_directories(out / t);
    auto scratch = fs::temp_directory_path() / ("berth-fuzz-seeds-" + std::to_string(::getpid()));
    fs::create_directories(scratch);
    api_seeds(out / "api_request");
    archive_seeds(out / "archive_import", scratch);
    layer_seeds(out / "layer_unpack");
    fs::remove_all(scratch);
  } catch (const std::exception& e) {
    std::cerr << "berth-fuzz-seeds: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
