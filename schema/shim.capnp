# The Task service a berth-shim serves on its unix socket: one shim, one task
# (the init process plus any exec processes). berthd is the usual client.
#
# Every method returns a response with an `error` field; when it is set the
# other fields are meaningless. Codes used are listed per method.
# Processes are named by `execId`; an empty execId means the init process.

@0xa457a1c5e7836bba;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("berth::wire::shim");

using T = import "types.capnp";

struct CreateRequest {
  id @0 :Text;            # the task id (the container id)
  bundle @1 :Text;        # OCI bundle directory holding config.json and rootfs
  stdio @2 :T.Stdio;
  rootfs @3 :List(T.Mount);   # mounts the shim makes at `bundle/rootfs` before `runc create`
  checkpoint @4 :Text;    # restore from this checkpoint directory instead of creating fresh
  logMaxSize @5 :UInt64;  # rotate <bundle>/task.log past this many bytes; 0: the shim's default (10 MiB)
  logMaxFiles @6 :UInt32; # keep this many log files, the current one included; 0: the default (2)
  start @7 :Bool;         # start the init process as well (`runc run --detach`: one runtime
                          # process instead of two); the answer's pid is then the running init
}
struct CreateResponse { error @0 :T.Error; pid @1 :UInt32; }

struct StartRequest { execId @0 :Text; }
struct StartResponse { error @0 :T.Error; pid @1 :UInt32; }

struct StateRequest { execId @0 :Text; }
struct StateResponse {
  error @0 :T.Error;
  id @1 :Text;
  execId @2 :Text;
  bundle @3 :Text;
  pid @4 :UInt32;
  status @5 :T.TaskStatus;
  stdio @6 :T.Stdio;
  exitStatus @7 :T.ExitStatus;   # set once stopped
}

struct PidsRequest {}
struct PidsResponse { error @0 :T.Error; processes @1 :List(T.ProcessInfo); }

struct PauseRequest {}
struct PauseResponse { error @0 :T.Error; }

struct ResumeRequest {}
struct ResumeResponse { error @0 :T.Error; }

struct KillRequest {
  execId @0 :Text;
  signal @1 :UInt32;
  all @2 :Bool;           # signal every process in the container, not just one
}
struct KillResponse { error @0 :T.Error; }

struct ExecRequest {
  execId @0 :Text;
  spec @1 :T.ProcessSpec;
  stdio @2 :T.Stdio;
}
struct ExecResponse { error @0 :T.Error; }

struct WaitRequest { execId @0 :Text; }
struct WaitResponse { error @0 :T.Error; status @1 :T.ExitStatus; }

struct DeleteRequest { execId @0 :Text; }
struct DeleteResponse { error @0 :T.Error; pid @1 :UInt32; status @2 :T.ExitStatus; }

struct CloseIoRequest { execId @0 :Text; stdin @1 :Bool; }
struct CloseIoResponse { error @0 :T.Error; }

struct AttachRequest {
  execId @0 :Text;
  stdio @1 :T.Stdio;      # new destinations; stdout/stderr empty keep the current ones
}
struct AttachResponse {
  error @0 :T.Error;
  stdinOpen @1 :Bool;     # false: the process's stdin is closed or was never a pipe
}

struct ResizePtyRequest { execId @0 :Text; width @1 :UInt32; height @2 :UInt32; }
struct ResizePtyResponse { error @0 :T.Error; }

struct UpdateRequest { resources @0 :T.Resources; }
struct UpdateResponse { error @0 :T.Error; }

struct StatsRequest {}
struct StatsResponse { error @0 :T.Error; stats @1 :T.Stats; }

struct CheckpointRequest {
  path @0 :Text;          # directory that receives the CRIU image
  exit @1 :Bool;          # stop the task after checkpointing
}
struct CheckpointResponse { error @0 :T.Error; }

struct ShutdownRequest { now @0 :Bool; }   # now: exit even with live processes (they are killed)
struct ShutdownResponse { error @0 :T.Error; }

struct ConnectRequest {}
struct ConnectResponse {
  error @0 :T.Error;
  shimPid @1 :UInt32;
  taskPid @2 :UInt32;
  version @3 :Text;
}

struct SubscribeRequest {
  sink @0 :T.EventSink;
  afterSequence @1 :UInt64;   # events up to and including this number were already seen
}
struct SubscribeResponse { error @0 :T.Error; }

interface Task {
  create @0 (req :CreateRequest) -> (resp :CreateResponse);
  # Runs `runc create` for the init process. Errors: alreadyExists (created
  # before), invalidArgument (bad bundle or config.json), internal (runc failed;
  # the message carries runc's own last log line).

  start @1 (req :StartRequest) -> (resp :StartResponse);
  # Starts the init process (`runc start`) or an exec process that was added
  # with `exec`. Errors: notFound (unknown execId), failedPrecondition (not in
  # created state), internal.

  state @2 (req :StateRequest) -> (resp :StateResponse);
  # Reports one process's status. Errors: notFound.

  pids @3 (req :PidsRequest) -> (resp :PidsResponse);
  # Lists the container's processes (`runc ps`). Errors: failedPrecondition
  # (no running container), internal.

  pause @4 (req :PauseRequest) -> (resp :PauseResponse);
  # Freezes the container. Errors: failedPrecondition (not running), internal.

  resume @5 (req :ResumeRequest) -> (resp :ResumeResponse);
  # Thaws a paused container. Errors: failedPrecondition (not paused), internal.

  kill @6 (req :KillRequest) -> (resp :KillResponse);
  # Sends a signal to one process, or to all with `all`. Errors: notFound
  # (unknown execId, or "process already finished"), failedPrecondition, internal.

  exec @7 (req :ExecRequest) -> (resp :ExecResponse);
  # Adds an exec process (created state; `start` with its execId runs it).
  # Errors: alreadyExists (execId in use), invalidArgument (bad execId or
  # spec), failedPrecondition (init not running).

  wait @8 (req :WaitRequest) -> (resp :WaitResponse);
  # Resolves when the process has exited, at once if it already has. Any
  # number of callers may wait. Errors: notFound.

  delete @9 (req :DeleteRequest) -> (resp :DeleteResponse);
  # Deletes a stopped (or never started) process: for init `runc delete`, for
  # an exec just forgetting it. Returns the exit status. Errors: notFound,
  # failedPrecondition (still running), internal.

  closeIo @10 (req :CloseIoRequest) -> (resp :CloseIoResponse);
  # Closes a process's stdin so it reads EOF. Errors: notFound.

  resizePty @11 (req :ResizePtyRequest) -> (resp :ResizePtyResponse);
  # Sets the window size of a process's terminal. Errors: notFound,
  # failedPrecondition (no terminal).

  update @12 (req :UpdateRequest) -> (resp :UpdateResponse);
  # Changes the container's resource limits (`runc update`). Errors:
  # failedPrecondition (not running or paused), internal.

  stats @13 (req :StatsRequest) -> (resp :StatsResponse);
  # Memory, CPU and pids usage read from the task's cgroup. Errors:
  # failedPrecondition (no container), internal.

  checkpoint @14 (req :CheckpointRequest) -> (resp :CheckpointResponse);
  # `runc checkpoint`. Errors: failedPrecondition (not running), unavailable
  # (CRIU cannot checkpoint on this machine; the message carries CRIU's reason).

  shutdown @15 (req :ShutdownRequest) -> (resp :ShutdownResponse);
  # Stops the shim once no live process remains. Errors: failedPrecondition
  # (processes still alive and `now` unset).

  connect @16 (req :ConnectRequest) -> (resp :ConnectResponse);
  # Who is this shim: its pid, the task's init pid, its version. Never fails.

  subscribe @17 (req :SubscribeRequest) -> (resp :SubscribeResponse);
  # Hands the shim a sink for events. Replaces any earlier sink. Events not yet
  # acknowledged (exits above all) are re-sent at once, in order, each with its
  # original sequence number. Errors: none.

  attach @18 (req :AttachRequest) -> (resp :AttachResponse);
  # Sends a live process's output to new FIFOs (the old destinations are let
  # go) and feeds a new stdin FIFO into its stdin, as `ctr task attach` does.
  # The new stdin reaching EOF detaches; it does not close the process's stdin
  # (closeIo does). Errors: notFound, failedPrecondition (stopped),
  # invalidArgument (a relative path, a stdin that is not a FIFO, a path that
  # cannot be opened; nothing was changed).
}
