#include "actors/daemon/api_validation.hpp"

#include <kj/exception.h>

#include <string>
#include <unordered_map>

#include "actors/errors.hpp"
#include "actors/runtime/wire_text.hpp"

namespace berth::api_validation {
namespace {

// The limits of one field, by its path without indices ("labels.key").
// Text fields use max_bytes; list fields max_count, max_total and, for a
// list of Text, max_bytes per entry.
struct field_limit {
  std::size_t max_bytes = kMaxText;
  std::size_t max_count = kMaxList;
  std::size_t max_total = kMaxListTotal;
};

const std::unordered_map<std::string, field_limit>& limits() {
  static const std::unordered_map<std::string, field_limit> table = [] {
    const field_limit args{kMaxArgText, kMaxArgs, kMaxArgsTotal};
    const field_limit labels{kMaxText, kMaxLabels, kMaxLabels * (kMaxLabelKey + kMaxLabelValue)};
    const field_limit mounts{kMaxText, kMaxMounts, kMaxMounts * 4 * kMaxText};
    const field_limit capabilities{kMaxCapabilityName, kMaxCapabilities,
                                   kMaxCapabilities * kMaxCapabilityName};
    std::unordered_map<std::string, field_limit> t{
        // createContainer
        {"options.process.args", args},
        {"options.process.env", args},
        {"options.process.ociJson", {kMaxOciJson}},
        {"options.process.user.additionalGids", {kMaxText, kMaxGids}},
        {"options.mounts", mounts},
        {"options.mounts.options", {kMaxText, kMaxMountOptions}},
        {"options.capAdd", capabilities},
        {"options.capDrop", capabilities},
        {"options.devices", {kMaxText, kMaxDevices, kMaxDevices * 3 * kMaxText}},
        // exec
        {"spec.args", args},
        {"spec.env", args},
        {"spec.ociJson", {kMaxOciJson}},
        {"spec.user.additionalGids", {kMaxText, kMaxGids}},
    };
    // Labels of containers and namespaces (and any later `labels` field).
    t["labels"] = labels;
    t["labels.key"] = {kMaxLabelKey};
    t["labels.value"] = {kMaxLabelValue};
    return t;
  }();
  return table;
}

field_limit limit_of(const std::string& key) {
  auto& t = limits();
  auto i = t.find(key);
  return i == t.end() ? field_limit{} : i->second;
}

// Walks one request, depth first, and keeps the first problem.
class walker {
 public:
  explicit walker(std::string method) : method_(std::move(method)) {}

  void walk(capnp::DynamicStruct::Reader s, const std::string& shown, const std::string& key,
            int depth) {
    if (failed()) return;
    if (depth > kMaxDepth) return fail(shown, "nests deeper than " + std::to_string(kMaxDepth));
    for (auto f : s.getSchema().getNonUnionFields()) field(s, f, shown, key, depth);
    KJ_IF_MAYBE (f, s.which()) {
      field(s, *f, shown, key, depth);
    }
  }

  caf::error result() const {
    if (!failed()) return caf::none;
    return make_error(errc::invalid_argument, "invalid argument: " + problem_);
  }

 private:
  static constexpr int kMaxDepth = 12;

  bool failed() const { return !problem_.empty(); }

  void fail(const std::string& shown, const std::string& rule) {
    if (failed()) return;
    problem_ = method_ + (shown.empty() ? "" : " " + shown) + ": " + rule;
  }

  static std::string join(const std::string& base, kj::StringPtr name) {
    return base.empty() ? std::string(name.cStr()) : base + "." + name.cStr();
  }

  void field(capnp::DynamicStruct::Reader s, capnp::StructSchema::Field f, const std::string& shown,
             const std::string& key, int depth) {
    if (failed()) return;
    auto name = f.getProto().getName();
    auto f_shown = join(shown, name);
    auto f_key = join(key, name);
    if (f.getProto().isGroup()) {
      walk(s.get(f).as<capnp::DynamicStruct>(), f_shown, f_key, depth + 1);
      return;
    }
    auto type = f.getType();
    if (!(type.isText() || type.isData() || type.isList() || type.isStruct())) return;
    if (!s.has(f)) return;
    value(s.get(f), type, f_shown, f_key, limit_of(f_key), depth);
  }

  void value(capnp::DynamicValue::Reader v, capnp::Type type, const std::string& shown,
             const std::string& key, const field_limit& lim, int depth) {
    if (failed()) return;
    if (type.isText()) {
      auto t = v.as<capnp::Text>();
      text(std::string_view(t.begin(), t.size()), shown, lim.max_bytes);
    } else if (type.isData()) {
      auto d = v.as<capnp::Data>();
      count(d.size(), shown);
      if (d.size() > lim.max_bytes)
        fail(shown, "is " + std::to_string(d.size()) + " bytes long (limit " +
                        std::to_string(lim.max_bytes) + ")");
    } else if (type.isStruct()) {
      walk(v.as<capnp::DynamicStruct>(), shown, key, depth + 1);
    } else if (type.isList()) {
      list(v.as<capnp::DynamicList>(), type.asList().getElementType(), shown, key, lim, depth);
    }
  }

  void list(capnp::DynamicList::Reader l, capnp::Type element, const std::string& shown,
            const std::string& key, const field_limit& lim, int depth) {
    if (l.size() > lim.max_count)
      return fail(shown, "has " + std::to_string(l.size()) + " entries (limit " +
                             std::to_string(lim.max_count) + ")");
    if (!(element.isText() || element.isData() || element.isList() || element.isStruct())) return;
    auto before = total_;
    // Entries of a list of lists share the list's row.
    field_limit inner = element.isList() ? lim : field_limit{lim.max_bytes};
    for (unsigned i = 0; i < l.size() && !failed(); ++i)
      value(l[i], element, shown + "[" + std::to_string(i) + "]", key, inner, depth + 1);
    if (!failed() && total_ - before > lim.max_total)
      fail(shown, "totals " + std::to_string(total_ - before) + " bytes (limit " +
                      std::to_string(lim.max_total) + ")");
  }

  void text(std::string_view s, const std::string& shown, std::size_t max_bytes) {
    count(s.size(), shown);
    if (failed()) return;
    auto why = wire_text::problem(s, max_bytes);
    if (!why.empty()) fail(shown, why);
  }

  void count(std::size_t bytes, const std::string& shown) {
    total_ += bytes;
    if (total_ > kMaxRequestText)
      fail(shown,
           "makes the request larger than " + std::to_string(kMaxRequestText) + " bytes of text");
  }

  std::string method_;
  std::string problem_;
  std::size_t total_ = 0;
};

// Every call takes one request struct named `req` (schema/api.capnp's rule),
// so paths start below it: "options.process.env[0]", not "req.options...".
caf::error check_struct(const std::string& method, capnp::DynamicStruct::Reader params) {
  walker w(method);
  try {
    auto schema = params.getSchema();
    KJ_IF_MAYBE (req, schema.findFieldByName("req")) {
      if (req->getType().isStruct() && params.has(*req))
        w.walk(params.get(*req).as<capnp::DynamicStruct>(), "", "", 0);
      else
        w.walk(params, "", "", 0);
    } else {
      w.walk(params, "", "", 0);
    }
  } catch (const kj::Exception& e) {
    // The reader's own limits (traversal, nesting) or a malformed message.
    return make_error(errc::invalid_argument, "invalid argument: " + method +
                                                  ": the request cannot be read (" +
                                                  e.getDescription().cStr() + ")");
  }
  return w.result();
}

}  // namespace

caf::error check_params(capnp::InterfaceSchema::Method method, capnp::AnyPointer::Reader params) {
  std::string name = method.getProto().getName().cStr();
  try {
    return check_struct(name, params.getAs<capnp::DynamicStruct>(method.getParamType()));
  } catch (const kj::Exception& e) {
    return make_error(errc::invalid_argument, "invalid argument: " + name +
                                                  ": the request cannot be read (" +
                                                  e.getDescription().cStr() + ")");
  }
}

caf::error check_params(kj::StringPtr method_name, capnp::DynamicStruct::Reader params) {
  return check_struct(method_name.cStr(), params);
}

}  // namespace berth::api_validation
