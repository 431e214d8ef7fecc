// The Node.js counterpart of berth_client.cpp, with capnp-es (npm): lists the
// containers, then runs one with createTask and start pipelined. Generate the
// schema code first (README.md), then:
//   node client.mjs unix:/run/berth/berth.sock ID [ARGS...]
import net from "node:net";
import { Conn, Message } from "capnp-es";
import { Message as RpcMessage } from "capnp-es/capnp/rpc";
import { Berth } from "./gen/api.js";

// Cap'n Proto's stream framing over a socket: (segment count - 1), each
// segment's size in words, padding to 8 bytes, then the segments.
class SocketTransport {
  constructor(socket) {
    this.socket = socket;
    this.buffer = Buffer.alloc(0);
    this.ready = [];
    this.waiting = [];
    socket.on("data", (chunk) => this.receive(chunk));
    socket.on("close", () => this.fail(new Error("berthd closed the connection")));
    socket.on("error", (err) => this.fail(err));
  }
  receive(chunk) {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      if (this.buffer.length < 8) return;
      const segments = this.buffer.readUInt32LE(0) + 1;
      let header = 4 + 4 * segments;
      header += header % 8;
      if (this.buffer.length < header) return;
      let words = 0;
      for (let i = 0; i < segments; i++) words += this.buffer.readUInt32LE(4 + 4 * i);
      const total = header + 8 * words;
      if (this.buffer.length < total) return;
      const frame = this.buffer.subarray(0, total);
      this.buffer = this.buffer.subarray(total);
      const copy = new Uint8Array(frame).buffer;  // capnp-es reads an ArrayBuffer
      const msg = new Message(copy, false).getRoot(RpcMessage);
      const w = this.waiting.shift();
      if (w) w.resolve(msg); else this.ready.push(msg);
    }
  }
  fail(err) {
    this.closed = err;
    for (const w of this.waiting.splice(0)) w.reject(err);
  }
  sendMessage(msg) {
    this.socket.write(new Uint8Array(msg.segment.message.toArrayBuffer()));
  }
  recvMessage() {
    if (this.ready.length) return Promise.resolve(this.ready.shift());
    if (this.closed) return Promise.reject(this.closed);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }
  close() {
    this.socket.end();
  }
}

function check(resp, what) {
  if (resp._hasError() && resp.error.code !== 0) throw new Error(`${what}: ${resp.error.message}`);
}

const [address, id, ...args] = process.argv.slice(2);
if (!address || !id || !address.startsWith("unix:")) {
  console.error("usage: node client.mjs unix:PATH ID [ARGS...]");
  process.exit(2);
}
const socket = net.createConnection(address.slice(5));
await new Promise((resolve, reject) => socket.once("connect", resolve).once("error", reject));
const conn = new Conn(new SocketTransport(socket));
const berth = conn.bootstrap(Berth);
const rootfs = process.env.BERTH_EXAMPLE_ROOTFS ?? "";

const listed = await berth.listContainers((p) => { p._initReq().namespace = "default"; }).promise();
check(listed.resp, "list containers");
console.log(`${listed.resp.containers.length} container(s) in namespace default`);

const created = await berth.createContainer((p) => {
  const r = p._initReq();
  r.namespace = "default";
  r.id = id;
  r.image = "local/busybox:latest";
  const o = r._initOptions();
  if (rootfs) o.rootfs = rootfs;
  const a = o._initProcess()._initArgs(args.length);
  args.forEach((x, i) => a.set(i, x));
}).promise();
check(created.resp, `create container ${id}`);

// createTask, and start on the task it will return: one round trip.
const task = berth.createTask((p) => { const r = p._initReq(); r.namespace = "default"; r.id = id; });
const start = task.getTask().start((p) => { p._initReq(); });
check((await task.promise()).resp, `create task ${id}`);
const started = await start.promise();
check(started.resp, `start task ${id}`);
console.log(`started ${id} (pid ${started.resp.pid})`);

const t = task.getTask();
const waited = await t.wait((p) => { p._initReq(); }).promise();
check(waited.resp, `wait for ${id}`);
console.log(`${id} exited with status ${waited.resp.status.code}`);
check((await t.delete((p) => { p._initReq(); }).promise()).resp, `delete task ${id}`);
check((await berth.deleteContainer((p) => { const r = p._initReq(); r.namespace = "default"; r.id = id; }).promise()).resp, `delete container ${id}`);
socket.destroy();
process.exit(0);
