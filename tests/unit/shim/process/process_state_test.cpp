#include <catch2/catch.hpp>

#include <array>
#include <set>
#include <string>
#include <string_view>
#include <variant>

#include "shim/process/process_state.hpp"

using namespace berth::shim;

namespace {

constexpr std::size_t state_count = std::variant_size_v<process_state>;

// Every state, by wire ordinal (status 1..6); the rows of the tables below follow this order.
constexpr std::array all_statuses{
    status::created, status::running, status::paused, status::stopped, status::created_checkpoint,
    status::deleted};

// The expected outcome of every operation in every state. One row per state (order above),
// one column per operation in all_operations order:
//
//   start pause resume kill exec wait delete close-io attach resize-pty update stats pids
//   checkpoint
//   state exited
//
// 'F': refused, failed_precondition    'N': refused, not_found
// otherwise legal, and the letter is the next state:
// 'c' created  'r' running  'p' paused  's' stopped  'k' created-checkpoint  'd' deleted
constexpr std::array<std::string_view, state_count> init_table{
    "rFFcFcdccccccFcs",  // created
    "FpFrrrFrrrrrrrrs",  // running
    "FFrpFpFpppppppps",  // paused
    "FFFNFsdFFFFFFFss",  // stopped
    "rFFkFkdFFFFFFFks",  // created-checkpoint
    "NNNNNNNNNNNNNNdd",  // deleted
};

// An exec process refuses the task-level columns (pause resume exec update stats pids
// checkpoint) in every state, and kill while created (it has no pid before start).
constexpr std::array<std::string_view, state_count> exec_table{
    "rFFFFcdcccFFFFcs",  // created
    "FFFrFrFrrrFFFFrs",  // running
    "FFFpFpFpppFFFFps",  // paused
    "FFFNFsdFFFFFFFss",  // stopped
    "rFFkFkdFFFFFFFks",  // created-checkpoint
    "NFFNFNNNNNFFFFdd",  // deleted
};

status next_of(char cell) {
  switch (cell) {
    case 'c':
      return status::created;
    case 'r':
      return status::running;
    case 'p':
      return status::paused;
    case 's':
      return status::stopped;
    case 'k':
      return status::created_checkpoint;
    case 'd':
      return status::deleted;
  }
  FAIL("bad cell " << cell);
  return status::deleted;
}

void check_table(process_kind kind, const std::array<std::string_view, state_count>& table) {
  for (std::size_t row = 0; row < all_statuses.size(); ++row) {
    const process_state s = make_state(all_statuses[row]);
    REQUIRE(table[row].size() == all_operations.size());
    for (std::size_t col = 0; col < all_operations.size(); ++col) {
      const operation op = all_operations[col];
      const char cell = table[row][col];
      INFO((kind == process_kind::init ? "init" : "exec")
           << " in " << name(s) << ", " << name(op) << ", expected " << cell);
      const auto err = check(s, kind, "web", "sh", op);
      if (cell == 'F' || cell == 'N') {
        REQUIRE(err.has_value());
        CHECK(err->code == (cell == 'F' ? error_code::failed_precondition : error_code::not_found));
        const std::string prefix =
            std::string("cannot ") + std::string(name(op)) +
            (kind == process_kind::init ? " task web: " : " exec sh of task web: ");
        CHECK(err->message.rfind(prefix, 0) == 0);
        // Refused operations never move the process, whatever after() is asked.
        if (!(kind == process_kind::exec && task_level(op))) CHECK(after(s, op) == s);
      } else {
        CHECK_FALSE(err.has_value());
        CHECK(of(after(s, op)) == next_of(cell));
      }
    }
  }
}

}  // namespace

TEST_CASE("the tables cover every state and every operation", "[process]") {
  // all_operations lists each enumerator once, ending with the last one.
  CHECK(all_operations.size() == static_cast<std::size_t>(operation::exited) + 1);
  std::set<std::size_t> indices;
  std::set<std::string_view> names;
  for (status st : all_statuses) {
    const process_state s = make_state(st);
    CHECK(of(s) == st);
    indices.insert(s.index());
    names.insert(name(s));
  }
  CHECK(indices.size() == state_count);
  CHECK(names.size() == state_count);
  std::set<std::string_view> op_names;
  for (operation op : all_operations) op_names.insert(name(op));
  CHECK(op_names.size() == all_operations.size());
}

TEST_CASE("init process: every state x every operation", "[process]") {
  check_table(process_kind::init, init_table);
}

TEST_CASE("exec process: every state x every operation", "[process]") {
  check_table(process_kind::exec, exec_table);
}

TEST_CASE("status ordinals match the wire's TaskStatus", "[process]") {
  CHECK(static_cast<int>(of(created_state{})) == 1);
  CHECK(static_cast<int>(of(running_state{})) == 2);
  CHECK(static_cast<int>(of(paused_state{})) == 3);
  CHECK(static_cast<int>(of(stopped_state{})) == 4);
  CHECK(static_cast<int>(of(created_checkpoint_state{})) == 5);
  CHECK(static_cast<int>(of(deleted_state{})) == 6);
}

TEST_CASE("messages name the operation, the process and the state", "[process]") {
  auto init = [](process_state s, operation op) {
    return check(s, process_kind::init, "web", "", op).value();
  };
  auto exec = [](process_state s, operation op) {
    return check(s, process_kind::exec, "web", "sh", op).value();
  };

  CHECK(init(stopped_state{}, operation::pause) ==
        state_error{error_code::failed_precondition, "cannot pause task web: it is stopped"});
  CHECK(init(running_state{}, operation::delete_) ==
        state_error{error_code::failed_precondition, "cannot delete task web: it is running"});
  CHECK(init(stopped_state{}, operation::kill) ==
        state_error{error_code::not_found, "cannot kill task web: process already finished"});
  CHECK(init(created_checkpoint_state{}, operation::resize_pty) ==
        state_error{error_code::failed_precondition,
                    "cannot resize-pty task web: it is created-checkpoint"});
  CHECK(init(deleted_state{}, operation::wait) ==
        state_error{error_code::not_found, "cannot wait task web: it is deleted"});

  CHECK(exec(running_state{}, operation::start) ==
        state_error{error_code::failed_precondition,
                    "cannot start exec sh of task web: it is running"});
  CHECK(exec(stopped_state{}, operation::kill) ==
        state_error{error_code::not_found,
                    "cannot kill exec sh of task web: process already finished"});
  CHECK(exec(created_state{}, operation::kill) ==
        state_error{error_code::failed_precondition,
                    "cannot kill exec sh of task web: it is created"});
  CHECK(exec(running_state{}, operation::pause) ==
        state_error{error_code::failed_precondition,
                    "cannot pause exec sh of task web: pause acts on the whole task, not on one "
                    "exec process"});
}

TEST_CASE("a task's life: create, start, pause, resume, exit, delete", "[process]") {
  process_state s = created_state{};
  for (operation op : {operation::start, operation::pause, operation::resume, operation::exited,
                       operation::delete_}) {
    INFO(name(op) << " in " << name(s));
    REQUIRE_FALSE(check(s, process_kind::init, "web", "", op).has_value());
    s = after(s, op);
  }
  CHECK(s == process_state{deleted_state{}});
  // A late or repeated exit is accepted and changes nothing.
  CHECK(after(s, operation::exited) == s);
  CHECK(after(stopped_state{}, operation::exited) == process_state{stopped_state{}});
}
