#include "cli/images_command.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>

#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/display.hpp"
#include "cli/json_output.hpp"
#include "cli/registry_transfer.hpp"
#include "cli/table.hpp"

namespace berth::cli {
namespace {

// Shows import progress on stderr, on one line rewritten in place when
// stderr is a terminal, and as occasional lines otherwise (logs, CI).
class progress_printer final : public api::ImportProgressSink::Server {
 public:
  explicit progress_printer(std::string name) : name_(std::move(name)) {}

 protected:
  kj::Promise<void> progress(ProgressContext context) override {
    auto p = context.getParams().getProgress();
    std::string line = "importing " + name_ + ": " + human_size(p.getBytesDone());
    if (p.getBytesTotal() > 0) line += " / " + human_size(p.getBytesTotal());
    if (p.getLayersTotal() > 0) {
      line += ", layers " + std::to_string(p.getLayersDone()) + "/" +
              std::to_string(p.getLayersTotal());
    }
    if (isatty(STDERR_FILENO)) {
      std::cerr << "\r\033[K" << line << std::flush;
    } else if (p.getLayersDone() != last_layers_) {
      std::cerr << line << "\n";
    }
    last_layers_ = p.getLayersDone();
    return kj::READY_NOW;
  }

 private:
  std::string name_;
  uint32_t last_layers_ = UINT32_MAX;
};

struct import_options {
  std::string file, name, platform;
};

int import(daemon_client& client, const import_options& o) {
  // The daemon opens the archive itself: give it a path that does not
  // depend on our working directory.
  std::string path = std::filesystem::absolute(o.file).lexically_normal().string();
  auto req = client.berth().importImageRequest();
  auto r = req.initReq();
  r.setNamespace(client.ns());
  r.setArchivePath(path);
  r.setName(o.name);
  r.setPlatform(o.platform);
  r.setProgress(kj::heap<progress_printer>(std::filesystem::path(path).filename().string()));
  std::string what = "import " + o.file;
  // Imports take as long as the archive is big: no --timeout here.
  auto resp = client.wait_unbounded(req.send(), what);
  if (isatty(STDERR_FILENO)) std::cerr << "\r\033[K" << std::flush;
  check(resp.getResp(), what);
  for (auto image : resp.getResp().getImages()) {
    std::cout << "imported " << image.getName().cStr() << " (" << image.getDigest().cStr() << ")\n";
  }
  return 0;
}

// Receives the archive from berthd and writes it to the file.
class file_writer final : public api::ByteSink::Server {
 public:
  explicit file_writer(int fd) : fd_(fd) {}

 protected:
  kj::Promise<void> write(WriteContext context) override {
    auto data = context.getParams().getData();
    const kj::byte* p = data.begin();
    std::size_t left = data.size();
    while (left > 0) {
      ssize_t n = ::write(fd_, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) KJ_FAIL_SYSCALL("write", errno);
      p += n;
      left -= static_cast<std::size_t>(n);
    }
    return kj::READY_NOW;
  }

 private:
  int fd_;
};

int export_images(daemon_client& client, const std::string& file,
                  const std::vector<std::string>& names) {
  std::string what = "export to " + file;
  // Written beside the target and renamed at the end: a failed export leaves
  // no half archive under the name asked for.
  std::string temp = file + ".partial";
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw command_error(what, "cannot create " + temp + ": " + std::strerror(errno));
  auto req = client.berth().exportImagesRequest();
  auto r = req.initReq();
  r.setNamespace(client.ns());
  auto list = r.initNames(static_cast<unsigned>(names.size()));
  for (unsigned i = 0; i < names.size(); ++i) list.set(i, names[i]);
  r.setSink(kj::heap<file_writer>(fd));
  try {
    // As long as the images are big: no --timeout here.
    auto resp = client.wait_unbounded(req.send(), what);
    check(resp.getResp(), what);
    if (::fsync(fd) != 0 || ::close(fd) != 0)
      throw command_error(what, "cannot write " + temp + ": " + std::strerror(errno));
    fd = -1;
    if (::rename(temp.c_str(), file.c_str()) != 0)
      throw command_error(what, "cannot rename " + temp + ": " + std::strerror(errno));
    std::cout << "exported " << names.size() << (names.size() == 1 ? " image" : " images") << " to "
              << file << " (" << human_size(resp.getResp().getBytes()) << ")\n";
  } catch (...) {
    if (fd >= 0) ::close(fd);
    ::unlink(temp.c_str());
    throw;
  }
  return 0;
}

int list(daemon_client& client, bool quiet, const std::string& format) {
  auto req = client.berth().listImagesRequest();
  req.initReq().setNamespace(client.ns());
  auto resp = client.wait(req.send(), "list images");
  check(resp.getResp(), "list images");
  auto images = resp.getResp().getImages();
  if (format == kFormatJson) {
    std::cout << to_json_array(images).dump(2) << "\n";
  } else if (quiet) {
    for (auto i : images) std::cout << i.getName().cStr() << "\n";
  } else {
    table out({"REF", "TYPE", "DIGEST", "SIZE", "LABELS"});
    for (auto i : images) {
      out.add({i.getName().cStr(), i.getMediaType().cStr(), i.getDigest().cStr(),
               human_size(i.getSize()), labels_text(i.getLabels())});
    }
    out.print(std::cout);
  }
  return 0;
}

int remove(daemon_client& client, const std::vector<std::string>& refs) {
  int rc = 0;
  for (const auto& ref : refs) {
    try {
      auto req = client.berth().removeImageRequest();
      auto r = req.initReq();
      r.setNamespace(client.ns());
      r.setName(ref);
      auto resp = client.wait(req.send(), "remove image " + ref);
      check(resp.getResp(), "remove image " + ref);
      std::cout << ref << "\n";  // ctr prints each removed reference
    } catch (const command_error& e) {
      print_error(e);
      rc = 1;
    }
  }
  return rc;
}

int tag(daemon_client& client, const std::string& source, const std::string& target) {
  auto req = client.berth().tagImageRequest();
  auto r = req.initReq();
  r.setNamespace(client.ns());
  r.setSource(source);
  r.setTarget(target);
  std::string what = "tag image " + source + " as " + target;
  auto resp = client.wait(req.send(), what);
  check(resp.getResp(), what);
  std::cout << target << "\n";
  return 0;
}

}  // namespace

void add_images_command(CLI::App& app, verb_action& chosen) {
  auto* i = app.add_subcommand("images", "manage images");
  i->alias("i");
  i->alias("image");
  i->require_subcommand(1);
  {
    auto o = std::make_shared<import_options>();
    auto* v = i->add_subcommand("import", "import a docker-archive or OCI-layout tar");
    v->add_option("FILE", o->file, "the archive")->required()->check(CLI::ExistingFile);
    v->add_option("--name", o->name, "reference to give the image instead of the archive's tags");
    v->add_option("--platform", o->platform, "platform to import (default linux/amd64)");
    v->callback([&chosen, o] { chosen.run = [o](daemon_client& cl) { return import(cl, *o); }; });
  }
  {
    struct export_options {
      std::string file;
      std::vector<std::string> names;
    };
    auto o = std::make_shared<export_options>();
    auto* v = i->add_subcommand("export", "write images to an OCI image layout tar");
    v->add_option("FILE", o->file, "the archive to write")->required();
    v->add_option("REF", o->names, "images to put in it")->required();
    v->callback([&chosen, o] {
      chosen.run = [o](daemon_client& cl) { return export_images(cl, o->file, o->names); };
    });
  }
  {
    auto o = std::make_shared<push_options>();
    auto* v = i->add_subcommand("push", "push an image to a registry");
    v->add_option("REF", o->target, "where to, with a tag, e.g. host:5000/app:1.0")->required();
    v->add_option("LOCAL_REF", o->local, "the local image to push (default: REF)");
    v->add_flag("--plain-http", o->plain_http, "talk HTTP, not HTTPS, to the registry");
    v->add_option("-u,--user", o->user, "USER[:PASSWORD] for the registry, as for pull");
    v->callback(
        [&chosen, o] { chosen.run = [o](daemon_client& cl) { return push_image(cl, *o); }; });
  }
  {
    auto o = std::make_shared<pull_options>();
    auto* v = i->add_subcommand("pull", "pull an image from its registry");
    v->add_option("REF", o->reference, "image reference, e.g. busybox or host:5000/app:1.0")
        ->required();
    v->add_flag("--plain-http", o->plain_http, "talk HTTP, not HTTPS, to the registry");
    v->add_option("-u,--user", o->user,
                  "USER[:PASSWORD] for the registry (asked for when left out); default: "
                  "$DOCKER_CONFIG/config.json or ~/.docker/config.json, else anonymous");
    auto* platform =
        v->add_option("--platform", o->platform, "platform to pull (default linux/amd64)");
    v->add_flag("--all-platforms", o->all_platforms,
                "pull every platform of a multi-platform image; the image names its index")
        ->excludes(platform);
    v->callback(
        [&chosen, o] { chosen.run = [o](daemon_client& cl) { return pull_image(cl, *o); }; });
  }
  {
    struct list_options {
      bool quiet = false;
      std::string format = kFormatTable;
    };
    auto o = std::make_shared<list_options>();
    auto* v = i->add_subcommand("ls", "list images");
    v->alias("list");
    v->add_flag("-q,--quiet", o->quiet, "print only the references");
    v->add_option("--format", o->format, "table or json")
        ->check(CLI::IsMember({kFormatTable, kFormatJson}));
    v->callback([&chosen, o] {
      chosen.run = [o](daemon_client& cl) { return list(cl, o->quiet, o->format); };
    });
  }
  {
    auto refs = std::make_shared<std::vector<std::string>>();
    auto* v = i->add_subcommand("rm", "remove images");
    v->alias("delete");
    v->alias("del");
    v->add_option("REF", *refs, "image references")->required();
    v->callback(
        [&chosen, refs] { chosen.run = [refs](daemon_client& cl) { return remove(cl, *refs); }; });
  }
  {
    struct tag_options {
      std::string source, target;
    };
    auto o = std::make_shared<tag_options>();
    auto* v = i->add_subcommand("tag", "give an image another reference");
    v->add_option("SOURCE", o->source, "existing reference")->required();
    v->add_option("TARGET", o->target, "new reference")->required();
    v->callback([&chosen, o] {
      chosen.run = [o](daemon_client& cl) { return tag(cl, o->source, o->target); };
    });
  }
}

}  // namespace berth::cli
