// The store actor against a real SQLite file: round trips, the error
// convention, persistence across actor systems, WAL, and an acknowledged
// write surviving a kill -9 of the writing process.
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <caf/all.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "actors/errors.hpp"
#include "actors/store/metadata_store.hpp"
#include "actors/store/store_actor.hpp"

using namespace berth;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

struct temp_dir {
  fs::path path;
  temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "berth-store-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~temp_dir() { fs::remove_all(path); }
  std::string root() const { return (path / "root").string(); }
};

struct store_config : caf::actor_system_config {
  store_config() { add_store_types(*this); }
};

// A fresh actor system with a store on `root`, and a blocking actor to ask it.
struct client {
  store_config cfg;
  caf::actor_system sys{cfg};
  store_actor store;
  caf::scoped_actor self{sys};

  explicit client(const std::string& root) : store(spawn_store(sys, root)) {}
  ~client() { self->send_exit(store, caf::exit_reason::user_shutdown); }

  template <class T, class... Ts>
  caf::expected<T> ask(Ts&&... xs) {
    std::optional<caf::expected<T>> out;
    self->request(store, 10s, std::forward<Ts>(xs)...)
        .receive([&](T& x) { out.emplace(std::move(x)); },
                 [&](caf::error& err) { out.emplace(std::move(err)); });
    return std::move(*out);
  }
};

container_record sample_container(std::string ns, std::string id) {
  container_record c;
  c.ns = std::move(ns);
  c.id = std::move(id);
  c.image = "docker.io/library/busybox:latest";
  c.runtime = "io.berth.runc.v1";
  c.runtime_options = R"({"binary":"runc","systemd_cgroup":false})";
  c.spec = R"({"ociVersion":"1.0.2","process":{"args":["sh"],"env":["A=1"]}})";
  c.snapshot_key = "default/web";
  c.labels = {{"app", "web"}, {"tier", "front"}};
  return c;
}

task_record sample_task(std::string ns, std::string id) {
  task_record t;
  t.ns = std::move(ns);
  t.id = std::move(id);
  t.shim_address = "unix:///run/berth/default/web/shim.sock";
  t.shim_pid = 4242;
  t.pid = 4243;
  t.status = task_status::running;
  return t;
}

// Seeds namespace "default" with container "web" and its task.
void seed(client& c) {
  REQUIRE(c.ask<namespace_record>(put_ns_atom::value, namespace_record{"default", {}, {}}));
  REQUIRE(c.ask<container_record>(put_cont_atom::value, sample_container("default", "web")));
  REQUIRE(c.ask<task_record>(put_task_atom::value, sample_task("default", "web")));
}

std::string pragma(const std::string& db_path, const char* sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
  std::string out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

std::string open_failure(const std::string& root) {
  store_config cfg;
  caf::actor_system sys{cfg};
  try {
    spawn_store(sys, root);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("namespaces round trip", "[store]") {
  temp_dir dir;
  client c{dir.root()};
  auto before = caf::make_timestamp();
  auto put = c.ask<namespace_record>(put_ns_atom::value,
                                     namespace_record{"default", {{"owner", "ops"}}, {}});
  REQUIRE(put);
  CHECK(put->name == "default");
  CHECK(put->labels == label_map{{"owner", "ops"}});
  CHECK(put->created >= before);

  auto got = c.ask<namespace_record>(get_ns_atom::value, std::string{"default"});
  REQUIRE(got);
  CHECK(*got == *put);

  REQUIRE(c.ask<namespace_record>(put_ns_atom::value, namespace_record{"a-team", {}, {}}));
  auto all = c.ask<std::vector<namespace_record>>(list_ns_atom::value);
  REQUIRE(all);
  REQUIRE(all->size() == 2);
  CHECK((*all)[0].name == "a-team");
  CHECK((*all)[1] == *put);

  auto gone = c.ask<namespace_record>(del_ns_atom::value, std::string{"default"});
  REQUIRE(gone);
  CHECK(*gone == *put);
  auto again = c.ask<namespace_record>(get_ns_atom::value, std::string{"default"});
  REQUIRE_FALSE(again);
  CHECK(error_code(again.error()) == errc::not_found);
}

TEST_CASE("containers round trip, and an update keeps created_at", "[store]") {
  temp_dir dir;
  client c{dir.root()};
  REQUIRE(c.ask<namespace_record>(put_ns_atom::value, namespace_record{"default", {}, {}}));
  REQUIRE(c.ask<namespace_record>(put_ns_atom::value, namespace_record{"other", {}, {}}));

  auto put = c.ask<container_record>(put_cont_atom::value, sample_container("default", "web"));
  REQUIRE(put);
  CHECK(put->created_at == put->updated_at);
  auto got =
      c.ask<container_record>(get_cont_atom::value, std::string{"default"}, std::string{"web"});
  REQUIRE(got);
  CHECK(*got == *put);
  CHECK(got->spec == sample_container("default", "web").spec);

  auto changed = *put;
  changed.image = "docker.io/library/alpine:3.18";
  changed.labels["tier"] = "back";
  auto updated = c.ask<container_record>(put_cont_atom::value, changed);
  REQUIRE(updated);
  CHECK(updated->created_at == put->created_at);
  CHECK(updated->updated_at > put->updated_at);
  got = c.ask<container_record>(get_cont_atom::value, std::string{"default"}, std::string{"web"});
  REQUIRE(got);
  CHECK(*got == *updated);
  CHECK(got->image == "docker.io/library/alpine:3.18");

  REQUIRE(c.ask<container_record>(put_cont_atom::value, sample_container("other", "db")));
  auto in_default =
      c.ask<std::vector<container_record>>(list_cont_atom::value, std::string{"default"});
  REQUIRE(in_default);
  REQUIRE(in_default->size() == 1);
  CHECK(in_default->front() == *updated);
  auto everywhere = c.ask<std::vector<container_record>>(list_cont_atom::value, std::string{});
  REQUIRE(everywhere);
  CHECK(everywhere->size() == 2);
  // The brief list: the same records, each without its spec.
  REQUIRE_FALSE(updated->spec.empty());
  auto brief =
      c.ask<std::vector<container_record>>(list_cont_brief_atom::value, std::string{"default"});
  REQUIRE(brief);
  REQUIRE(brief->size() == 1);
  CHECK(brief->front().spec.empty());
  auto without_spec = *updated;
  without_spec.spec.clear();
  CHECK(brief->front() == without_spec);
  auto in_unknown =
      c.ask<std::vector<container_record>>(list_cont_atom::value, std::string{"nothing"});
  REQUIRE(in_unknown);
  CHECK(in_unknown->empty());

  auto gone =
      c.ask<container_record>(del_cont_atom::value, std::string{"default"}, std::string{"web"});
  REQUIRE(gone);
  CHECK(*gone == *updated);
  auto again =
      c.ask<container_record>(get_cont_atom::value, std::string{"default"}, std::string{"web"});
  REQUIRE_FALSE(again);
  CHECK(error_code(again.error()) == errc::not_found);
}

TEST_CASE("tasks round trip, exit and acknowledged events", "[store]") {
  temp_dir dir;
  client c{dir.root()};
  seed(c);

  auto got = c.ask<task_record>(get_task_atom::value, std::string{"default"}, std::string{"web"});
  REQUIRE(got);
  CHECK(*got == sample_task("default", "web"));

  auto paused = *got;
  paused.status = task_status::paused;
  REQUIRE(c.ask<task_record>(put_task_atom::value, paused));
  got = c.ask<task_record>(get_task_atom::value, std::string{"default"}, std::string{"web"});
  REQUIRE(got);
  CHECK(got->status == task_status::paused);

  CHECK(c.ask<std::uint64_t>(ack_event_atom::value, std::string{"default"}, std::string{"web"},
                             std::uint64_t{7}) == std::uint64_t{7});
  // A late, lower acknowledgement does not move the mark back.
  CHECK(c.ask<std::uint64_t>(ack_event_atom::value, std::string{"default"}, std::string{"web"},
                             std::uint64_t{3}) == std::uint64_t{7});
  // Neither does a put of a record read before the acknowledgement.
  auto stale = c.ask<task_record>(put_task_atom::value, paused);
  REQUIRE(stale);
  CHECK(stale->last_acked_event == 7);

  task_exit exit{137, 9, caf::make_timestamp(), "killed"};
  auto exited =
      c.ask<task_record>(task_exit_atom::value, std::string{"default"}, std::string{"web"}, exit);
  REQUIRE(exited);
  CHECK(exited->status == task_status::stopped);
  CHECK(exited->exit_code == 137);
  CHECK(exited->exit_signal == 9);
  CHECK(exited->exited_at == exit.exited_at);
  CHECK(exited->exit_reason == "killed");
  CHECK(exited->pid == 4243);
  CHECK(exited->last_acked_event == 7);

  auto all = c.ask<std::vector<task_record>>(list_task_atom::value, std::string{"default"});
  REQUIRE(all);
  REQUIRE(all->size() == 1);
  CHECK(all->front() == *exited);

  auto gone = c.ask<task_record>(del_task_atom::value, std::string{"default"}, std::string{"web"});
  REQUIRE(gone);
  CHECK(*gone == *exited);
  auto again = c.ask<task_record>(get_task_atom::value, std::string{"default"}, std::string{"web"});
  REQUIRE_FALSE(again);
  CHECK(error_code(again.error()) == errc::not_found);
}

TEST_CASE("errors carry a berth code and name the object", "[store]") {
  temp_dir dir;
  client c{dir.root()};
  seed(c);
  auto ns = [](const char* s) { return std::string{s}; };

  SECTION("duplicate namespace") {
    auto dup = c.ask<namespace_record>(put_ns_atom::value, namespace_record{"default", {}, {}});
    REQUIRE_FALSE(dup);
    CHECK(error_code(dup.error()) == errc::already_exists);
    CHECK(error_message(dup.error()) == "namespace \"default\" already exists");
    CHECK(c.sys.render(dup.error()) == "already_exists: namespace \"default\" already exists");
  }
  SECTION("unknown objects") {
    auto n = c.ask<namespace_record>(get_ns_atom::value, ns("nope"));
    REQUIRE_FALSE(n);
    CHECK(error_code(n.error()) == errc::not_found);
    CHECK(error_message(n.error()) == "namespace \"nope\" not found");

    auto ct = c.ask<container_record>(get_cont_atom::value, ns("default"), ns("nope"));
    REQUIRE_FALSE(ct);
    CHECK(error_code(ct.error()) == errc::not_found);
    CHECK(error_message(ct.error()) == "container \"nope\" in namespace \"default\" not found");

    auto t = c.ask<task_record>(task_exit_atom::value, ns("default"), ns("nope"), task_exit{});
    REQUIRE_FALSE(t);
    CHECK(error_code(t.error()) == errc::not_found);
    CHECK(error_message(t.error()) == "task \"nope\" in namespace \"default\" not found");

    auto a =
        c.ask<std::uint64_t>(ack_event_atom::value, ns("default"), ns("nope"), std::uint64_t{1});
    REQUIRE_FALSE(a);
    CHECK(error_code(a.error()) == errc::not_found);

    auto orphan = c.ask<container_record>(put_cont_atom::value, sample_container("nope", "x"));
    REQUIRE_FALSE(orphan);
    CHECK(error_code(orphan.error()) == errc::not_found);
    CHECK(error_message(orphan.error()).find("namespace \"nope\" not found") != std::string::npos);

    auto taskless = c.ask<task_record>(put_task_atom::value, sample_task("default", "nope"));
    REQUIRE_FALSE(taskless);
    CHECK(error_code(taskless.error()) == errc::not_found);
    CHECK(error_message(taskless.error()).find("container \"nope\"") != std::string::npos);
  }
  SECTION("invalid arguments") {
    auto bad_ns = c.ask<namespace_record>(put_ns_atom::value, namespace_record{"../etc", {}, {}});
    REQUIRE_FALSE(bad_ns);
    CHECK(error_code(bad_ns.error()) == errc::invalid_argument);
    CHECK(error_message(bad_ns.error()).rfind("invalid namespace \"../etc\"", 0) == 0);

    auto bad_id = c.ask<container_record>(get_cont_atom::value, ns("default"), ns("a/b"));
    REQUIRE_FALSE(bad_id);
    CHECK(error_code(bad_id.error()) == errc::invalid_argument);
    CHECK(error_message(bad_id.error()).rfind("invalid container id \"a/b\"", 0) == 0);

    auto bad_list = c.ask<std::vector<task_record>>(list_task_atom::value, ns("a b"));
    REQUIRE_FALSE(bad_list);
    CHECK(error_code(bad_list.error()) == errc::invalid_argument);

    auto spec = sample_container("default", "web2");
    spec.spec = "{not json";
    auto bad_spec = c.ask<container_record>(put_cont_atom::value, spec);
    REQUIRE_FALSE(bad_spec);
    CHECK(error_code(bad_spec.error()) == errc::invalid_argument);
    CHECK(error_message(bad_spec.error()) ==
          "spec of container \"web2\" in namespace \"default\" is not valid JSON");

    auto label = sample_container("default", "web3");
    label.labels[""] = "x";
    auto bad_label = c.ask<container_record>(put_cont_atom::value, label);
    REQUIRE_FALSE(bad_label);
    CHECK(error_code(bad_label.error()) == errc::invalid_argument);

    auto statusless = sample_task("default", "web");
    statusless.status = task_status::unknown;
    auto bad_task = c.ask<task_record>(put_task_atom::value, statusless);
    REQUIRE_FALSE(bad_task);
    CHECK(error_code(bad_task.error()) == errc::invalid_argument);
  }
  SECTION("deletes that would orphan records") {
    auto ns_busy = c.ask<namespace_record>(del_ns_atom::value, ns("default"));
    REQUIRE_FALSE(ns_busy);
    CHECK(error_code(ns_busy.error()) == errc::failed_precondition);
    CHECK(error_message(ns_busy.error()) ==
          "cannot delete namespace \"default\": it still holds 1 container(s)");

    auto ct_busy = c.ask<container_record>(del_cont_atom::value, ns("default"), ns("web"));
    REQUIRE_FALSE(ct_busy);
    CHECK(error_code(ct_busy.error()) == errc::failed_precondition);
    CHECK(error_message(ct_busy.error()).find("still has a task") != std::string::npos);
  }
  // Nothing above changed what was stored.
  auto all = c.ask<std::vector<container_record>>(list_cont_atom::value, std::string{});
  REQUIRE(all);
  CHECK(all->size() == 1);
}

TEST_CASE("a new actor system on the same root sees everything written", "[store]") {
  temp_dir dir;
  container_record stored;
  task_record task;
  {
    client c{dir.root()};
    seed(c);
    auto ct =
        c.ask<container_record>(get_cont_atom::value, std::string{"default"}, std::string{"web"});
    REQUIRE(ct);
    stored = *ct;
    auto t = c.ask<task_record>(task_exit_atom::value, std::string{"default"}, std::string{"web"},
                                task_exit{1, 0, caf::make_timestamp(), ""});
    REQUIRE(t);
    task = *t;
  }
  client c{dir.root()};
  auto ns = c.ask<std::vector<namespace_record>>(list_ns_atom::value);
  REQUIRE(ns);
  REQUIRE(ns->size() == 1);
  CHECK(ns->front().name == "default");
  auto ct =
      c.ask<container_record>(get_cont_atom::value, std::string{"default"}, std::string{"web"});
  REQUIRE(ct);
  CHECK(*ct == stored);
  auto t = c.ask<task_record>(get_task_atom::value, std::string{"default"}, std::string{"web"});
  REQUIRE(t);
  CHECK(*t == task);
}

TEST_CASE("meta.db is in WAL mode, at the current schema version, private", "[store]") {
  temp_dir dir;
  { client c{dir.root()}; }
  auto db = dir.root() + "/meta.db";
  CHECK(pragma(db, "PRAGMA journal_mode") == "wal");
  CHECK(pragma(db, "PRAGMA user_version") == "3");
  struct stat st {};
  REQUIRE(::stat(db.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("an acknowledged write survives kill -9 of the writer", "[store]") {
  temp_dir dir;
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The writer: no Catch2 here, only exit codes. It never closes the store.
    ::close(ready[0]);
    try {
      client c{dir.root()};
      bool ok = c.ask<namespace_record>(put_ns_atom::value, namespace_record{"default", {}, {}}) &&
                c.ask<container_record>(put_cont_atom::value, sample_container("default", "web")) &&
                c.ask<task_record>(put_task_atom::value, sample_task("default", "web")) &&
                c.ask<std::uint64_t>(ack_event_atom::value, std::string{"default"},
                                     std::string{"web"}, std::uint64_t{42});
      char byte = ok ? 'y' : 'n';
      if (::write(ready[1], &byte, 1) != 1) ::_exit(3);
      for (;;) ::pause();  // acknowledged; wait to be killed
    } catch (...) {
      ::_exit(2);
    }
  }
  ::close(ready[1]);
  char byte = 0;
  REQUIRE(::read(ready[0], &byte, 1) == 1);
  ::close(ready[0]);
  REQUIRE(::kill(child, SIGKILL) == 0);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(byte == 'y');
  CHECK(WIFSIGNALED(status));

  client c{dir.root()};
  auto ct =
      c.ask<container_record>(get_cont_atom::value, std::string{"default"}, std::string{"web"});
  REQUIRE(ct);
  CHECK(ct->image == sample_container("default", "web").image);
  auto t = c.ask<task_record>(get_task_atom::value, std::string{"default"}, std::string{"web"});
  REQUIRE(t);
  CHECK(t->last_acked_event == 42);
  CHECK(t->status == task_status::running);
}

TEST_CASE("an unusable root fails naming the database and the reason", "[store]") {
  temp_dir dir;
  SECTION("root is a file") {
    std::ofstream{dir.path / "file"} << "x";
    auto root = (dir.path / "file").string();
    auto msg = open_failure(root);
    CHECK(msg.rfind("cannot open metadata store " + root + "/meta.db: ", 0) == 0);
  }
  SECTION("meta.db is not a database") {
    fs::create_directories(dir.root());
    std::ofstream{dir.root() + "/meta.db"} << std::string(4096, 'x');
    auto msg = open_failure(dir.root());
    CHECK(msg == "cannot open metadata store " + dir.root() + "/meta.db: file is not a database");
  }
  SECTION("meta.db from a newer berth") {
    { client c{dir.root()}; }
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open((dir.root() + "/meta.db").c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
    auto msg = open_failure(dir.root());
    CHECK(msg.find("meta.db: its schema version 99 is newer than this berth understands (3)") !=
          std::string::npos);
  }
  SECTION("no root configured") {
    CHECK(open_failure("").find("no root directory configured") != std::string::npos);
  }
}

TEST_CASE("records and errors survive CAF serialization", "[store]") {
  store_config cfg;
  caf::actor_system sys{cfg};
  auto ct = sample_container("default", "web");
  ct.created_at = caf::make_timestamp();
  task_record t = sample_task("default", "web");
  t.exited_at = caf::make_timestamp();
  t.last_acked_event = 99;
  auto msg =
      caf::make_message(namespace_record{"default", {{"k", "v"}}, caf::make_timestamp()}, ct, t,
                        std::vector<task_record>{t}, task_exit{1, 2, caf::make_timestamp(), "r"},
                        make_error(errc::not_found, "task \"x\" not found"));
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  REQUIRE_FALSE(sink(msg));
  caf::message copy;
  caf::binary_deserializer source{sys, buf};
  REQUIRE_FALSE(source(copy));
  REQUIRE(copy.match_elements<namespace_record, container_record, task_record,
                              std::vector<task_record>, task_exit, caf::error>());
  CHECK(copy.get_as<namespace_record>(0) == msg.get_as<namespace_record>(0));
  CHECK(copy.get_as<container_record>(1) == ct);
  CHECK(copy.get_as<task_record>(2) == t);
  CHECK(copy.get_as<std::vector<task_record>>(3).front() == t);
  CHECK(copy.get_as<task_exit>(4) == msg.get_as<task_exit>(4));
  auto& err = copy.get_as<caf::error>(5);
  CHECK(error_code(err) == errc::not_found);
  CHECK(error_message(err) == "task \"x\" not found");
}

TEST_CASE("the store keeps a small page cache: reading many large records holds little memory",
          "[store]") {
  temp_dir dir;
  auto before = sqlite3_memory_used();
  auto store = metadata_store::open(dir.root());
  (void)store->put_namespace(namespace_record{"default", {}, {}});
  for (int i = 0; i < 200; ++i) {
    auto c = sample_container("default", "c" + std::to_string(i));
    c.spec = R"({"ociVersion":"1.0.2","pad":")" + std::string(16 * 1024, 'x') + R"("})";
    REQUIRE(store->put_container(c));
  }
  auto all = store->list_containers("default");
  REQUIRE(all);
  CHECK(all->size() == 200);
  // 3.2 MB of specs went through; SQLite's default cache would keep 2 MiB of them.
  CHECK(sqlite3_memory_used() - before < 1024 * 1024);
}
