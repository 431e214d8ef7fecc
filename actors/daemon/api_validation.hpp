// Validation of every request at the API boundary, before any actor sees it:
// each Text field of a call's parameters is valid UTF-8 without NUL bytes
// and within a length limit; each list within a count and a total-size
// limit; the whole request within a total size. The walk is driven by the
// schema (capnp's dynamic API), so a field added to schema/api.capnp is
// checked the day it is added, with the default limits unless it gets its
// own row below.
//
// A refusal is errc::invalid_argument with one message form:
//   invalid argument: <method> <field>: <rule>
//   invalid argument: createContainer options.process.env[0]: not valid UTF-8 (byte 0xff at offset
//   2)
// where <field> is the path below the call's one `req` struct.
#pragma once

#include <capnp/any.h>
#include <capnp/dynamic.h>
#include <capnp/schema.h>
#include <caf/error.hpp>

#include <cstddef>

namespace berth::api_validation {

// ---- the limits, in one place ---------------------------------------------------
// Sizes are bytes of UTF-8. They are generous for any real use and small
// enough that a request inside them costs berthd little: the largest request
// they allow (kMaxRequestText) is a quarter of the Cap'n Proto reader limit
// (api_connection.hpp), which the validator and the dispatch copy read once each.

// Any Text field without a row of its own: ids, names, paths, image
// references, topics (PATH_MAX, and far above the 76 characters of an id).
inline constexpr std::size_t kMaxText = 4096;
// One argv or environment entry (Linux's MAX_ARG_STRLEN).
inline constexpr std::size_t kMaxArgText = 128 * 1024;
// Entries of args or env, and their total size.
inline constexpr std::size_t kMaxArgs = 4096;
inline constexpr std::size_t kMaxArgsTotal = 1024 * 1024;
// A full OCI process JSON (exec's spec.ociJson).
inline constexpr std::size_t kMaxOciJson = 1024 * 1024;
// Labels: entries, key size, value size (containerd allows 4096 per label).
inline constexpr std::size_t kMaxLabels = 256;
inline constexpr std::size_t kMaxLabelKey = 1024;
inline constexpr std::size_t kMaxLabelValue = 4096;
// Mounts of one container, options of one mount, additional gids.
inline constexpr std::size_t kMaxMounts = 256;
inline constexpr std::size_t kMaxMountOptions = 64;
inline constexpr std::size_t kMaxGids = 256;
// Capability names of capAdd or capDrop: entries (every capability, with room
// to repeat some) and the size of one ("CAP_CHECKPOINT_RESTORE" is 22).
inline constexpr std::size_t kMaxCapabilities = 64;
inline constexpr std::size_t kMaxCapabilityName = 64;
// Host devices of one container.
inline constexpr std::size_t kMaxDevices = 128;
// Any other list: entries and total size.
inline constexpr std::size_t kMaxList = 256;
inline constexpr std::size_t kMaxListTotal = 256 * 1024;
// All Text and Data of one request together.
inline constexpr std::size_t kMaxRequestText = 4 * 1024 * 1024;

// none when the parameters of `method` keep every rule above; else the
// invalid_argument naming the method, the field and the rule.
caf::error check_params(capnp::InterfaceSchema::Method method, capnp::AnyPointer::Reader params);

// The same for a call's parameters already read as `method_name`'s params
// struct (capnp::toDynamic of a typed reader, in tests).
caf::error check_params(kj::StringPtr method_name, capnp::DynamicStruct::Reader params);

}  // namespace berth::api_validation
