// The daemon's task states as a table: which operation each phase accepts,
// refuses, answers `unavailable` or defers. Reads as the specification of
// actors/daemon/task_states.hpp.
#include <catch2/catch.hpp>

#include <string_view>

#include "actors/daemon/task_states.hpp"

using namespace berth;

namespace {

// One row per phase (all_task_phases order), one column per operation
// (all_task_ops order):
//
//   create start start-exec exec pause resume kill pids metrics update close-io attach
//   resize-pty checkpoint delete delete-exec wait wait-exec info exec-state
//
// 'A' accept   'R' refuse (failed_precondition)   'U' unavailable   'D' defer
constexpr std::array<std::string_view, all_task_phases.size()> table{
    "ARRRRRRRRRRRRRRRRRAR",  // creating: only create; a listing reads the record
    "RDDDDDDDDDDDDDDDDDAD",  // recovering: everything waits for the shim's answer
    "RARRRRAAAAAAARAAAAAA",  // created
    "RRAAARAAAAAAAAAAAAAA",  // running
    "RRRRRAAAAAAAAAAAAAAA",  // paused
    "RARRRRARRRRRRRAAAAAA",  // created_checkpoint
    "RUUUUUUUUUUUUUUUAUAA",  // unknown: nothing waits for a slow shim
    "RDDDDDDDDDDDDDDDDDAD",  // burying: the exit is about to be known
    "RRRRRRRARRRRRRDAAAAA",  // exiting: a delete waits until the exit is stored
    "RRRRRRRARRRRRRAAAAAA",  // stopped
    "RRRRRRRRRRRRRRRRARAR",  // deleting
};

char letter(task_verdict v) {
  switch (v) {
    case task_verdict::accept:
      return 'A';
    case task_verdict::refuse:
      return 'R';
    case task_verdict::unavailable:
      return 'U';
    case task_verdict::defer:
      return 'D';
  }
  return '?';
}

}  // namespace

TEST_CASE("every phase answers every operation as the table says", "[task_states]") {
  for (size_t p = 0; p < all_task_phases.size(); ++p) {
    REQUIRE(table[p].size() == all_task_ops.size());
    for (size_t o = 0; o < all_task_ops.size(); ++o) {
      INFO("phase " << phase_name(all_task_phases[p]) << " (" << p << "), operation "
                    << op_phrase(all_task_ops[o]) << " (" << o << ")");
      CHECK(letter(decide(all_task_phases[p], all_task_ops[o])) == table[p][o]);
    }
  }
}

TEST_CASE("a listing never waits: every phase answers info from the record", "[task_states]") {
  for (auto p : all_task_phases) CHECK(decide(p, task_op::info) == task_verdict::accept);
}

TEST_CASE("an unknown task defers nothing: a slow shim never holds a request", "[task_states]") {
  for (auto op : all_task_ops) CHECK(decide(task_phase::unknown, op) != task_verdict::defer);
}

TEST_CASE("only running and paused tasks need force to be deleted", "[task_states]") {
  for (auto p : all_task_phases)
    CHECK(delete_needs_force(p) == (p == task_phase::running || p == task_phase::paused));
}

TEST_CASE("the status a client sees for each phase", "[task_states]") {
  auto recorded = task_status::running;
  CHECK(status_of(task_phase::creating, recorded) == task_status::created);
  CHECK(status_of(task_phase::recovering, recorded) == recorded);
  CHECK(status_of(task_phase::created, recorded) == task_status::created);
  CHECK(status_of(task_phase::running, recorded) == task_status::running);
  CHECK(status_of(task_phase::paused, recorded) == task_status::paused);
  CHECK(status_of(task_phase::created_checkpoint, recorded) == task_status::created_checkpoint);
  CHECK(status_of(task_phase::unknown, recorded) == task_status::unknown);
  CHECK(status_of(task_phase::burying, recorded) == recorded);
  CHECK(status_of(task_phase::exiting, recorded) == task_status::stopped);
  CHECK(status_of(task_phase::stopped, recorded) == task_status::stopped);
  CHECK(status_of(task_phase::deleting, recorded) == recorded);
}

TEST_CASE("a status the shim reports puts the task in its phase", "[task_states]") {
  CHECK(phase_of(task_status::created) == task_phase::created);
  CHECK(phase_of(task_status::running) == task_phase::running);
  CHECK(phase_of(task_status::paused) == task_phase::paused);
  CHECK(phase_of(task_status::created_checkpoint) == task_phase::created_checkpoint);
  // The exit still has to be stored before the task counts as stopped.
  CHECK(phase_of(task_status::stopped) == task_phase::exiting);
  CHECK(phase_of(task_status::unknown) == task_phase::unknown);
}

TEST_CASE("refusals read as English", "[task_states]") {
  CHECK(std::string(phase_name(task_phase::created_checkpoint)) == "created from a checkpoint");
  CHECK(std::string(phase_name(task_phase::exiting)) == "stopped");
  CHECK(std::string(op_phrase(task_op::pids)) == "list processes of");
  CHECK(std::string(op_phrase(task_op::exec)) == "exec in");
}
