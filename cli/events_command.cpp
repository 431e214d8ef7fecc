#include "cli/events_command.hpp"

#include <csignal>
#include <iostream>
#include <memory>
#include <optional>

#include "cli/display.hpp"
#include "cli/json_output.hpp"
#include "cli/table.hpp"

namespace berth::cli {
namespace {

struct events_options {
  std::vector<std::string> filters;
  std::string format = kFormatTable;
  std::optional<std::uint64_t> since;
};

// ctr's line, after the event's sequence number: time, namespace, topic, then
// the event's fields as JSON (with the object's id first). berthd's notice
// that it dropped this subscriber ends the command with its message.
class event_printer final : public wire::EventSink::Server {
 public:
  event_printer(bool json, kj::Own<kj::PromiseFulfiller<std::string>> dropped)
      : json_(json), dropped_(kj::mv(dropped)) {}

 protected:
  kj::Promise<void> publish(PublishContext context) override {
    auto e = context.getParams().getEvent();
    if (e.isSubscriberTooSlow()) {
      dropped_->fulfill(std::string(e.getSubscriberTooSlow().getMessage().cStr()));
      return kj::READY_NOW;
    }
    nlohmann::json fields = {{"id", e.getId().cStr()}};
    fields.update(event_fields(e));
    if (json_) {
      nlohmann::json line = {{"sequence", e.getSequence()},
                             {"timestamp", format_time(e.getTimestamp())},
                             {"namespace", e.getNamespace().cStr()},
                             {"topic", e.getTopic().cStr()},
                             {"event", fields}};
      std::cout << line.dump() << std::endl;
    } else {
      std::cout << e.getSequence() << " " << format_time(e.getTimestamp()) << " "
                << e.getNamespace().cStr() << " " << e.getTopic().cStr() << " " << fields.dump()
                << std::endl;
    }
    return kj::READY_NOW;
  }

 private:
  bool json_;
  kj::Own<kj::PromiseFulfiller<std::string>> dropped_;
};

// "topic=/tasks/" or "namespace=default"; validated by the CLI11 check.
std::string filter_error(const std::string& filter) {
  auto eq = filter.find('=');
  std::string key = eq == std::string::npos ? "" : filter.substr(0, eq);
  if (key == "topic" || key == "namespace") return {};
  return "invalid filter \"" + filter + "\": expected topic=PREFIX or namespace=NAME";
}

int events(daemon_client& client, const events_options& o) {
  auto req = client.berth().subscribeRequest();
  auto r = req.initReq();
  auto filter = r.initFilter();
  for (const auto& f : o.filters) {
    auto eq = f.find('=');
    if (f.substr(0, eq) == "topic") filter.setTopicPrefix(f.substr(eq + 1));
    if (f.substr(0, eq) == "namespace") filter.setNamespace(f.substr(eq + 1));
  }
  if (o.since) r.setSince(*o.since);
  auto dropped = kj::newPromiseAndFulfiller<std::string>();
  r.setSink(kj::heap<event_printer>(o.format == kFormatJson, kj::mv(dropped.fulfiller)));
  auto resp = client.wait(req.send(), "subscribe to events");
  check(resp.getResp(), "subscribe to events");
  // Holding the subscription keeps it alive; dropping it at return ends it.
  auto subscription = resp.getResp().getSubscription();

  auto& port = client.io().unixEventPort;
  auto interrupted =
      port.onSignal(SIGINT).exclusiveJoin(port.onSignal(SIGTERM)).then([](siginfo_t) {
        return true;
      });
  auto hung_up = client.disconnected().then([] { return false; });
  std::string why;
  auto too_slow = dropped.promise.then(
      [&why](std::string&& message) -> kj::Promise<bool> {
        why = kj::mv(message);
        return false;
      },
      // The sink released without a notice: the connection's end says why.
      [](kj::Exception&&) -> kj::Promise<bool> { return kj::NEVER_DONE; });
  bool stopped_by_user = client.wait_unbounded(
      interrupted.exclusiveJoin(kj::mv(hung_up)).exclusiveJoin(kj::mv(too_slow)), "events");
  if (!why.empty()) throw command_error("events", why);
  if (!stopped_by_user) throw command_error("events", "berthd closed the connection");
  return 0;
}

}  // namespace

void add_events_command(CLI::App& app, verb_action& chosen) {
  auto o = std::make_shared<events_options>();
  auto* v = app.add_subcommand("events", "print events as they happen, until interrupted");
  v->alias("event");
  v->add_option("--filter", o->filters, "topic=PREFIX or namespace=NAME (default: everything)")
      ->allow_extra_args(false)
      ->check(CLI::Validator(filter_error, "FILTER"));
  v->add_option("--since", o->since,
                "first print every event numbered above N (the last one seen), then the live "
                "ones; 0: every event berthd keeps");
  v->add_option("--format", o->format, "table or json")
      ->check(CLI::IsMember({kFormatTable, kFormatJson}));
  v->callback([&chosen, o] {
    chosen.run = [o](daemon_client& cl) { return events(cl, *o); };
    chosen.signals = {SIGINT, SIGTERM};
  });
}

}  // namespace berth::cli
