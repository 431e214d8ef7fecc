// An image archive sent from another node: `berth --node b i import FILE`
// reads FILE where the client is (node a), and b's images actor can open no
// path on a's machine. So a sends the bytes, a bounded chunk at a time, to a
// receiver on b that writes them to a file of its own, then imports that file
// with b's images actor and removes it.
#pragma once

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include <cstdint>
#include <string>

#include "actors/images/images_actor.hpp"

namespace berth {

// - chunk(bytes) -> true once written; refused (failed_precondition) when the
//   file system of `dir` would keep less than `free_space_reserve` bytes;
// - import(request, the archive's name as the client gave it) -> the images,
//   from the file written so far (the images actor's own checks apply);
//   errors name the client's file, not the one here.
// It ends after the import, or after a minute without a message (a sender
// that went away), removing its file either way.
caf::expected<caf::actor> spawn_archive_receiver(caf::actor_system& sys, const std::string& dir,
                                                 std::int64_t free_space_reserve,
                                                 images_actor images);

}  // namespace berth
