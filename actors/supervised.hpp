// What every actor under berth's supervisor does (supervisor_actor.hpp):
// an exception that escapes a handler ends the actor with an error that names
// the actor and the exception, so the supervisor can log the cause and answer
// the requests that were in flight with it; and it accepts the failpoint, a
// test-only message that makes it throw as a bug on its input would. Nothing
// in berth sends a failpoint on its own.
#pragma once

#include <caf/atom.hpp>
#include <caf/replies_to.hpp>
#include <caf/scheduled_actor.hpp>

#include <exception>
#include <stdexcept>
#include <string>

#include "actors/errors.hpp"

namespace berth {

using failpoint_atom = caf::atom_constant<caf::atom("failpoint")>;

// The entry for a typed actor's interface.
using failpoint_message = caf::reacts_to<failpoint_atom, std::string>;

// The handler: throws std::runtime_error("failpoint: <why>").
inline auto failpoint_handler() {
  return
      [](failpoint_atom, const std::string& why) { throw std::runtime_error("failpoint: " + why); };
}

// Call once when the actor starts: CAF's default handler prints the
// exception and exits with a bare runtime_error, losing the cause.
inline void report_exceptions(caf::scheduled_actor* self, const char* actor_name) {
  self->set_exception_handler(
      [actor_name](caf::scheduled_actor*, std::exception_ptr& x) -> caf::error {
        std::string what = "unknown exception";
        try {
          std::rethrow_exception(x);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        return make_error(errc::internal,
                          std::string("unhandled exception in ") + actor_name + ": " + what);
      });
}

}  // namespace berth
