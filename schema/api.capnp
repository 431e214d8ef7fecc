# berthd's public API, served on <state>/berth.sock. The `berth` CLI speaks it;
# so can any Cap'n Proto client. Bootstrap capability: `Berth`.
#
# Every method returns a response with an `error` field; when it is set the
# other fields are meaningless. Objects live in namespaces; a request names
# its namespace (empty means "default") and never sees another's objects.

@0x8299bced780f2a5d;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("berth::wire::api");

using T = import "types.capnp";

# ---- version ----------------------------------------------------------------
struct VersionRequest {}
struct VersionResponse { error @0 :T.Error; version @1 :Text; revision @2 :Text; }

# ---- namespaces -------------------------------------------------------------
struct NamespaceInfo { name @0 :Text; labels @1 :List(T.KeyValue); }
struct ListNamespacesRequest {}
struct ListNamespacesResponse { error @0 :T.Error; namespaces @1 :List(NamespaceInfo); }
struct CreateNamespaceRequest { name @0 :Text; labels @1 :List(T.KeyValue); }
struct CreateNamespaceResponse { error @0 :T.Error; }
struct DeleteNamespaceRequest { name @0 :Text; }
struct DeleteNamespaceResponse { error @0 :T.Error; }

# ---- containers -------------------------------------------------------------
struct ContainerInfo {
  id @0 :Text;
  image @1 :Text;           # image reference it was created from
  runtime @2 :Text;         # runtime name, e.g. "io.berth.runc.v1"
  runtimeOptions @3 :Text;  # JSON
  specJson @4 :Text;        # the OCI runtime spec
  snapshotKey @5 :Text;
  labels @6 :List(T.KeyValue);
  createdAt @7 :Int64;      # nanoseconds since the Unix epoch
  updatedAt @8 :Int64;
}
struct ContainerCreateOptions {
  # What `berth c create` offers on top of the image's own configuration.
  process @0 :T.ProcessSpec;  # args replace the image's cmd; env adds to it
  mounts @1 :List(T.Mount);
  rootfs @2 :Text;            # use this prepared directory instead of an image snapshot
  netHost @3 :Bool;
  readonlyRootfs @4 :Bool;
  memoryLimit @5 :Int64;      # bytes, 0 for none
  cpus @6 :Float64;           # 0 for no limit
  hostname @7 :Text;
  seccomp @8 :Text;           # "" (the default profile) or "unconfined"
  privileged @9 :Bool;        # every capability and device, no seccomp, no masked paths
  pidsLimit @10 :Int64;       # 0: the daemon's default; -1: no limit
  logMaxSize @11 :Int64;      # bytes per task log file before it rotates; 0: the daemon's default
  logMaxFiles @12 :Int32;     # task log files kept, the current one included; 0: the daemon's default
  capAdd @13 :List(Text);     # capabilities on top of the default set: "NET_ADMIN", "cap_net_admin", "ALL"
  capDrop @14 :List(Text);    # capabilities taken from it; "ALL" leaves only those in capAdd
  devices @15 :List(DeviceMapping);  # host devices the container gets
}
struct DeviceMapping {
  # A host device (character or block) made in the container and allowed in its device cgroup.
  hostPath @0 :Text;          # absolute; berthd refuses anything that is not a device
  containerPath @1 :Text;     # absolute and normalised; empty: hostPath
  permissions @2 :Text;       # some of "rwm" (read, write, mknod); empty: "rwm"
}
struct CreateContainerRequest {
  namespace @0 :Text;
  id @1 :Text;
  image @2 :Text;
  runtime @3 :Text;           # empty: the daemon's default runtime
  labels @4 :List(T.KeyValue);
  options @5 :ContainerCreateOptions;
}
struct CreateContainerResponse { error @0 :T.Error; container @1 :ContainerInfo; }
struct GetContainerRequest { namespace @0 :Text; id @1 :Text; }
struct GetContainerResponse { error @0 :T.Error; container @1 :ContainerInfo; }
struct ListContainersRequest {
  namespace @0 :Text;
  omitSpec @1 :Bool;  # leave each specJson empty: a listing needs none, and each is ~17 KB
}
struct ListContainersResponse { error @0 :T.Error; containers @1 :List(ContainerInfo); }
struct UpdateContainerRequest {
  namespace @0 :Text;
  id @1 :Text;
  labels @2 :List(T.KeyValue);   # merged into the container's labels; empty value removes a key
}
struct UpdateContainerResponse { error @0 :T.Error; container @1 :ContainerInfo; }
struct DeleteContainerRequest { namespace @0 :Text; id @1 :Text; }
struct DeleteContainerResponse { error @0 :T.Error; }

# ---- tasks ------------------------------------------------------------------
struct TaskInfo {
  id @0 :Text;
  pid @1 :UInt32;
  status @2 :T.TaskStatus;
  exitStatus @3 :T.ExitStatus;
}
struct CreateTaskRequest {
  namespace @0 :Text;
  id @1 :Text;                 # the container's id
  stdio @2 :T.Stdio;
  checkpoint @3 :Text;         # restore from this checkpoint instead of a fresh start
  start @4 :Bool;              # start the init process as well, in one runtime process
                               # (`runc run --detach`); the answer's pid is then the running
                               # process's, and Task.start of init is not needed
}
struct CreateTaskResponse { error @0 :T.Error; pid @1 :UInt32; }
struct GetTaskRequest { namespace @0 :Text; id @1 :Text; }
struct GetTaskResponse { error @0 :T.Error; task @1 :Task; info @2 :TaskInfo; }
struct ListTasksRequest { namespace @0 :Text; }
struct ListTasksResponse { error @0 :T.Error; tasks @1 :List(TaskInfo); }

struct StartRequest { execId @0 :Text; }
struct StartResponse { error @0 :T.Error; pid @1 :UInt32; }
struct StateRequest { execId @0 :Text; }
struct StateResponse { error @0 :T.Error; info @1 :TaskInfo; }
struct PidsRequest {}
struct PidsResponse { error @0 :T.Error; processes @1 :List(T.ProcessInfo); }
struct PauseRequest {}
struct PauseResponse { error @0 :T.Error; }
struct ResumeRequest {}
struct ResumeResponse { error @0 :T.Error; }
struct KillRequest { execId @0 :Text; signal @1 :UInt32; all @2 :Bool; }
struct KillResponse { error @0 :T.Error; }
struct ExecRequest { execId @0 :Text; spec @1 :T.ProcessSpec; stdio @2 :T.Stdio; }
struct ExecResponse { error @0 :T.Error; }
struct WaitRequest { execId @0 :Text; }
struct WaitResponse { error @0 :T.Error; status @1 :T.ExitStatus; }
struct DeleteRequest { execId @0 :Text; force @1 :Bool; }
struct DeleteResponse { error @0 :T.Error; pid @1 :UInt32; status @2 :T.ExitStatus; }
struct CloseIoRequest { execId @0 :Text; stdin @1 :Bool; }
struct CloseIoResponse { error @0 :T.Error; }
struct AttachRequest { execId @0 :Text; stdio @1 :T.Stdio; }
struct AttachResponse { error @0 :T.Error; stdinOpen @1 :Bool; }
struct ResizePtyRequest { execId @0 :Text; width @1 :UInt32; height @2 :UInt32; }
struct ResizePtyResponse { error @0 :T.Error; }
struct UpdateRequest { resources @0 :T.Resources; }
struct UpdateResponse { error @0 :T.Error; }
struct MetricsRequest {}
struct MetricsResponse { error @0 :T.Error; stats @1 :T.Stats; }
struct CheckpointRequest { path @0 :Text; exit @1 :Bool; }
struct CheckpointResponse { error @0 :T.Error; }
struct LogsRequest {
  follow @0 :Bool;
  sink @1 :LogSink;
  tail @2 :Int64;    # only the last `tail` lines; 0 or negative: all
  since @3 :Int64;   # only lines logged at or after this time (ns since the epoch); 0: all
}
struct LogsResponse { error @0 :T.Error; }

interface LogSink {
  # Receives a task's log, line by line, as the shim recorded it.
  write @0 (stream :Text, timestamp :Int64, line :Data, partial :Bool) -> ();
  # `timestamp` is when the shim read the line (ns since the epoch); `partial`
  # says the line goes on in the next write (the container wrote no newline yet).
}

interface Task {
  # One task (the running instance of a container). Obtained from
  # Berth.createTask or Berth.getTask; calls may be pipelined on it.

  start @0 (req :StartRequest) -> (resp :StartResponse);
  # Starts the init process, or an exec process by execId. Errors: notFound,
  # failedPrecondition (not created), deadlineExceeded (shim did not answer), internal.
  state @1 (req :StateRequest) -> (resp :StateResponse);
  # Status of the task or of one exec. Errors: notFound, deadlineExceeded.
  pids @2 (req :PidsRequest) -> (resp :PidsResponse);
  # Processes in the container. Errors: failedPrecondition, deadlineExceeded, internal.
  pause @3 (req :PauseRequest) -> (resp :PauseResponse);
  # Freezes the task. Errors: failedPrecondition (not running), deadlineExceeded, internal.
  resume @4 (req :ResumeRequest) -> (resp :ResumeResponse);
  # Thaws the task. Errors: failedPrecondition (not paused), deadlineExceeded, internal.
  kill @5 (req :KillRequest) -> (resp :KillResponse);
  # Signals the init process, one exec, or all processes. Errors: notFound
  # ("process already finished"), failedPrecondition, invalidArgument (bad signal).
  exec @6 (req :ExecRequest) -> (resp :ExecResponse);
  # Adds an exec process; start it with `start(execId)`. Errors: alreadyExists,
  # invalidArgument, failedPrecondition (task not running).
  wait @7 (req :WaitRequest) -> (resp :WaitResponse);
  # Resolves with the exit status when the process exits. Errors: notFound.
  delete @8 (req :DeleteRequest) -> (resp :DeleteResponse);
  # Deletes a stopped task (or exec) and returns its exit status; `force`
  # kills a live one first. Errors: failedPrecondition (running, no force), notFound.
  closeIo @9 (req :CloseIoRequest) -> (resp :CloseIoResponse);
  # Closes stdin of a process. Errors: notFound.
  resizePty @10 (req :ResizePtyRequest) -> (resp :ResizePtyResponse);
  # Sets a terminal's size. Errors: notFound, failedPrecondition (no terminal).
  update @11 (req :UpdateRequest) -> (resp :UpdateResponse);
  # Changes resource limits. Errors: failedPrecondition, invalidArgument, internal.
  metrics @12 (req :MetricsRequest) -> (resp :MetricsResponse);
  # Memory, CPU and pids usage. Errors: failedPrecondition, internal.
  checkpoint @13 (req :CheckpointRequest) -> (resp :CheckpointResponse);
  # Checkpoints the task with CRIU. Errors: failedPrecondition, unavailable
  # (CRIU cannot run here; the message says why).
  logs @14 (req :LogsRequest) -> (resp :LogsResponse);
  # Streams the task's log into `sink`; with `follow` keeps streaming until
  # the task exits. Errors: notFound.
  attach @15 (req :AttachRequest) -> (resp :AttachResponse);
  # Reconnects a live process's standard streams to new FIFOs (`berth t attach`);
  # `stdinOpen` says whether input can still reach it. Errors: notFound,
  # failedPrecondition (stopped), invalidArgument, deadlineExceeded.
}

# ---- images -----------------------------------------------------------------
struct ImageInfo {
  name @0 :Text;          # reference, e.g. "docker.io/library/busybox:latest"
  digest @1 :Text;        # target manifest digest, "sha256:..."
  mediaType @2 :Text;
  size @3 :Int64;         # total bytes of the image's blobs
  labels @4 :List(T.KeyValue);
  createdAt @5 :Int64;
}
struct ImportProgress { bytesDone @0 :Int64; bytesTotal @1 :Int64; layersDone @2 :UInt32; layersTotal @3 :UInt32; }
interface ImportProgressSink {
  progress @0 (progress :ImportProgress) -> ();
}
struct ImportImageRequest {
  namespace @0 :Text;
  archivePath @1 :Text;   # a docker-archive or OCI-layout tar readable by the daemon
  name @2 :Text;          # overrides the archive's own tags
  platform @3 :Text;      # "linux/amd64" when empty
  progress @4 :ImportProgressSink;   # optional
}
struct ImportImageResponse { error @0 :T.Error; images @1 :List(ImageInfo); }
struct PullProgress {
  digest @0 :Text;        # the blob this report is about
  bytesDone @1 :Int64;
  bytesTotal @2 :Int64;
  cached @3 :Bool;        # already in the content store: not fetched
  done @4 :Bool;          # the blob is complete
  mountedFrom @5 :Text;   # push: mounted from this repository of the registry, not uploaded
}
interface PullProgressSink {
  progress @0 (progress :PullProgress) -> ();
}
struct PullImageRequest {
  namespace @0 :Text;
  reference @1 :Text;     # e.g. "busybox", "127.0.0.1:5000/app:1.0", "name@sha256:..."
  platform @2 :Text;      # "linux/amd64" when empty
  plainHttp @3 :Bool;     # http:// instead of https://
  username @4 :Text;      # empty: anonymous
  password @5 :Text;
  progress @6 :PullProgressSink;   # optional
  allPlatforms @7 :Bool;  # every platform of an index; the image names the index
}
struct PullImageResponse { error @0 :T.Error; image @1 :ImageInfo; }
interface ByteSink {
  write @0 (data :Data) -> ();   # chunks in order; the call's answer asks for the next
}
struct ExportImagesRequest {
  namespace @0 :Text;
  names @1 :List(Text);   # image references, as stored or as typed
  sink @2 :ByteSink;      # receives the archive
}
struct ExportImagesResponse { error @0 :T.Error; bytes @1 :Int64; }
struct PushImageRequest {
  namespace @0 :Text;
  name @1 :Text;          # the local image
  target @2 :Text;        # where to: a reference with a tag
  plainHttp @3 :Bool;
  username @4 :Text;
  password @5 :Text;
  progress @6 :PullProgressSink;   # optional; `cached`: the registry had the blob
}
struct PushImageResponse { error @0 :T.Error; digest @1 :Text; }
struct ListImagesRequest { namespace @0 :Text; }
struct ListImagesResponse { error @0 :T.Error; images @1 :List(ImageInfo); }
struct GetImageRequest { namespace @0 :Text; name @1 :Text; }
struct GetImageResponse { error @0 :T.Error; image @1 :ImageInfo; }
struct RemoveImageRequest { namespace @0 :Text; name @1 :Text; }
struct RemoveImageResponse { error @0 :T.Error; }
struct TagImageRequest { namespace @0 :Text; source @1 :Text; target @2 :Text; }
struct TagImageResponse { error @0 :T.Error; image @1 :ImageInfo; }

# ---- events -----------------------------------------------------------------
struct EventFilter {
  namespace @0 :Text;     # empty: every namespace
  topicPrefix @1 :Text;   # e.g. "/tasks/"; empty: every topic
}
struct SubscribeRequest {
  filter @0 :EventFilter;
  sink @1 :T.EventSink;
  since @2 :UInt64 = 0xffffffffffffffff;
  # The sequence number of the last event the subscriber saw: every matching
  # event numbered above it is sent first (from the log berthd keeps, also
  # across restarts), then the live ones, each exactly once and in order.
  # 0 replays every event kept. The default (all ones) means live events only.
  # The sink must return from each publish: a subscriber with too many
  # events unreturned gets a final subscriberTooSlow event and is dropped.
}
struct SubscribeResponse { error @0 :T.Error; subscription @1 :Subscription; }
interface Subscription {
  # Dropping this capability (or calling cancel) ends the subscription.
  cancel @0 () -> ();
}

# ---- nodes (docs/cluster.md) ------------------------------------------------
struct NodeInfo {
  name @0 :Text;
  address @1 :Text;      # HOST:PORT of its published actors
  up @2 :Bool;
  reason @3 :Text;       # why it is down (or why its counts are missing)
  containers @4 :UInt32;
  tasks @5 :UInt32;
}
struct ListNodesRequest {}
struct ListNodesResponse { error @0 :T.Error; nodes @1 :List(NodeInfo); }
struct AtNodeRequest { name @0 :Text; }
struct AtNodeResponse { error @0 :T.Error; }

interface Berth {
  version @0 (req :VersionRequest) -> (resp :VersionResponse);
  # The daemon's version. Never fails.

  listNamespaces @1 (req :ListNamespacesRequest) -> (resp :ListNamespacesResponse);
  # Every namespace. Errors: internal.
  createNamespace @2 (req :CreateNamespaceRequest) -> (resp :CreateNamespaceResponse);
  # Errors: invalidArgument (bad name), alreadyExists.
  deleteNamespace @3 (req :DeleteNamespaceRequest) -> (resp :DeleteNamespaceResponse);
  # Errors: notFound, failedPrecondition (namespace still holds objects).

  createContainer @4 (req :CreateContainerRequest) -> (resp :CreateContainerResponse);
  # Records a container (metadata only; nothing runs). Errors: invalidArgument
  # (bad id, unknown runtime naming the known ones, a capability that is not one or
  # that berthd's own bounding set lacks, a device path that is not a device on the
  # host), alreadyExists, notFound (image).
  getContainer @5 (req :GetContainerRequest) -> (resp :GetContainerResponse);
  # Errors: notFound.
  listContainers @6 (req :ListContainersRequest) -> (resp :ListContainersResponse);
  # Errors: invalidArgument (bad namespace).
  updateContainer @7 (req :UpdateContainerRequest) -> (resp :UpdateContainerResponse);
  # Errors: notFound, invalidArgument.
  deleteContainer @8 (req :DeleteContainerRequest) -> (resp :DeleteContainerResponse);
  # Errors: notFound, failedPrecondition (a task still exists).

  createTask @9 (req :CreateTaskRequest) -> (resp :CreateTaskResponse, task :Task);
  # Starts a shim and creates the container's init process (not yet started).
  # `task` may be used at once: `createTask(...).task.start(...)` is one round
  # trip. Errors: notFound (container), alreadyExists (task exists),
  # invalidArgument, unavailable (shim would not start), internal.
  getTask @10 (req :GetTaskRequest) -> (resp :GetTaskResponse);
  # Errors: notFound.
  listTasks @11 (req :ListTasksRequest) -> (resp :ListTasksResponse);
  # Every task in the namespace; never waits on a shim that does not answer.

  importImage @12 (req :ImportImageRequest) -> (resp :ImportImageResponse);
  # Imports a docker-archive or OCI-layout tar. Errors: invalidArgument
  # (malformed archive, digest mismatch, unsafe entry, unsupported media type),
  # notFound (no manifest for the platform, missing blob).
  listImages @13 (req :ListImagesRequest) -> (resp :ListImagesResponse);
  getImage @14 (req :GetImageRequest) -> (resp :GetImageResponse);
  # Errors: notFound.
  removeImage @15 (req :RemoveImageRequest) -> (resp :RemoveImageResponse);
  # Errors: notFound, failedPrecondition (a container uses it).
  tagImage @16 (req :TagImageRequest) -> (resp :TagImageResponse);
  # Errors: notFound (source), alreadyExists (target), invalidArgument.

  subscribe @17 (req :SubscribeRequest) -> (resp :SubscribeResponse);
  # Sends matching events to `sink` until the subscription is dropped.
  # Errors: invalidArgument (bad filter, or `since` past the newest event),
  # failedPrecondition (events after `since` were pruned; the message names
  # the oldest kept).

  listNodes @18 (req :ListNodesRequest) -> (resp :ListNodesResponse);
  # Every node this berthd's node knows, itself first, up or down, with its
  # containers and tasks. Errors: failedPrecondition (berthd publishes no
  # actors: started without --actor-address).
  atNode @19 (req :AtNodeRequest) -> (resp :AtNodeResponse, berth :Berth);
  # The named node's Berth: every call on it goes to that node's actors, so
  # its containers run there. Task logs are files on that node and are not
  # served through another. Errors: invalidArgument (bad name), notFound (no
  # node of that name), unavailable (it is down), failedPrecondition (no
  # --actor-address).

  pullImage @20 (req :PullImageRequest) -> (resp :PullImageResponse);
  # Pulls an image from its registry (OCI distribution API) and names it.
  # Errors: invalidArgument (bad reference, digest mismatch, unsupported media
  # type), notFound (no such manifest, or none for the platform),
  # failedPrecondition (authentication required or refused), internal (the
  # registry cannot be reached, or answers 5xx after retries).
  exportImages @21 (req :ExportImagesRequest) -> (resp :ExportImagesResponse);
  # Sends the named images as one OCI image layout tar to `sink`, then
  # answers with its size. Errors: invalidArgument (no names, a bad name, no
  # sink), notFound (an image), internal.
  pushImage @22 (req :PushImageRequest) -> (resp :PushImageResponse);
  # Uploads the blobs the registry lacks (HEAD first), then the manifest under
  # the target's tag. Errors as pullImage's; notFound also for the local image.
}
