// Blocking work (file-system walks, unmounts, registry transfers) kept off
// CAF's scheduler and off the asking actor's own thread: a detached actor runs
// it, answers and quits, so the asker keeps serving meanwhile. The work
// writes its results where its closure points; the answer orders that before
// the asker reads them.
#pragma once

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/spawn_options.hpp>

#include <functional>
#include <utility>

namespace berth {

using blocking_work_atom = caf::atom_constant<caf::atom("blockWork")>;

inline caf::behavior blocking_worker(caf::event_based_actor* self, std::function<void()> work) {
  return {
      [self, work](blocking_work_atom) {
        work();
        self->quit();
      },
  };
}

// Runs `work` on a worker of its own, then `done(caf::error)` in `self`'s
// context: no error when the work returned, the worker's exit reason when
// it threw (whatever waits must go on either way).
template <class Self, class Done>
void run_blocking(Self self, std::function<void()> work, Done done) {
  auto worker = self->template spawn<caf::detached>(blocking_worker, std::move(work));
  self->request(worker, caf::infinite, blocking_work_atom::value)
      .then([done]() mutable { done(caf::error{}); },
            [done](caf::error& err) mutable { done(std::move(err)); });
}

}  // namespace berth
