#include "actors/node/node_actor.hpp"

#include <spdlog/spdlog.h>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>

#include "actors/daemon/stdio_relay.hpp"
#include "actors/errors.hpp"
#include "actors/node/archive_receiver.hpp"
#include "actors/node/log_cursor_actor.hpp"
#include "schema/identifier.hpp"

namespace berth {
namespace {

using namespace std::chrono_literals;
using node_tick_atom = caf::atom_constant<caf::atom("nodeTick")>;

// How often peers are said hello to (their handles refreshed, a silent one
// found down) and down ones reconnected; and how long each try may take.
constexpr auto kTick = 1s;
constexpr auto kPeerDeadline = 3s;

// One node this one knows, keyed by its published address.
struct peer {
  std::optional<node_info> info;  // the last hello's answer
  node_actor remote;
  bool up = false;
  bool connecting = false;
  // Whether this node opened the connection (it joined the peer, or learned
  // of it from a join's answer) and so reconnects when it breaks; a peer that
  // joined this node reconnects itself, and joins again.
  bool initiator = false;
  std::string why = "not reached yet";
};

struct node_state {
  node_config cfg;
  std::string address;  // cfg.endpoint as HOST:PORT
  std::shared_ptr<const berth_handles> handles;
  std::map<std::string, peer> peers;
  std::uint64_t relays = 0;  // stdio relays opened, naming their directories
  static inline const char* name = "berth.node";
};

using node_self = caf::typed_event_based_actor<
    caf::replies_to<node_hello_atom, std::string>::with<node_info>,
    caf::replies_to<node_join_atom, peer_address, caf::actor>::with<std::vector<peer_address>>,
    caf::replies_to<node_lookup_atom, std::string>::with<node_info>,
    caf::replies_to<node_list_atom>::with<std::vector<node_status>>,
    caf::replies_to<node_open_log_atom, std::string, std::string,
                    std::uint64_t>::with<log_cursor_actor>,
    caf::replies_to<node_open_stdio_atom, stdio_paths, caf::actor>::with<relayed_stdio>,
    caf::replies_to<node_receive_archive_atom>::with<caf::actor>, caf::reacts_to<node_tick_atom>>;
using node_pointer = caf::stateful_actor<node_state, node_self>*;

// Where relayed stdio's FIFOs are made, a directory per relay. A relay ends
// with its berthd, so what a previous one left is removed at start.
std::string relay_dir(const std::string& state_dir) {
  return state_dir + "/.relay";
}

// Where archives sent from other nodes wait for their import (a disk, not
// the state's tmpfs); what a previous berthd left is removed at start too.
std::string upload_dir(const std::string& root_dir) {
  return root_dir + "/uploads";
}

void make_empty(const std::string& dir) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (ec) spdlog::warn("cannot clear {}: {}", dir, ec.message());
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    spdlog::warn("cannot create {}: {}", dir, std::strerror(errno));
}

node_info own_info(node_pointer self) {
  auto now = self->state.handles->get();
  return node_info{self->state.cfg.name,
                   kActorMessageSet,
                   self->state.address,
                   now.registry,
                   now.images,
                   now.events,
                   caf::actor_cast<caf::actor>(self)};
}

std::string peer_name(const std::string& address, const peer& p) {
  return p.info ? p.info->name : address;
}

void mark_down(node_pointer self, const std::string& address, std::string why) {
  auto it = self->state.peers.find(address);
  if (it == self->state.peers.end()) return;
  auto& p = it->second;
  if (p.up)
    spdlog::warn("node {}: peer {} at {} is down: {}", self->state.cfg.name, peer_name(address, p),
                 address, why);
  p.up = false;
  p.connecting = false;
  p.why = std::move(why);
}

void learn(node_pointer self, const std::string& address);

// The answer to our join: every node the peer knows, which we join too.
void join_through(node_pointer self, const node_actor& remote) {
  self->request(remote, kPeerDeadline, node_join_atom::value,
                peer_address{self->state.cfg.name, self->state.address},
                caf::actor_cast<caf::actor>(self))
      .then(
          [self](const std::vector<peer_address>& known) {
            for (auto& p : known) learn(self, p.address);
          },
          [](const caf::error&) {});  // the next hello finds out
}

void hello(node_pointer self, const std::string& address, node_actor remote, bool first) {
  self->request(remote, kPeerDeadline, node_hello_atom::value,
                std::string{self->state.cfg.endpoint.message_set})
      .then(
          [self, address, remote, first](node_info& info) {
            auto& p = self->state.peers[address];
            bool was_up = p.up;
            p.info = std::move(info);
            p.remote = remote;
            p.up = true;
            p.connecting = false;
            p.why.clear();
            if (!was_up)
              spdlog::info("node {}: peer {} at {} is up", self->state.cfg.name, p.info->name,
                           address);
            if (first) {
              self->monitor(remote);
              if (p.initiator) join_through(self, remote);
            }
          },
          [self, address](const caf::error& err) { mark_down(self, address, error_message(err)); });
}

// Reaches a peer through the middleman (TLS unless insecure), without
// blocking this actor: the middleman actor answers when connected.
void connect(node_pointer self, const std::string& address) {
  auto& p = self->state.peers[address];
  if (p.connecting) return;
  p.connecting = true;
  actor_endpoint ep;
  try {
    ep = parse_actor_address(address, "peer address");
  } catch (const std::exception& e) {
    mark_down(self, address, e.what());
    return;
  }
  auto& sys = self->system();
  auto mm = self->state.cfg.endpoint.insecure ? sys.middleman().actor_handle()
                                              : sys.openssl_manager().actor_handle();
  self->request(mm, kPeerDeadline, caf::connect_atom::value, ep.host, ep.port)
      .then(
          [self, address](const caf::node_id&, caf::strong_actor_ptr& ptr,
                          const std::set<std::string>&) {
            if (!ptr) {
              mark_down(self, address, "no node actor published there");
              return;
            }
            hello(self, address, caf::actor_cast<node_actor>(ptr), true);
          },
          [self, address](const caf::error& err) {
            mark_down(self, address, self->system().render(err));
          });
}

void learn(node_pointer self, const std::string& address) {
  if (address == self->state.address || address.empty()) return;
  if (self->state.peers.count(address) != 0) return;
  self->state.peers[address].initiator = true;
  connect(self, address);
}

// Counts a node's containers and tasks for `nodes ls`; a node that does not
// answer in time is listed with zeros and why.
struct listing {
  std::vector<node_status> rows;
  size_t pending = 0;
  caf::typed_response_promise<std::vector<node_status>> rp;
  void done() {
    if (--pending == 0) rp.deliver(std::move(rows));
  }
};

void count(node_pointer self, std::shared_ptr<listing> l, size_t row, const registry_actor& r) {
  l->pending += 2;
  self->request(r, kPeerDeadline, list_cont_atom::value, std::string{})
      .then(
          [l, row](const std::vector<container_record>& xs) {
            l->rows[row].containers = static_cast<std::uint32_t>(xs.size());
            l->done();
          },
          [l, row](const caf::error& err) {
            l->rows[row].why = error_message(err);
            l->done();
          });
  self->request(r, kPeerDeadline, list_task_atom::value, std::string{})
      .then(
          [l, row](const std::vector<task_info>& xs) {
            l->rows[row].tasks = static_cast<std::uint32_t>(xs.size());
            l->done();
          },
          [l, row](const caf::error& err) {
            l->rows[row].why = error_message(err);
            l->done();
          });
}

node_self::behavior_type node_behavior(node_pointer self, node_config cfg,
                                       std::shared_ptr<const berth_handles> handles) {
  self->state.address = host_port(cfg.endpoint);
  self->state.cfg = std::move(cfg);
  self->state.handles = std::move(handles);
  self->set_down_handler([self](const caf::down_msg& m) {
    for (auto& [address, p] : self->state.peers)
      if (p.remote && p.remote.address() == m.source) {
        p.remote = nullptr;
        mark_down(self, address, "connection lost (" + self->system().render(m.reason) + ")");
      }
  });
  for (auto& address : self->state.cfg.join) learn(self, address);
  self->delayed_send(self, kTick, node_tick_atom::value);
  return {
      [self](node_hello_atom, const std::string& peer_set) -> caf::result<node_info> {
        if (peer_set != kActorMessageSet)
          return make_error(errc::failed_precondition, "node " + self->state.cfg.name + " speaks " +
                                                           kActorMessageSet + ", the peer speaks " +
                                                           peer_set +
                                                           ": run the same berth version on both");
        auto info = own_info(self);
        if (!info.registry)
          return make_error(errc::unavailable,
                            "node " + self->state.cfg.name + " is not serving yet");
        return info;
      },
      [self](node_join_atom, const peer_address& joiner,
             const caf::actor& remote) -> std::vector<peer_address> {
        if (!joiner.address.empty() && joiner.address != self->state.address && remote) {
          // Over the joiner's own connection; a rejoin after its restart
          // replaces the handle of the run before.
          auto& p = self->state.peers[joiner.address];
          p.initiator = false;
          p.connecting = true;
          hello(self, joiner.address, caf::actor_cast<node_actor>(remote), true);
        }
        std::vector<peer_address> known{{self->state.cfg.name, self->state.address}};
        for (auto& [address, p] : self->state.peers)
          known.push_back({peer_name(address, p), address});
        return known;
      },
      [self](node_lookup_atom, const std::string& name) -> caf::result<node_info> {
        if (name == self->state.cfg.name) return own_info(self);
        std::string names = self->state.cfg.name;
        for (auto& [address, p] : self->state.peers) {
          if (p.info && p.info->name == name) {
            if (!p.up)
              return make_error(errc::unavailable,
                                "node " + name + " at " + address + " is down: " + p.why);
            return *p.info;
          }
          names += ", " + peer_name(address, p);
        }
        return make_error(errc::not_found,
                          "no node " + name + " in this cluster (nodes: " + names + ")");
      },
      [self](node_list_atom) -> caf::result<std::vector<node_status>> {
        auto l = std::make_shared<listing>();
        l->rp = self->make_response_promise<std::vector<node_status>>();
        l->pending = 1;  // released below, once every count is asked for
        l->rows.push_back({self->state.cfg.name, self->state.address, true, "", 0, 0});
        std::vector<std::pair<size_t, registry_actor>> asks{{0, own_info(self).registry}};
        for (auto& [address, p] : self->state.peers) {
          l->rows.push_back({peer_name(address, p), address, p.up, p.why, 0, 0});
          if (p.up && p.info) asks.emplace_back(l->rows.size() - 1, p.info->registry);
        }
        for (auto& [row, registry] : asks)
          if (registry) count(self, l, row, registry);
        auto rp = l->rp;
        l->done();
        return rp;
      },
      [self](node_open_log_atom, const std::string& ns, const std::string& id,
             std::uint64_t tail) -> caf::result<log_cursor_actor> {
        // Both become a path: only identifiers, as the registry accepts them.
        for (auto [what, value] : {std::pair{"namespace", &ns}, std::pair{"task id", &id}})
          if (auto why = check_identifier(what, *value))
            return make_error(errc::invalid_argument, *why);
        if (self->state.cfg.state_dir.empty())
          return make_error(errc::not_implemented,
                            "node " + self->state.cfg.name + " keeps no task logs");
        return spawn_log_cursor(
            self->system(), self->state.cfg.state_dir + "/" + ns + "/" + id + "/task.log", tail);
      },
      [self](node_open_stdio_atom, const stdio_paths& wanted,
             caf::actor client_end) -> caf::result<relayed_stdio> {
        if (self->state.cfg.state_dir.empty())
          return make_error(errc::not_implemented, "node " + self->state.cfg.name +
                                                       " cannot relay stdio (no state directory)");
        if (!client_end) return make_error(errc::invalid_argument, "stdio relay: no client end");
        auto dir =
            relay_dir(self->state.cfg.state_dir) + "/" + std::to_string(++self->state.relays);
        auto opened = open_task_stdio_end(self->system(), dir, wanted, std::move(client_end));
        if (!opened) return opened.error();
        return relayed_stdio{std::move(opened->first), std::move(opened->second)};
      },
      [self](node_receive_archive_atom) -> caf::result<caf::actor> {
        if (self->state.cfg.root_dir.empty())
          return make_error(errc::not_implemented,
                            "node " + self->state.cfg.name + " cannot receive archives (no root)");
        auto receiver = spawn_archive_receiver(self->system(), upload_dir(self->state.cfg.root_dir),
                                               self->state.cfg.free_space_reserve,
                                               self->state.handles->images());
        if (!receiver) return receiver.error();
        return *receiver;
      },
      [self](node_tick_atom) {
        for (auto& [address, p] : self->state.peers) {
          if (p.connecting) continue;
          if (p.initiator && !p.up)
            connect(self, address);
          else if (p.remote)  // up, or silent over a connection still open
            hello(self, address, p.remote, false);
        }
        self->delayed_send(self, kTick, node_tick_atom::value);
      },
  };
}

}  // namespace

std::optional<std::string> check_node_name(const std::string& name) {
  static const std::string allowed =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
  if (name.empty() || name.size() > 63 || !std::isalnum(static_cast<unsigned char>(name[0])) ||
      name.find_first_not_of(allowed) != std::string::npos)
    return "invalid node name \"" + name +
           "\": 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit";
  return std::nullopt;
}

node_actor spawn_node(caf::actor_system& sys, node_config cfg,
                      std::shared_ptr<const berth_handles> handles) {
  if (!cfg.state_dir.empty()) make_empty(relay_dir(cfg.state_dir));
  if (!cfg.root_dir.empty()) make_empty(upload_dir(cfg.root_dir));
  return caf::actor_cast<node_actor>(sys.spawn(node_behavior, std::move(cfg), std::move(handles)));
}

}  // namespace berth
