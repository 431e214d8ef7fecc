#include "actors/daemon/api_connection.hpp"

#include <capnp/dynamic.h>
#include <spdlog/spdlog.h>

#include <string>

#include "actors/daemon/api_convert.hpp"
#include "actors/daemon/api_validation.hpp"
#include "actors/errors.hpp"

namespace berth {

capnp::ReaderOptions api_reader_options() {
  capnp::ReaderOptions o;
  o.traversalLimitInWords = kApiTraversalLimitWords;
  o.nestingLimit = kApiNestingLimit;
  return o;
}

kj::Promise<kj::Maybe<capnp::MessageReaderAndFds>> logged_message_stream::tryReadMessage(
    kj::ArrayPtr<kj::AutoCloseFd> fd_space, capnp::ReaderOptions options,
    kj::ArrayPtr<capnp::word> scratch) {
  return inner_.tryReadMessage(fd_space, options, scratch)
      .catch_([this](kj::Exception&& e) -> kj::Promise<kj::Maybe<capnp::MessageReaderAndFds>> {
        // A client that hangs up is not news; one whose message is refused is.
        if (e.getType() != kj::Exception::Type::DISCONNECTED)
          spdlog::warn("API connection from {}: refused a message and closed the connection: {}",
                       who_, e.getDescription().cStr());
        return kj::mv(e);
      });
}

// Holds one place in the count while a call is in flight; given back when
// the call ends or is cancelled (the promise it is attached to is dropped).
class call_slot {
 public:
  explicit call_slot(call_gate& gate) : gate_(kj::addRef(gate)) { ++gate_->in_flight_; }
  ~call_slot() { --gate_->in_flight_; }
  KJ_DISALLOW_COPY(call_slot);

 private:
  kj::Own<call_gate> gate_;
};

class gated_capability final : public capnp::Capability::Server {
 public:
  gated_capability(kj::Own<call_gate> gate, capnp::Capability::Client inner,
                   capnp::InterfaceSchema schema)
      : gate_(kj::mv(gate)), inner_(kj::mv(inner)), schema_(schema) {}

  DispatchCallResult dispatchCall(
      std::uint64_t interface_id, std::uint16_t method_id,
      capnp::CallContext<capnp::AnyPointer, capnp::AnyPointer> ctx) override {
    auto methods = schema_.getMethods();
    if (interface_id != schema_.getProto().getId() || method_id >= methods.size()) {
      // Not a method this build knows: the service answers "unimplemented".
      return forward(interface_id, method_id, ctx, false);
    }
    auto method = methods[method_id];
    if (gate_->in_flight_ >= gate_->limit_) {
      refuse(ctx, method,
             make_error(errc::unavailable, "too many calls in flight on this connection (limit " +
                                               std::to_string(gate_->limit_) +
                                               "); wait for answers before sending more"));
      return {kj::READY_NOW, false};
    }
    if (auto err = api_validation::check_params(method, ctx.getParams())) {
      refuse(ctx, method, err);
      return {kj::READY_NOW, false};
    }
    return forward(interface_id, method_id, ctx, method.isStreaming());
  }

 private:
  DispatchCallResult forward(std::uint64_t interface_id, std::uint16_t method_id,
                             capnp::CallContext<capnp::AnyPointer, capnp::AnyPointer>& ctx,
                             bool streaming) {
    auto params = ctx.getParams();
    auto req = inner_.typelessRequest(interface_id, method_id, params.targetSize());
    req.set(params);
    ctx.releaseParams();
    auto slot = kj::heap<call_slot>(*gate_);
    return {ctx.tailCall(kj::mv(req)).attach(kj::mv(slot)), streaming};
  }

  // Answers the call with `err` in its response's `error` field (every
  // method of schema/api.capnp returns `resp` with one); a capability in
  // the results (createTask's `task`) fails every call with the same text.
  static void refuse(capnp::CallContext<capnp::AnyPointer, capnp::AnyPointer>& ctx,
                     capnp::InterfaceSchema::Method method, const caf::error& err) {
    auto results = ctx.getResults().initAs<capnp::DynamicStruct>(method.getResultType());
    bool answered = false;
    for (auto f : results.getSchema().getFields()) {
      auto type = f.getType();
      if (f.getProto().getName() == "resp" && type.isStruct()) {
        auto resp = results.init(f).as<capnp::DynamicStruct>();
        KJ_IF_MAYBE (ef, resp.getSchema().findFieldByName("error")) {
          if (ef->getType().isStruct() &&
              ef->getType().asStruct() == capnp::Schema::from<wire::Error>()) {
            api_convert::fill(resp.init(*ef).as<capnp::DynamicStruct>().as<wire::Error>(), err);
            answered = true;
          }
        }
      } else if (type.isInterface()) {
        capnp::Capability::Client broken(kj::Exception(
            kj::Exception::Type::FAILED, __FILE__, __LINE__, kj::str(error_message(err).c_str())));
        results.set(f, broken.castAs<capnp::DynamicCapability>(type.asInterface()));
      }
    }
    if (!answered)
      kj::throwFatalException(kj::Exception(kj::Exception::Type::FAILED, __FILE__, __LINE__,
                                            kj::str(error_message(err).c_str())));
  }

  kj::Own<call_gate> gate_;
  capnp::Capability::Client inner_;
  capnp::InterfaceSchema schema_;
};

capnp::Capability::Client call_gate::guard(capnp::Capability::Client inner,
                                           capnp::InterfaceSchema schema) {
  return capnp::Capability::Client(
      kj::heap<gated_capability>(kj::addRef(*this), kj::mv(inner), schema));
}

}  // namespace berth
