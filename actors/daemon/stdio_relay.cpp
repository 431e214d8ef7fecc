#include "actors/daemon/stdio_relay.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "actors/errors.hpp"
#include "shim/core/client_path.hpp"

namespace berth {
namespace {

using namespace std::chrono_literals;

// Between an end and its own threads.
using relay_read_atom = caf::atom_constant<caf::atom("relayRead")>;
using relay_wrote_atom = caf::atom_constant<caf::atom("relayWrote")>;
using relay_ended_atom = caf::atom_constant<caf::atom("relayEnded")>;
using relay_shut_atom = caf::atom_constant<caf::atom("relayShut")>;
using relay_late_atom = caf::atom_constant<caf::atom("relayLate")>;

constexpr std::size_t kChunk = 64 * 1024;
constexpr int kChunksInFlight = 4;  // per stream
constexpr auto kDrainDeadline = 5s;
constexpr auto kInputDeadline = 2s;

std::uint8_t number(relay_stream s) {
  return static_cast<std::uint8_t>(s);
}

// One FIFO (or file) of an end.
struct relay_fd {
  relay_stream stream;
  int fd = -1;
  bool outgoing = false;  // read here and sent to the peer; else written here
  // How a reader knows its input ended. A FIFO whose writer opened it after
  // us reports a hang-up when the writer closes; the client's stdin FIFO was
  // opened by the client first, and Linux then reports no hang-up, so its
  // reader also looks for "no writer left" (read() returning 0) every 100 ms.
  bool eof_without_hangup = false;
};

// What an end shares with its threads. The threads own it too, so it (and the
// descriptors) outlives the actor until the last thread has seen `stopped`.
struct relay_shared {
  std::mutex m;
  std::condition_variable cv;
  bool stopped = false;
  int stop[2] = {-1, -1};  // readable once stopped: wakes threads in poll
  std::map<std::uint8_t, int> credits;
  std::map<std::uint8_t, std::deque<std::optional<std::string>>> queues;  // nullopt: close
  std::vector<int> fds;

  relay_shared() {
    if (::pipe2(stop, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category());
  }
  ~relay_shared() {
    for (int fd : fds)
      if (fd >= 0) ::close(fd);
    ::close(stop[0]);
    ::close(stop[1]);
  }
  void halt() {
    {
      std::lock_guard<std::mutex> lock(m);
      if (stopped) return;
      stopped = true;
    }
    cv.notify_all();
    (void)!::write(stop[1], "x", 1);
  }
};

// Waits for `fd` to be ready for `events`; false once the end stopped.
bool wait_for(relay_shared& shared, int fd, short events, int timeout_ms, bool& timed_out) {
  for (;;) {
    struct pollfd p[2] = {{fd, events, 0}, {shared.stop[0], POLLIN, 0}};
    int n = ::poll(p, 2, timeout_ms);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || p[1].revents != 0) return false;
    timed_out = n == 0;
    return true;
  }
}

void read_stream(std::shared_ptr<relay_shared> shared, relay_fd f, caf::actor end) {
  auto s = number(f.stream);
  std::string buf(kChunk, '\0');
  for (;;) {
    bool timed_out = false;
    if (!wait_for(*shared, f.fd, POLLIN, f.eof_without_hangup ? 100 : -1, timed_out)) return;
    ssize_t n = ::read(f.fd, buf.data(), buf.size());
    if (n > 0) {
      std::unique_lock<std::mutex> lock(shared->m);
      shared->cv.wait(lock, [&] { return shared->stopped || shared->credits[s] > 0; });
      if (shared->stopped) return;
      --shared->credits[s];
      lock.unlock();
      caf::anon_send(end, relay_read_atom::value, s, buf.substr(0, static_cast<std::size_t>(n)));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    // n == 0: no writer. Before the first writer came that is no end (a FIFO
    // opened ahead of the shim); after it, poll said hang-up.
    if (n == 0 && !f.eof_without_hangup && timed_out) continue;
    break;
  }
  caf::anon_send(end, relay_ended_atom::value, s);
}

// Writes everything or gives up on a destination that went away (the client
// ended): the rest is dropped, as a shim drops output for a gone client.
void write_chunk(relay_shared& shared, int fd, const std::string& data, bool& broken) {
  std::size_t done = 0;
  while (!broken && done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      bool timed_out = false;
      if (!wait_for(shared, fd, POLLOUT, -1, timed_out)) return;
      continue;
    }
    broken = true;
  }
}

void write_stream(std::shared_ptr<relay_shared> shared, relay_fd f, caf::actor end) {
  auto s = number(f.stream);
  bool broken = false;
  for (;;) {
    std::optional<std::string> item;
    {
      std::unique_lock<std::mutex> lock(shared->m);
      shared->cv.wait(lock, [&] { return shared->stopped || !shared->queues[s].empty(); });
      if (shared->stopped) return;
      item = std::move(shared->queues[s].front());
      shared->queues[s].pop_front();
    }
    if (!item) {
      ::close(f.fd);
      {
        std::lock_guard<std::mutex> lock(shared->m);
        for (auto& fd : shared->fds)
          if (fd == f.fd) fd = -1;
      }
      caf::anon_send(end, relay_shut_atom::value, s);
      return;
    }
    write_chunk(*shared, f.fd, *item, broken);
    caf::anon_send(end, relay_wrote_atom::value, s);
  }
}

struct relay_state {
  std::shared_ptr<relay_shared> shared;
  std::vector<relay_fd> fds;
  caf::actor peer;
  bool started = false;
  std::string dir;  // the task's end: its FIFOs' directory, removed at the end
  std::map<std::uint8_t, std::deque<caf::response_promise>> writes;
  std::map<std::uint8_t, caf::response_promise> closes;
  std::map<std::uint8_t, bool> finished;  // stream -> its end was seen through
  std::vector<caf::response_promise> drained, input_done;
  static inline const char* name = "berth.stdio_relay";
};

using relay_self = caf::stateful_actor<relay_state>;

const relay_fd* find(relay_self* self, std::uint8_t s) {
  for (auto& f : self->state.fds)
    if (number(f.stream) == s) return &f;
  return nullptr;
}

// stdout and stderr decide when an end is done; stdin only when it is all.
bool essential(relay_self* self, const relay_fd& f) {
  if (f.stream != relay_stream::in) return true;
  for (auto& g : self->state.fds)
    if (g.stream != relay_stream::in) return false;
  return true;
}

void deliver_all(std::vector<caf::response_promise>& ps) {
  for (auto& p : ps) p.deliver(true);
  ps.clear();
}

void finish(relay_self* self) {
  deliver_all(self->state.drained);
  deliver_all(self->state.input_done);
  self->state.shared->halt();
  self->quit();
}

void mark_finished(relay_self* self, std::uint8_t s) {
  self->state.finished[s] = true;
  if (s == number(relay_stream::in)) deliver_all(self->state.input_done);
  for (auto& f : self->state.fds)
    if (essential(self, f) && !self->state.finished[number(f.stream)]) return;
  finish(self);
}

void start(relay_self* self) {
  if (self->state.started || !self->state.peer) return;
  self->state.started = true;
  self->monitor(self->state.peer);
  auto me = caf::actor_cast<caf::actor>(self);
  for (auto& f : self->state.fds) {
    if (f.outgoing)
      std::thread(read_stream, self->state.shared, f, me).detach();
    else
      std::thread(write_stream, self->state.shared, f, me).detach();
  }
}

caf::behavior relay_end(relay_self* self, std::shared_ptr<relay_shared> shared,
                        std::vector<relay_fd> fds, caf::actor peer, std::string dir) {
  self->state.shared = std::move(shared);
  self->state.fds = std::move(fds);
  for (auto& f : self->state.fds) self->state.shared->credits[number(f.stream)] = kChunksInFlight;
  self->state.peer = std::move(peer);
  self->state.dir = std::move(dir);
  self->attach_functor([shared = self->state.shared, dir = self->state.dir] {
    shared->halt();
    if (dir.empty()) return;
    for (const char* name : {"/stdin", "/stdout", "/stderr"}) ::unlink((dir + name).c_str());
    ::rmdir(dir.c_str());
  });
  // The other end is gone (its node, or its client's API call): nothing
  // more will come or be taken.
  self->set_down_handler([self](caf::down_msg& msg) {
    if (msg.source != self->state.peer.address()) return;
    finish(self);
  });
  start(self);
  return {
      [self](relay_peer_atom, caf::actor peer) {
        self->state.peer = std::move(peer);
        start(self);
      },
      // This side's threads.
      [self](relay_read_atom, std::uint8_t s, std::string& data) {
        self->request(self->state.peer, caf::infinite, relay_data_atom::value, s, std::move(data))
            .then(
                [self, s](bool) {
                  auto& shared = *self->state.shared;
                  {
                    std::lock_guard<std::mutex> lock(shared.m);
                    ++shared.credits[s];
                  }
                  shared.cv.notify_all();
                },
                [self](caf::error&) { finish(self); });
      },
      [self](relay_ended_atom, std::uint8_t s) {
        self->request(self->state.peer, caf::infinite, relay_eof_atom::value, s)
            .then([self, s](bool) { mark_finished(self, s); },
                  [self](caf::error&) { finish(self); });
      },
      [self](relay_wrote_atom, std::uint8_t s) {
        auto& q = self->state.writes[s];
        if (q.empty()) return;
        q.front().deliver(true);
        q.pop_front();
      },
      [self](relay_shut_atom, std::uint8_t s) {
        auto it = self->state.closes.find(s);
        if (it != self->state.closes.end()) {
          it->second.deliver(true);
          self->state.closes.erase(it);
        }
        mark_finished(self, s);
      },
      // The peer.
      [self](relay_data_atom, std::uint8_t s, std::string& data) -> caf::result<bool> {
        auto* f = find(self, s);
        if (!f || f->outgoing || self->state.finished[s]) return true;  // not ours to write
        auto& shared = *self->state.shared;
        {
          std::lock_guard<std::mutex> lock(shared.m);
          shared.queues[s].push_back(std::move(data));
        }
        shared.cv.notify_all();
        auto p = self->make_response_promise();
        self->state.writes[s].push_back(p);
        return p;
      },
      [self](relay_eof_atom, std::uint8_t s) -> caf::result<bool> {
        auto* f = find(self, s);
        if (!f || f->outgoing || self->state.finished[s] || self->state.closes.count(s))
          return true;
        auto& shared = *self->state.shared;
        {
          std::lock_guard<std::mutex> lock(shared.m);
          shared.queues[s].push_back(std::nullopt);
        }
        shared.cv.notify_all();
        auto p = self->make_response_promise();
        self->state.closes.emplace(s, p);
        return p;
      },
      // The API beside the client.
      [self](relay_drained_atom) -> caf::result<bool> {
        auto p = self->make_response_promise();
        self->state.drained.push_back(p);
        self->delayed_send(self, kDrainDeadline, relay_late_atom::value, false);
        return p;
      },
      [self](relay_input_done_atom) -> caf::result<bool> {
        if (!find(self, number(relay_stream::in)) || self->state.finished[number(relay_stream::in)])
          return true;
        auto p = self->make_response_promise();
        self->state.input_done.push_back(p);
        self->delayed_send(self, kInputDeadline, relay_late_atom::value, true);
        return p;
      },
      [self](relay_late_atom, bool input) {
        // Past the deadline the caller goes on: what is still open is a
        // process's business (a daemon left in the container holding stdout).
        deliver_all(input ? self->state.input_done : self->state.drained);
      },
      [self](relay_close_atom) { finish(self); },
  };
}

caf::actor spawn_end(caf::actor_system& sys, std::vector<relay_fd> fds, caf::actor peer,
                     std::string dir) {
  auto shared = std::make_shared<relay_shared>();
  for (auto& f : fds) shared->fds.push_back(f.fd);
  return sys.spawn(relay_end, std::move(shared), std::move(fds), std::move(peer), std::move(dir));
}

caf::error failed(const std::string& what) {
  return make_error(errc::internal, "cannot relay stdio: " + what + ": " + std::strerror(errno));
}

void close_all(std::vector<relay_fd>& fds) {
  for (auto& f : fds)
    if (f.fd >= 0) ::close(f.fd);
}

}  // namespace

caf::expected<std::pair<stdio_paths, caf::actor>> open_task_stdio_end(caf::actor_system& sys,
                                                                      const std::string& dir,
                                                                      const stdio_paths& wanted,
                                                                      caf::actor peer) {
  if (::mkdir(dir.c_str(), 0700) != 0) return failed("cannot create " + dir);
  stdio_paths paths;
  paths.terminal = wanted.terminal;
  paths.open_stdin = wanted.open_stdin;
  std::vector<relay_fd> fds;
  auto make = [&](relay_stream s, const char* name, std::string& path) -> bool {
    path = dir + "/" + name;
    if (::mkfifo(path.c_str(), 0600) != 0) return false;
    // stdout and stderr: read here, opened ahead of the shim (so their
    // writer's close is a hang-up). stdin: held read-write, so the open
    // never waits for the shim, and closed once the client's ended.
    int flags = (s == relay_stream::in ? O_RDWR : O_RDONLY) | O_NONBLOCK | O_CLOEXEC;
    int fd = ::open(path.c_str(), flags);
    if (fd < 0) return false;
    fds.push_back(relay_fd{s, fd, s != relay_stream::in, false});
    return true;
  };
  bool ok = (wanted.in.empty() || make(relay_stream::in, "stdin", paths.in)) &&
            (wanted.out.empty() || make(relay_stream::out, "stdout", paths.out)) &&
            (wanted.err.empty() || make(relay_stream::err, "stderr", paths.err));
  if (!ok) {
    auto why = failed("cannot make its FIFOs in " + dir);
    close_all(fds);
    for (const char* name : {"/stdin", "/stdout", "/stderr"}) ::unlink((dir + name).c_str());
    ::rmdir(dir.c_str());
    return why;
  }
  auto end = spawn_end(sys, std::move(fds), std::move(peer), dir);
  return std::make_pair(std::move(paths), std::move(end));
}

caf::expected<caf::actor> open_client_stdio_end(caf::actor_system& sys, const stdio_paths& client) {
  std::vector<relay_fd> fds;
  try {
    using shim::client_path_use;
    if (!client.in.empty()) {
      auto f = shim::open_client_path("stdin", client.in, client_path_use::read);
      fds.push_back(relay_fd{relay_stream::in, f.fd, true, true});
    }
    if (!client.out.empty()) {
      auto f = shim::open_client_path("stdout", client.out, client_path_use::write);
      fds.push_back(relay_fd{relay_stream::out, f.fd, false, false});
    }
    if (!client.err.empty()) {
      auto f = shim::open_client_path("stderr", client.err, client_path_use::write);
      fds.push_back(relay_fd{relay_stream::err, f.fd, false, false});
    }
  } catch (const std::exception& e) {
    close_all(fds);
    return make_error(errc::invalid_argument, e.what());
  }
  // Regular files block on nothing; FIFOs came non-blocking.
  return spawn_end(sys, std::move(fds), caf::actor{}, "");
}

}  // namespace berth
