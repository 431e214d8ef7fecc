#include "actors/daemon/api_server.hpp"

#include <fcntl.h>

#include <capnp/rpc-twoparty.h>
#include <kj/compat/tls.h>
#include <netdb.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <cerrno>
#include <cstring>
#include <functional>
#include <future>
#include <stdexcept>
#include <vector>

#include "actors/daemon/api_bridge.hpp"
#include "actors/daemon/api_connection.hpp"
#include "actors/daemon/api_convert.hpp"
#include "actors/daemon/api_import.hpp"
#include "actors/daemon/api_peer.hpp"
#include "actors/daemon/api_stdio_relay.hpp"
#include "actors/daemon/api_subscription.hpp"
#include "actors/daemon/api_task.hpp"
#include "actors/daemon/api_transfer.hpp"
#include "actors/daemon/client_paths.hpp"
#include "actors/errors.hpp"
#include "actors/images/image_reference.hpp"
#include "actors/runtime/wire_convert.hpp"
#include "schema/tls_endpoint.hpp"

namespace berth {
namespace {

using wire::api::Berth;
namespace ac = api_convert;

// Fills a list builder from a vector, one ac::fill per element.
template <class List, class Xs>
void fill_all(List list, const Xs& xs) {
  for (unsigned i = 0; i < xs.size(); ++i) ac::fill(list[i], xs[i]);
}

void fill_image(wire::api::ImageInfo::Builder b, const image_record& x) {
  b.setName(x.name);
  b.setDigest(x.target);
  b.setMediaType(x.media_type);
  b.setSize(x.size);
  ac::fill(b.initLabels(static_cast<unsigned>(x.labels.size())), x.labels);
  b.setCreatedAt(ac::to_ns(x.created_at));
}

template <class Builder>
void fill_images(Builder resp, const std::vector<image_record>& xs) {
  auto list = resp.initImages(static_cast<unsigned>(xs.size()));
  for (unsigned i = 0; i < xs.size(); ++i) fill_image(list[i], xs[i]);
}

std::string ns_of(capnp::Text::Reader ns) {
  return ns.size() ? std::string(ns.cStr()) : std::string("default");
}

// ---- the Berth interface ------------------------------------------------------------

class berth_service final : public Berth::Server {
 public:
  // `log_node`: the node actor of the node whose actors these are, when that
  // is not this berthd (its task logs are read there).
  berth_service(api_bridge bridge, std::shared_ptr<const berth_handles> actors,
                const api_server_config& cfg, kj::Own<call_gate> gate, api_peer peer,
                caf::actor log_node = {})
      : gate_(kj::mv(gate)),
        bridge_(with_caller(std::move(bridge))),
        actors_(std::move(actors)),
        cfg_(cfg),
        peer_(std::move(peer)),
        log_node_(log_node                 ? std::move(log_node)
                  : cfg_.state_dir.empty() ? caf::actor_cast<caf::actor>(cfg_.node)
                                           : caf::actor{}) {
    // Another node's tasks: stdio the client names here is relayed there.
    if (log_node_) {
      relays_ = std::make_shared<stdio_relays>();
      relays_->node = log_node_;
    }
  }

  ~berth_service() noexcept(false) {
    caf::anon_send_exit(bridge_.caller, caf::exit_reason::user_shutdown);
  }

  kj::Promise<void> version(VersionContext ctx) override {
    auto resp = ctx.getResults().initResp();
    resp.setVersion(cfg_.version);
    resp.setRevision("berthd");
    return kj::READY_NOW;
  }

  kj::Promise<void> listNamespaces(ListNamespacesContext ctx) override {
    return call<std::vector<namespace_record>>(
        ctx,
        [](auto resp, const std::vector<namespace_record>& ns) {
          auto list = resp.initNamespaces(static_cast<unsigned>(ns.size()));
          for (unsigned i = 0; i < ns.size(); ++i) {
            list[i].setName(ns[i].name);
            ac::fill(list[i].initLabels(static_cast<unsigned>(ns[i].labels.size())), ns[i].labels);
          }
        },
        list_ns_atom::value);
  }
  kj::Promise<void> createNamespace(CreateNamespaceContext ctx) override {
    auto r = ctx.getParams().getReq();
    namespace_record rec{r.getName().cStr(), ac::from_wire(r.getLabels()), {}};
    return call<namespace_record>(
        ctx, [](auto, const namespace_record&) {}, put_ns_atom::value, std::move(rec));
  }
  kj::Promise<void> deleteNamespace(DeleteNamespaceContext ctx) override {
    std::string name = ctx.getParams().getReq().getName().cStr();
    return call<namespace_record>(
        ctx, [](auto, const namespace_record&) {}, del_ns_atom::value, std::move(name));
  }

  kj::Promise<void> createContainer(CreateContainerContext ctx) override {
    return call<container_record>(
        ctx, [](auto resp, const container_record& c) { ac::fill(resp.initContainer(), c); },
        ac::from_wire(ctx.getParams().getReq()));
  }
  kj::Promise<void> getContainer(GetContainerContext ctx) override {
    auto r = ctx.getParams().getReq();
    return call<container_record>(
        ctx, [](auto resp, const container_record& c) { ac::fill(resp.initContainer(), c); },
        get_cont_atom::value, std::string(r.getNamespace().cStr()), std::string(r.getId().cStr()));
  }
  kj::Promise<void> listContainers(ListContainersContext ctx) override {
    auto r = ctx.getParams().getReq();
    auto fill = [](auto resp, const std::vector<container_record>& cs) {
      fill_all(resp.initContainers(static_cast<unsigned>(cs.size())), cs);
    };
    if (r.getOmitSpec())
      return call<std::vector<container_record>>(ctx, fill, list_cont_brief_atom::value,
                                                 ns_of(r.getNamespace()));
    return call<std::vector<container_record>>(ctx, fill, list_cont_atom::value,
                                               ns_of(r.getNamespace()));
  }
  kj::Promise<void> updateContainer(UpdateContainerContext ctx) override {
    auto r = ctx.getParams().getReq();
    container_update u{r.getNamespace().cStr(), r.getId().cStr(), ac::from_wire(r.getLabels())};
    return call<container_record>(
        ctx, [](auto resp, const container_record& c) { ac::fill(resp.initContainer(), c); },
        std::move(u));
  }
  kj::Promise<void> deleteContainer(DeleteContainerContext ctx) override {
    auto r = ctx.getParams().getReq();
    return call<container_record>(
        ctx, [](auto, const container_record&) {}, del_cont_atom::value,
        std::string(r.getNamespace().cStr()), std::string(r.getId().cStr()));
  }

  kj::Promise<void> createTask(CreateTaskContext ctx) override {
    auto r = ctx.getParams().getReq();
    task_create req;
    req.ns = r.getNamespace().cStr();
    req.id = r.getId().cStr();
    req.stdio = convert::from_wire(r.getStdio());
    req.checkpoint = r.getCheckpoint().cStr();
    req.start = r.getStart();
    auto refused = check_stdio(peer_, req.stdio);
    if (!refused && !req.checkpoint.empty())
      refused = check_checkpoint_path(peer_, req.checkpoint, checkpoint_use::restore);
    if (refused) {
      ac::fill(ctx.getResults().initResp().initError(), refused);
      ctx.getResults().setTask(make_failed_task_capability(refused));
      return kj::READY_NOW;
    }
    if (relays_ && names_paths(req.stdio)) {
      auto key = stdio_relays::key(req.ns, req.id, "");
      return open_stdio_relay(bridge_, relays_, key, req.stdio)
          .then([this, ctx, key, req = std::move(req)](
                    caf::expected<stdio_paths> there) mutable -> kj::Promise<void> {
            if (!there) {
              auto results = ctx.getResults();
              ac::fill(results.initResp().initError(), there.error());
              results.setTask(make_failed_task_capability(there.error()));
              return kj::READY_NOW;
            }
            req.stdio = std::move(*there);
            return create_task(ctx, std::move(req), key);
          });
    }
    return create_task(ctx, std::move(req), "");
  }

  // `relay`: the key of the stdio relay opened for it, ended if it fails.
  kj::Promise<void> create_task(CreateTaskContext ctx, task_create req, std::string relay) {
    return ask<task_handle>(bridge_, actors_->registry(), std::move(req))
        .then([this, ctx, relay](caf::expected<task_handle> h) mutable {
          auto results = ctx.getResults();
          auto resp = results.initResp();
          if (!h) {
            if (!relay.empty()) drop_stdio_relay(*relays_, relay);
            ac::fill(resp.initError(), h.error());
            results.setTask(make_failed_task_capability(h.error()));
            return;
          }
          resp.setPid(h->info.pid);
          results.setTask(task_capability(*h));
        });
  }
  kj::Promise<void> getTask(GetTaskContext ctx) override {
    auto r = ctx.getParams().getReq();
    return call<task_handle>(
        ctx,
        [this](auto resp, const task_handle& h) {
          resp.setTask(task_capability(h));
          ac::fill(resp.initInfo(), h.info);
        },
        get_task_atom::value, std::string(r.getNamespace().cStr()), std::string(r.getId().cStr()));
  }
  kj::Promise<void> listTasks(ListTasksContext ctx) override {
    return call<std::vector<task_info>>(
        ctx,
        [](auto resp, const std::vector<task_info>& ts) {
          fill_all(resp.initTasks(static_cast<unsigned>(ts.size())), ts);
        },
        list_task_atom::value, ns_of(ctx.getParams().getReq().getNamespace()));
  }

  kj::Promise<void> importImage(ImportImageContext ctx) override {
    auto r = ctx.getParams().getReq();
    import_request ir;
    ir.ns = ns_of(r.getNamespace());
    ir.platform = r.getPlatform().size() ? r.getPlatform().cStr() : "linux/amd64";
    ir.name = r.getName().cStr();
    auto archive = open_client_archive(peer_, r.getArchivePath().cStr());
    if (!archive) {
      ac::fill(ctx.getResults().initResp().initError(), archive.error());
      return kj::READY_NOW;
    }
    ir.archive_path = archive->path();
    std::uint64_t key = 0;
    if (r.hasProgress()) {
      key = bridge_.io->new_key();
      auto forwarder = bridge_.sys->spawn<caf::hidden>(progress_forwarder, bridge_.io, key);
      bridge_.io->keep(key, kj::heap<progress_pump>(r.getProgress()));
      ir.progress_to = forwarder;
    }
    auto forwarder = ir.progress_to;
    // Another node's images actor cannot open a path here: the bytes go there.
    auto keeper = relays_ ? bridge_.sys->spawn<caf::hidden>(archive_uploader, std::move(*archive),
                                                            relays_->node)
                          : bridge_.sys->spawn<caf::hidden>(archive_keeper, std::move(*archive),
                                                            actors_->images());
    return ask<std::vector<image_record>>(bridge_, keeper, img_import_atom::value, std::move(ir))
        .then([this, ctx, key, forwarder](caf::expected<std::vector<image_record>> got) mutable {
          if (key) bridge_.io->drop(key);
          if (forwarder) caf::anon_send_exit(forwarder, caf::exit_reason::user_shutdown);
          auto resp = ctx.getResults().initResp();
          if (!got) {
            ac::fill(resp.initError(), got.error());
            return;
          }
          fill_images(resp, *got);
        });
  }
  kj::Promise<void> pullImage(PullImageContext ctx) override {
    auto r = ctx.getParams().getReq();
    pull_request pr;
    pr.ns = ns_of(r.getNamespace());
    pr.reference = r.getReference().cStr();
    pr.platform = r.getPlatform().size() ? r.getPlatform().cStr() : "linux/amd64";
    pr.all_platforms = r.getAllPlatforms();
    pr.plain_http = r.getPlainHttp();
    pr.username = r.getUsername().cStr();
    pr.password = r.getPassword().cStr();
    return transfer<image_record>(
        ctx, img_pull_atom::value, std::move(pr), r,
        [](auto resp, const image_record& x) { fill_image(resp.initImage(), x); });
  }
  kj::Promise<void> pushImage(PushImageContext ctx) override {
    auto r = ctx.getParams().getReq();
    push_request pr;
    pr.ns = ns_of(r.getNamespace());
    pr.name = r.getName().cStr();
    pr.target = r.getTarget().cStr();
    pr.plain_http = r.getPlainHttp();
    pr.username = r.getUsername().cStr();
    pr.password = r.getPassword().cStr();
    return transfer<std::string>(ctx, img_push_atom::value, std::move(pr), r,
                                 [](auto resp, const std::string& d) { resp.setDigest(d); });
  }
  kj::Promise<void> exportImages(ExportImagesContext ctx) override {
    auto r = ctx.getParams().getReq();
    if (!r.hasSink()) {
      ac::fill(ctx.getResults().initResp().initError(),
               make_error(errc::invalid_argument, "exportImages needs a sink for the archive"));
      return kj::READY_NOW;
    }
    std::vector<std::string> names;
    for (auto n : r.getNames()) names.emplace_back(n.cStr());
    return ask<std::string>(bridge_, actors_->images(), img_export_atom::value,
                            ns_of(r.getNamespace()), std::move(names))
        .then(
            [ctx, sink = r.getSink()](caf::expected<std::string> got) mutable -> kj::Promise<void> {
              auto resp = ctx.getResults().initResp();
              if (!got) {
                ac::fill(resp.initError(), got.error());
                return kj::READY_NOW;
              }
              // The file is ours alone from here: gone from the directory at once.
              int fd = ::open(got->c_str(), O_RDONLY | O_CLOEXEC);
              ::unlink(got->c_str());
              if (fd < 0) {
                ac::fill(resp.initError(),
                         make_error(errc::internal, "cannot open the exported archive: " +
                                                        std::string(std::strerror(errno))));
                return kj::READY_NOW;
              }
              auto file = std::make_shared<images::unique_fd>(fd);
              return send_file(kj::mv(sink), file, 0).then([ctx](std::int64_t total) mutable {
                ctx.getResults().getResp().setBytes(total);
              });
            });
  }
  kj::Promise<void> listImages(ListImagesContext ctx) override {
    return ask_images<std::vector<image_record>>(
        ctx, [](auto resp, const std::vector<image_record>& xs) { fill_images(resp, xs); },
        img_list_atom::value, ns_of(ctx.getParams().getReq().getNamespace()));
  }
  kj::Promise<void> getImage(GetImageContext ctx) override {
    try {
      auto r = ctx.getParams().getReq();
      return ask_images<image_record>(
          ctx, [](auto resp, const image_record& x) { fill_image(resp.initImage(), x); },
          img_get_atom::value, ns_of(r.getNamespace()), image_name(r.getName()));
    } catch (const std::exception& e) {
      ac::fill(ctx.getResults().initResp().initError(),
               make_error(errc::invalid_argument, e.what()));
      return kj::READY_NOW;
    }
  }
  kj::Promise<void> removeImage(RemoveImageContext ctx) override {
    try {
      auto r = ctx.getParams().getReq();
      return ask_images<image_record>(
          ctx, [](auto, const image_record&) {}, img_remove_atom::value, ns_of(r.getNamespace()),
          image_name(r.getName()));
    } catch (const std::exception& e) {
      ac::fill(ctx.getResults().initResp().initError(),
               make_error(errc::invalid_argument, e.what()));
      return kj::READY_NOW;
    }
  }
  kj::Promise<void> tagImage(TagImageContext ctx) override {
    try {
      auto r = ctx.getParams().getReq();
      return ask_images<image_record>(
          ctx, [](auto resp, const image_record& x) { fill_image(resp.initImage(), x); },
          img_tag_atom::value, ns_of(r.getNamespace()), image_name(r.getSource()),
          image_name(r.getTarget()));
    } catch (const std::exception& e) {
      ac::fill(ctx.getResults().initResp().initError(),
               make_error(errc::invalid_argument, e.what()));
      return kj::READY_NOW;
    }
  }

  kj::Promise<void> subscribe(SubscribeContext ctx) override {
    auto r = ctx.getParams().getReq();
    event_filter filter{r.getFilter().getNamespace().cStr(), r.getFilter().getTopicPrefix().cStr()};
    if (!filter.topic_prefix.empty() && filter.topic_prefix.front() != '/') {
      ac::fill(
          ctx.getResults().initResp().initError(),
          make_error(errc::invalid_argument, "invalid event filter: topic prefix \"" +
                                                 filter.topic_prefix + "\" must start with /"));
      return kj::READY_NOW;
    }
    auto& io = *bridge_.io;
    auto key = io.new_key();
    auto events = actors_->events();
    auto forwarder =
        bridge_.sys->spawn<caf::hidden>(event_forwarder, bridge_.io, key, actors_, filter, events);
    io.keep(key, kj::heap<event_pump>(r.getSink(), forwarder));
    auto who = caf::actor_cast<event_subscriber>(forwarder);
    return ask<std::uint64_t>(bridge_, events, subscribe_atom::value, std::move(filter), who,
                              std::uint64_t{r.getSince()})
        .then([this, ctx, key, forwarder](caf::expected<std::uint64_t> seq) mutable {
          auto resp = ctx.getResults().initResp();
          if (!seq) {
            bridge_.io->drop(key);
            ac::fill(resp.initError(), seq.error());
            return;
          }
          caf::anon_send(forwarder, caf::ok_atom::value, *seq);
          resp.setSubscription(kj::heap<event_subscription>(*bridge_.io, key));
        });
  }

  kj::Promise<void> listNodes(ListNodesContext ctx) override {
    if (!cfg_.node) return no_cluster(ctx);
    return answer<std::vector<node_status>>(
        ctx, cfg_.node,
        [](auto resp, const std::vector<node_status>& xs) {
          auto list = resp.initNodes(static_cast<unsigned>(xs.size()));
          for (unsigned i = 0; i < xs.size(); ++i) {
            list[i].setName(xs[i].name);
            list[i].setAddress(xs[i].address);
            list[i].setUp(xs[i].up);
            list[i].setReason(xs[i].why);
            list[i].setContainers(xs[i].containers);
            list[i].setTasks(xs[i].tasks);
          }
        },
        node_list_atom::value);
  }

  // A Berth on the same connection (same gate, same peer) whose calls go to
  // the named node's actors.
  kj::Promise<void> atNode(AtNodeContext ctx) override {
    if (!cfg_.node) return no_cluster(ctx);
    std::string name = ctx.getParams().getReq().getName().cStr();
    return ask<node_info>(bridge_, cfg_.node, node_lookup_atom::value, name)
        .then([this, ctx](caf::expected<node_info> info) mutable {
          auto results = ctx.getResults();
          if (!info) {
            ac::fill(results.initResp().initError(), info.error());
            return;
          }
          berth_actors there;
          there.registry = info->registry;
          there.images = info->images;
          there.events = info->events;
          auto handles = std::make_shared<berth_handles>();
          handles->set(std::move(there));
          auto cfg = cfg_;
          // Task logs are files on their node: another node's are read there.
          caf::actor log_node;
          if (info->registry != actors_->registry()) {
            cfg.state_dir.clear();
            log_node = info->node;
          }
          auto bridge = bridge_;
          bridge.actors = handles;
          results.setBerth(gate_
                               ->guard(kj::heap<berth_service>(bridge, handles, cfg,
                                                               kj::addRef(*gate_), peer_, log_node),
                                       capnp::Schema::from<Berth>())
                               .castAs<Berth>());
        });
  }

 private:
  template <class Ctx>
  kj::Promise<void> no_cluster(Ctx& ctx) {
    ac::fill(ctx.getResults().initResp().initError(),
             make_error(errc::failed_precondition,
                        "this berthd is not a node of a cluster: it publishes no actors (start "
                        "it with --actor-address, and --join to join others)"));
    return kj::READY_NOW;
  }

  // Asks `dest`; fills the response's error, or lets `ok` fill the rest.
  template <class Reply, class Ctx, class Handle, class Ok, class... Ts>
  kj::Promise<void> answer(Ctx ctx, const Handle& dest, Ok ok, Ts... xs) {
    return ask<Reply>(bridge_, dest, std::move(xs)...)
        .then([ctx, ok](caf::expected<reply_t<Reply>> r) mutable {
          auto resp = ctx.getResults().initResp();
          if (!r) {
            ac::fill(resp.initError(), r.error());
            return;
          }
          ok(resp, *r);
        });
  }

  template <class Reply, class Ctx, class Ok, class... Ts>
  kj::Promise<void> call(Ctx ctx, Ok ok, Ts... xs) {
    return answer<Reply>(ctx, actors_->registry(), ok, std::move(xs)...);
  }

  template <class Reply, class Ctx, class Ok, class... Ts>
  kj::Promise<void> ask_images(Ctx ctx, Ok ok, Ts... xs) {
    return answer<Reply>(ctx, actors_->images(), ok, std::move(xs)...);
  }

  // A pull or push: the request to the images actor, with the client's
  // progress sink when it gave one; the answer after every report.
  template <class Reply, class Atom, class Request, class Ctx, class Params, class Fill>
  kj::Promise<void> transfer(Ctx ctx, Atom atom, Request req, Params params, Fill fill) {
    std::shared_ptr<transfer_progress> progress;
    if (params.hasProgress()) {
      progress = std::make_shared<transfer_progress>(bridge_, params.getProgress());
      req.progress_to = progress->forwarder();
    }
    return ask<Reply>(bridge_, actors_->images(), atom, std::move(req))
        .then([progress](caf::expected<Reply> got) mutable {
          kj::Promise<void> all = progress ? progress->drained() : kj::READY_NOW;
          return all.then([got = std::move(got)]() mutable { return std::move(got); });
        })
        .then([ctx, progress, fill](caf::expected<Reply> got) mutable {
          auto resp = ctx.getResults().initResp();
          if (!got) {
            ac::fill(resp.initError(), got.error());
            return;
          }
          fill(resp, *got);
        });
  }

  // An image name as stored; throws (the callers turn it into the
  // response's invalid_argument) when it is not one.
  static std::string image_name(capnp::Text::Reader name) {
    return images::normalize_image_name(name.cStr());
  }

  wire::api::Task::Client task_capability(const task_handle& h) {
    auto log = cfg_.state_dir.empty()
                   ? std::string{}
                   : cfg_.state_dir + "/" + h.info.ns + "/" + h.info.id + "/task.log";
    // Calls on the task count against this connection's bound too.
    return gate_
        ->guard(make_task_capability(bridge_, h.task, h.info.ns, h.info.id, log, log_node_, peer_,
                                     relays_),
                capnp::Schema::from<wire::api::Task>())
        .castAs<wire::api::Task>();
  }

  kj::Own<call_gate> gate_;
  api_bridge bridge_;
  // Read at each call: the supervisor replaces an actor that failed.
  std::shared_ptr<const berth_handles> actors_;
  api_server_config cfg_;
  api_peer peer_;  // the client, whose host paths are checked as its own
  caf::actor log_node_;
  std::shared_ptr<stdio_relays> relays_;  // with log_node_: this client's relays to it
};

// ---- the socket ----------------------------------------------------------------

bool peer_allowed(const api_peer& peer, const api_server_config& cfg) {
  if (peer.uid == 0 || peer.uid == ::geteuid()) return true;
  if (!cfg.group) return false;
  if (peer.gid == *cfg.group) return true;
  for (auto g : peer.groups)
    if (g == *cfg.group) return true;
  return false;
}

// One client's connection: its stream, the two-party network reading it
// with berthd's reader limits, and an RPC system whose bootstrap is a Berth
// service of its own behind the connection's call gate.
struct api_connection {
  api_connection(kj::Own<kj::AsyncIoStream>&& s, const std::string& who,
                 capnp::Capability::Client bootstrap)
      : stream(kj::mv(s)),
        messages(*stream, who),
        network(messages, capnp::rpc::twoparty::Side::SERVER, api_reader_options()),
        rpc(capnp::makeRpcServer(network, kj::mv(bootstrap))) {}
  kj::Own<kj::AsyncIoStream> stream;
  logged_message_stream messages;
  capnp::TwoPartyVatNetwork network;
  capnp::RpcSystem<capnp::rpc::twoparty::VatId> rpc;
};

class api_listener final : public io_thread::resource, private kj::TaskSet::ErrorHandler {
 public:
  // Makes the Berth service of one new connection, given its gate and peer.
  using service_factory =
      std::function<kj::Own<Berth::Server>(kj::Own<call_gate>, const api_peer&)>;

  // With `tls`, a listener of the TLS endpoint; otherwise of the unix socket.
  api_listener(kj::Own<kj::ConnectionReceiver> receiver, service_factory make_service,
               api_server_config cfg, kj::Own<kj::TlsContext> tls = {})
      : cfg_(std::move(cfg)),
        tls_(kj::mv(tls)),
        receiver_(kj::mv(receiver)),
        make_service_(std::move(make_service)),
        tasks_(*this) {
    if (tls_.get() != nullptr)
      accept_next_tls();
    else
      accept_next();
  }

 private:
  // A TLS client is served only once the handshake verified its certificate
  // against the CA; until then nothing it sends reaches the RPC system. Each
  // handshake runs on its own, bounded by the context's accept timeout, so a
  // client that stalls in it holds up no other.
  void accept_next_tls() {
    tasks_.add(receiver_->acceptAuthenticated().then([this](kj::AuthenticatedStream conn) {
      auto from = std::string(conn.peerIdentity->toString().cStr());
      tasks_.add(tls_->wrapServer(kj::mv(conn))
                     .then(
                         [this, from](kj::AuthenticatedStream tls) {
                           auto& id = kj::downcast<kj::TlsPeerIdentity>(*tls.peerIdentity);
                           api_peer peer;
                           peer.remote = "tls://" + from;
                           if (id.hasCertificate())
                             peer.remote += ", CN=" + std::string(id.getCommonName().cStr());
                           spdlog::debug("API connection from {}", peer.remote);
                           serve(kj::mv(tls.stream), peer);
                         },
                         [from](kj::Exception&& e) {
                           spdlog::warn("refused TLS connection from {}: {}", from,
                                        e.getDescription().cStr());
                         }));
      accept_next_tls();
    }));
  }

  void accept_next() {
    tasks_.add(receiver_->accept().then([this](kj::Own<kj::AsyncIoStream> conn) {
      std::optional<api_peer> peer;
      std::string who = "unknown peer";
      KJ_IF_MAYBE (fd, conn->getFd()) {
        peer = read_api_peer(*fd);
        if (!peer) who = std::string("unknown peer (") + std::strerror(errno) + ")";
      }
      if (peer) who = peer->describe();
      if (peer && peer_allowed(*peer, cfg_)) {
        serve(kj::mv(conn), *peer);
      } else {
        spdlog::warn(
            "refused API connection from {}: not root, not berthd's user and not in "
            "the allowed group",
            who);
      }
      accept_next();
    }));
  }
  void serve(kj::Own<kj::AsyncIoStream> conn, const api_peer& peer) {
    auto gate = kj::refcounted<call_gate>();
    capnp::Capability::Client service = make_service_(kj::addRef(*gate), peer);
    auto bootstrap = gate->guard(kj::mv(service), capnp::Schema::from<Berth>());
    auto c = kj::heap<api_connection>(kj::mv(conn), peer.describe(), kj::mv(bootstrap));
    // The connection lives until the client hangs up, or until a message of
    // its breaks the reader limits (Cap'n Proto then aborts the connection;
    // logged_message_stream logs why).
    auto done = c->network.onDisconnect();
    tasks_.add(done.attach(kj::mv(c)));
  }
  void taskFailed(kj::Exception&& e) override {
    spdlog::error("API listener: {}", e.getDescription().cStr());
  }

  api_server_config cfg_;
  kj::Own<kj::TlsContext> tls_;  // before the receiver and the tasks: they use it
  kj::Own<kj::ConnectionReceiver> receiver_;
  service_factory make_service_;
  kj::TaskSet tasks_;
};

}  // namespace

namespace {

// socket, bind to a temporary name, listen, chmod/chown, rename into place.
int bind_socket(const api_server_config& cfg) {
  auto fail = [&](const std::string& what) -> int {
    throw std::runtime_error(what + ": " + std::strerror(errno));
  };
  auto tmp = cfg.socket_path + ".new";
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (tmp.size() >= sizeof sa.sun_path) {
    errno = ENAMETOOLONG;
    fail("socket path too long");
  }
  std::strcpy(sa.sun_path, tmp.c_str());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("socket");
  ::unlink(tmp.c_str());
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd, 512) != 0) {
    auto saved = errno;
    ::close(fd);
    errno = saved;
    fail("bind " + tmp);
  }
  if (::chmod(tmp.c_str(), 0660) != 0 || (cfg.group && ::chown(tmp.c_str(), 0, *cfg.group) != 0) ||
      ::rename(tmp.c_str(), cfg.socket_path.c_str()) != 0) {
    auto saved = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    errno = saved;
    fail("set up " + tmp);
  }
  return fd;
}

// A listening TCP socket for the TLS endpoint (the first address of `host`
// that binds).
int bind_tcp(const tls_address& at) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  auto port = std::to_string(at.port);
  if (int rc = ::getaddrinfo(at.host.c_str(), port.c_str(), &hints, &found); rc != 0)
    throw std::runtime_error("cannot resolve " + at.host + ": " + ::gai_strerror(rc));
  std::string why = "no address";
  int fd = -1;
  for (auto* ai = found; ai && fd < 0; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      why = std::strerror(errno);
      continue;
    }
    int on = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd, 512) != 0) {
      why = std::string("bind: ") + std::strerror(errno);
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  if (fd < 0) throw std::runtime_error(why);
  return fd;
}

// How long a TLS client may take to finish its handshake.
constexpr auto kTlsHandshakeTimeout = 10 * kj::SECONDS;

}  // namespace

void start_api_server(std::shared_ptr<io_thread> io, caf::actor_system& sys,
                      std::shared_ptr<const berth_handles> actors, api_server_config cfg) {
  // The TLS endpoint is bound first: once the socket appears, both listen.
  int tcp_fd = -1;
  if (!cfg.tls_address.empty()) {
    try {
      if (!cfg.tls) throw std::runtime_error("no certificate, key and CA");
      tcp_fd = bind_tcp(parse_tls_address(cfg.tls_address));
    } catch (const std::exception& e) {
      throw std::runtime_error("cannot serve the API on " + cfg.tls_address + ": " + e.what());
    }
  }
  int fd = -1;
  try {
    fd = bind_socket(cfg);  // throws with the reason
  } catch (...) {
    if (tcp_fd >= 0) ::close(tcp_fd);
    throw;
  }
  std::promise<std::string> ready;
  auto result = ready.get_future();
  auto key = io->new_key();
  auto tls_key = io->new_key();
  bool posted = io->post([&, key, tls_key, fd, tcp_fd](kj::AsyncIoContext& ctx) {
    try {
      auto receiver =
          ctx.lowLevelProvider->wrapListenSocketFd(fd, kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP);
      api_bridge bridge{&sys, io, &ctx.provider->getTimer(), {}, actors};
      auto make_service = [bridge, actors, cfg](kj::Own<call_gate> gate,
                                                const api_peer& peer) -> kj::Own<Berth::Server> {
        return kj::heap<berth_service>(bridge, actors, cfg, kj::mv(gate), peer);
      };
      io->keep(key, kj::heap<api_listener>(kj::mv(receiver), make_service, cfg));
      if (tcp_fd >= 0) {
        auto tcp = ctx.lowLevelProvider->wrapListenSocketFd(
            tcp_fd, kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP);
        auto options = cfg.tls->options(true);
        options.timer = ctx.provider->getTimer();
        options.acceptTimeout = kTlsHandshakeTimeout;
        auto tls = kj::heap<kj::TlsContext>(kj::mv(options));
        io->keep(tls_key, kj::heap<api_listener>(kj::mv(tcp), make_service, cfg, kj::mv(tls)));
      }
      ready.set_value("");
    } catch (const kj::Exception& e) {
      ready.set_value(e.getDescription().cStr());
    } catch (const std::exception& e) {
      ready.set_value(e.what());
    }
  });
  if (!posted) {
    ::close(fd);
    if (tcp_fd >= 0) ::close(tcp_fd);
    throw std::runtime_error("cannot serve the API on " + cfg.socket_path +
                             ": the I/O thread has stopped");
  }
  auto why = result.get();
  if (!why.empty())
    throw std::runtime_error("cannot serve the API on " + cfg.socket_path + ": " + why);
}

}  // namespace berth
