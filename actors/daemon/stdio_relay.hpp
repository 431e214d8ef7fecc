// A task's stdio carried between two nodes. A client attached through node
// a to a task on node b names FIFOs on a's host; b's shim cannot open them
// (another machine). So each side runs one end of a relay: b's end owns FIFOs
// it made under its state directory, which b's shim opens as the task's
// stdio, and a's end opens the client's paths. Output read on one side is
// written on the other, a chunk at a time: the next chunk of a stream is read
// only once the peer wrote enough of the last ones (a few chunks in flight),
// so a slow reader slows the container as it would on one machine, and
// neither node buffers without bound.
//
// Each FIFO has a thread of its own (a blocking write to one stream never
// holds up another: a container blocked on stdout while its stdin is still
// being fed would deadlock otherwise); the end actor only routes.
#pragma once

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/expected.hpp>

#include <cstdint>
#include <string>
#include <utility>

#include "actors/runtime/shim_messages.hpp"

namespace berth {

// Between the ends (both cross the network):
// - data(stream, bytes) -> true once written on this side;
// - eof(stream) -> true once this side closed the stream.
// From the API beside the client's end:
// - peer(end): the task's end, from open_task_stdio_end; relaying starts;
// - drained -> true once stdout and stderr reached the client (or after 5 s:
//   a process left in the container may hold them open);
// - input_done -> true once the client's stdin, read to its end, was
//   written and closed on the task's side (or after 2 s), so that a
//   closeIo sent after it never overtakes the last bytes;
// - close: ends at once (the task was not created).
using relay_peer_atom = caf::atom_constant<caf::atom("relayPeer")>;
using relay_data_atom = caf::atom_constant<caf::atom("relayData")>;
using relay_eof_atom = caf::atom_constant<caf::atom("relayEof")>;
using relay_drained_atom = caf::atom_constant<caf::atom("relayDrain")>;
using relay_input_done_atom = caf::atom_constant<caf::atom("relayInEnd")>;
using relay_close_atom = caf::atom_constant<caf::atom("relayClose")>;

// Streams, as numbered between the ends.
enum class relay_stream : std::uint8_t { in = 0, out = 1, err = 2 };

// The end on the task's node: FIFOs made in the new directory `dir` (0700,
// removed when the end finishes) for each stream `wanted` names (a non-empty
// path there means "relay this stream"), talking to `peer`. Answers the
// paths the task's shim is to open, and the end. The end finishes once the
// shim closed stdout and stderr and everything read was written by the peer,
// when the peer ends, or on relay_close.
caf::expected<std::pair<stdio_paths, caf::actor>> open_task_stdio_end(caf::actor_system& sys,
                                                                      const std::string& dir,
                                                                      const stdio_paths& wanted,
                                                                      caf::actor peer);

// The end beside the client: opens the paths the client named (already
// checked with its credentials, and opened here as the shim would, with no
// symbolic link followed). It starts relaying once it is told its peer
// (relay_peer_atom); it finishes when stdout and stderr were written to the
// end, or when the peer ends.
caf::expected<caf::actor> open_client_stdio_end(caf::actor_system& sys, const stdio_paths& client);

}  // namespace berth
