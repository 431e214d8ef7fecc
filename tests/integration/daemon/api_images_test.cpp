// Images through berthd: import an archive built from busybox-static (with
// progress), create containers from it, run them and read their root
// filesystem from inside, remove the image. Real overlay mounts, real runc.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "api_client.hpp"
#include "tests/support/berthd_process.hpp"
#include "tests/support/image_archives.hpp"

using namespace berth;
using namespace berth::test;
using Catch::Matchers::Contains;

namespace {

class counting_progress final : public wire::api::ImportProgressSink::Server {
 public:
  explicit counting_progress(int& n) : n_(n) {}
  kj::Promise<void> progress(ProgressContext) override {
    ++n_;
    return kj::READY_NOW;
  }

 private:
  int& n_;
};

std::string import(api_client& c, const std::string& archive, int* progress = nullptr) {
  auto req = c.berth().importImageRequest();
  auto r = req.initReq();
  r.setArchivePath(archive);
  if (progress) r.setProgress(kj::heap<counting_progress>(*progress));
  auto resp = c.send(req);
  return error_of(resp.getResp());
}

// Runs `args` in a container of `image`; returns its exit code and output.
int run_image(api_client& c, const std::string& id, const std::string& image,
              const std::vector<std::string>& args, const std::string& out_path,
              std::string& output) {
  auto req = c.berth().createContainerRequest();
  auto r = req.initReq();
  r.setId(id);
  r.setImage(image);
  auto a = r.initOptions().initProcess().initArgs(static_cast<unsigned>(args.size()));
  for (unsigned i = 0; i < args.size(); ++i) a.set(i, args[i]);
  auto created = c.send(req);
  REQUIRE(error_of(created.getResp()) == "");
  auto ct = c.berth().createTaskRequest();
  ct.initReq().setId(id);
  ct.getReq().initStdio().setStdout(out_path);
  auto task_resp = c.send(ct);
  REQUIRE(error_of(task_resp.getResp()) == "");
  auto task = task_resp.getTask();
  auto start = task.startRequest();
  start.initReq();
  REQUIRE(error_of(c.send(start).getResp()) == "");
  auto wait = task.waitRequest();
  wait.initReq();
  auto code = c.send(wait).getResp().getStatus().getCode();
  std::ifstream in(out_path);
  std::stringstream ss;
  ss << in.rdbuf();
  output = ss.str();
  return code;
}

}  // namespace

TEST_CASE("an imported image runs, and its layers make the root filesystem", "[images][daemon]") {
  berthd_process d;
  api_client c(d.address());
  temp_dir work("berth-images");
  auto single = work / "busybox.tar";
  write_oci_archive(single, busybox_image());
  int progress = 0;
  REQUIRE(import(c, single, &progress) == "");
  CHECK(progress > 0);
  auto list = c.berth().listImagesRequest();
  list.initReq();
  auto listed = c.send(list);
  REQUIRE(listed.getResp().getImages().size() == 1);
  CHECK(std::string(listed.getResp().getImages()[0].getName().cStr()) ==
        "docker.io/library/busybox:latest");

  std::string out;
  CHECK(run_image(c, "one", "busybox", {"sh", "-c", "ls /etc; exit 3"}, work / "one.out", out) ==
        3);
  CHECK_THAT(out, Contains("layer1.txt") && Contains("passwd"));

  auto three = work / "three.tar";
  auto spec = busybox_three_layer_image();
  spec.name = "docker.io/library/three:1";
  write_oci_archive(three, spec);
  REQUIRE(import(c, three) == "");
  CHECK(run_image(c, "layered", "three:1", {"sh", "-c", "ls /etc /opaque"}, work / "three.out",
                  out) == 0);
  CHECK_THAT(out, Contains("layer2.txt") && Contains("from-layer3.txt"));
  CHECK_THAT(out, !Contains("layer1.txt") && !Contains("from-layer1.txt"));

  // A second container of the same image shares its layers; deleting the
  // first leaves the second whole.
  CHECK(run_image(c, "two", "busybox", {"cat", "/etc/layer1.txt"}, work / "two.out", out) == 0);
  CHECK(c.remove("default", "one") == "");
  CHECK(run_image(c, "two-again", "busybox", {"ls", "/etc/layer1.txt"}, work / "two2.out", out) ==
        0);
  for (auto id : {"two", "layered", "two-again"}) CHECK(c.remove("default", id) == "");
  CHECK(shims_left(d.state()).empty());

  // Unknown images are refused; removing an image collects its blobs.
  std::string msg;
  auto req = c.berth().createContainerRequest();
  req.initReq().setId("ghost");
  req.getReq().setImage("nosuch:tag");
  req.getReq().initOptions().initProcess().initArgs(1).set(0, "true");
  CHECK_THAT(error_of(c.send(req).getResp()), Contains("nosuch"));
  auto blobs = [&] {
    size_t n = 0;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(d.root() + "/content/blobs", ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
      n += it->is_regular_file();
    return n;
  };
  auto before = blobs();
  auto rm = c.berth().removeImageRequest();
  rm.initReq().setName("three:1");
  CHECK(error_of(c.send(rm).getResp()) == "");
  CHECK(blobs() < before);
}

TEST_CASE("an image a container uses is not removed until the container is gone",
          "[images][daemon]") {
  berthd_process d;
  api_client c(d.address());
  temp_dir work("berth-images-inuse");
  auto archive = work / "busybox.tar";
  write_oci_archive(archive, busybox_image());
  REQUIRE(import(c, archive) == "");
  auto remove_image = [&](wire::ErrorCode* code = nullptr) {
    auto rm = c.berth().removeImageRequest();
    rm.initReq().setName("busybox");
    auto resp = c.send(rm);
    if (code) *code = resp.getResp().getError().getCode();
    return error_of(resp.getResp());
  };
  auto count = [](const std::string& dir, bool files) {
    size_t n = 0;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator(dir, ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
      n += files ? 1 : it->is_directory();
    return n;
  };
  auto blobs = d.root() + "/content/blobs/sha256";
  auto snapshots = d.root() + "/snapshots/overlay/snapshots";

  std::string out;
  CHECK(run_image(c, "web", "busybox", {"true"}, work / "web.out", out) == 0);
  auto db = c.berth().createContainerRequest();
  db.initReq().setId("db");
  db.getReq().setImage("busybox");
  db.getReq().initOptions().initProcess().initArgs(1).set(0, "true");
  REQUIRE(error_of(c.send(db).getResp()) == "");
  wire::ErrorCode code = wire::ErrorCode::OK;
  CHECK(remove_image(&code) ==
        "image docker.io/library/busybox:latest is in use by containers default/db, "
        "default/web; delete them first");
  CHECK(code == wire::ErrorCode::FAILED_PRECONDITION);

  // Nothing was touched: the image is listed and a container still runs on it.
  auto list = c.berth().listImagesRequest();
  list.initReq();
  CHECK(c.send(list).getResp().getImages().size() == 1);
  CHECK(run_image(c, "again", "busybox", {"cat", "/etc/layer1.txt"}, work / "again.out", out) == 0);
  CHECK(c.remove("default", "again") == "");
  CHECK(c.remove("default", "web") == "");

  // The store's records say who uses the image, so a restart changes nothing.
  REQUIRE(d.stop());
  d.start();
  api_client c2(d.address());
  auto rm = c2.berth().removeImageRequest();
  rm.initReq().setName("docker.io/library/busybox:latest");
  CHECK(error_of(c2.send(rm).getResp()) ==
        "image docker.io/library/busybox:latest is in use by container default/db; delete it "
        "first");

  auto del = c2.berth().deleteContainerRequest();  // db never had a task
  del.initReq().setId("db");
  CHECK(error_of(c2.send(del).getResp()) == "");
  auto rm2 = c2.berth().removeImageRequest();
  rm2.initReq().setName("busybox");
  CHECK(error_of(c2.send(rm2).getResp()) == "");
  // Blobs and the committed snapshots went with the last user.
  CHECK(count(blobs, true) == 0);
  CHECK(count(snapshots, false) == 0);
}
