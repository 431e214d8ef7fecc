# Types shared by the shim's Task service (shim.capnp) and the daemon's public
# API (api.capnp).
#
# Evolution rules for every berth schema: fields are only ever added; a retired
# field keeps its ordinal under a name starting with `obsolete`; every method
# takes one request struct and returns one response struct.

@0xfb4d60981536374c;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("berth::wire");

enum ErrorCode {
  # A stable, machine-readable error class. Clients branch on the code, show
  # the message.
  ok @0;
  notFound @1;            # the named object does not exist (or is already gone)
  alreadyExists @2;       # an object of that id exists
  failedPrecondition @3;  # the object is in a state where the operation is illegal
  invalidArgument @4;     # the request itself is malformed (bad id, bad spec, bad flag)
  unavailable @5;         # a dependency cannot serve now (shim gone, CRIU unusable)
  notImplemented @6;      # the operation exists in the contract but not in this build
  internal @7;            # a bug or an unexpected system failure
  deadlineExceeded @8;    # the callee did not answer in time
}

struct Error {
  # Carried in the `error` field of every response. A response whose `error`
  # is unset (or whose code is `ok`) succeeded.
  code @0 :ErrorCode;
  message @1 :Text;   # what failed, on which object, and why; meant for a person
}

struct KeyValue {
  key @0 :Text;
  value @1 :Text;
}

struct Mount {
  # One OCI mount, as in config.json's `mounts`.
  type @0 :Text;          # "bind", "overlay", "tmpfs", ...
  source @1 :Text;
  destination @2 :Text;   # path inside the container
  options @3 :List(Text); # "ro", "rbind", ...
}

struct User {
  uid @0 :UInt32;
  gid @1 :UInt32;
  additionalGids @2 :List(UInt32);
  name @3 :Text;          # unresolved name ("nobody", "1000:1000"); empty when uid/gid are set
}

struct ProcessSpec {
  # A process to run in a container: the OCI `process` object, typed.
  args @0 :List(Text);
  env @1 :List(Text);     # "KEY=VALUE"
  cwd @2 :Text;           # defaults to "/"
  user @3 :User;
  terminal @4 :Bool;
  ociJson @5 :Text;       # optional: a full OCI process JSON that overrides the fields above
}

struct Stdio {
  # Where a process's standard streams go. Each is a path to a FIFO or a
  # regular file on the shim's host; empty means /dev/null.
  stdin @0 :Text;
  stdout @1 :Text;
  stderr @2 :Text;
  terminal @3 :Bool;      # allocate a pty; stderr is then merged into stdout
  openStdin @4 :Bool;
  # With no stdin path: give the process a stdin pipe that stays open while
  # nobody writes (as ctr's detached tasks have), fed later through attach and
  # closed by closeIo. Ignored when stdin is set or with a terminal.
}

struct ExitStatus {
  code @0 :Int32;         # exit code, or 128 + signal when killed by a signal
  signal @1 :Int32;       # the terminating signal, 0 when the process exited
  exitedAt @2 :Int64;     # nanoseconds since the Unix epoch
  reason @3 :Text;        # set when berth, not the process, decided the status (e.g. "shim died")
}

enum TaskStatus {
  unknown @0;
  created @1;
  running @2;
  paused @3;
  stopped @4;
  createdCheckpoint @5;
  deleted @6;
}

struct ProcessInfo {
  pid @0 :UInt32;
  execId @1 :Text;        # empty for the init process or processes berth did not start
  command @2 :Text;
}

struct Resources {
  # Linux resource limits, the subset `update` changes. Zero means unchanged.
  memoryLimit @0 :Int64;  # bytes
  cpuQuota @1 :Int64;     # microseconds per cpuPeriod
  cpuPeriod @2 :UInt64;
  cpuShares @3 :UInt64;
  pidsLimit @4 :Int64;
}

struct Stats {
  memoryUsage @0 :UInt64;   # bytes
  memoryLimit @1 :UInt64;
  cpuUsageNs @2 :UInt64;    # total CPU time in nanoseconds
  pidsCurrent @3 :UInt64;
  pidsLimit @4 :UInt64;
}

struct Event {
  # One event from the life of a task, a container, or an image.
  sequence @0 :UInt64;    # increasing per publisher; a repeat carries its original number
  namespace @1 :Text;
  id @2 :Text;            # the container / task / image the event is about
  timestamp @3 :Int64;    # nanoseconds since the Unix epoch
  union {
    taskCreate :group { pid @4 :UInt32; bundle @5 :Text; }
    taskStart :group { pid @6 :UInt32; }
    taskExit :group { execId @7 :Text; pid @8 :UInt32; status @9 :ExitStatus; }
    taskOom @10 :Void;
    taskPaused @11 :Void;
    taskResumed @12 :Void;
    taskDelete :group { pid @13 :UInt32; status @14 :ExitStatus; }
    taskExecAdded :group { execId @15 :Text; }
    taskExecStarted :group { execId @16 :Text; pid @17 :UInt32; }
    containerCreate :group { image @18 :Text; runtime @19 :Text; }
    containerUpdate @20 :Void;
    containerDelete @21 :Void;
    imageCreate :group { name @22 :Text; digest @23 :Text; }
    imageUpdate :group { name @24 :Text; digest @25 :Text; }
    imageDelete :group { name @26 :Text; }
    subscriberTooSlow :group {
      # berthd's last event to a subscriber it drops for falling behind;
      # never stored, so it carries sequence 0.
      behind @28 :UInt64;       # events not acknowledged
      resumeSince @29 :UInt64;  # resubscribe with since = this to lose nothing
      message @30 :Text;        # "subscriber too slow: N events behind; resubscribe with --since S"
    }
  }
  topic @27 :Text;        # "/tasks/exit", "/containers/create", ... (for filtering)
}

interface EventSink {
  # Receives events. The publisher counts an event as delivered only when
  # `publish` returns; an unreturned event is sent again, with the same
  # sequence number, when a new sink subscribes.
  publish @0 (event :Event) -> ();
}
