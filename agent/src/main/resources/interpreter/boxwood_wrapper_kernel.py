# A Jupyter kernel that runs cells in a long-lived child runtime: bash, node or JShell. Boxwood ships it in the agent
# jar so those languages need no extra kernel package in a template.
#
# It speaks the Jupyter messaging protocol (5.3) itself, over pyzmq, instead of subclassing ipykernel's Kernel: that
# base class imports IPython, tornado and debugpy, about 45 MB of private memory in every sandbox that has one of these
# kernels running, for a kernel that only relays cells to its child. It serves what a client of a kernel needs:
# kernel_info, execute (busy/idle, execute_input, stream, execute_result, error), interrupt (SIGINT, as its kernelspec
# says), shutdown, the heartbeat, and empty answers to completion, inspection and history requests.
#
# Protocol with the child: one cell per request on the child's stdin; the child runs it, writes MARK to its stdout
# and stderr (so all output of the cell has been read), then one JSON line on the status fd:
#   {"status": "ok", "result": "<text or null>"} or {"status": "error", "ename", "evalue", "traceback": [...]}
# The child is in its own process group; an interrupt (SIGINT to this kernel) is forwarded to that group.

import datetime
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import zmq

MARK = b"\x1eBWEND\x1e"
HERE = os.path.dirname(os.path.abspath(__file__))
RUNTIME = os.environ.get("BOXWOOD_RUNTIME", "bash")

BASH_PRELUDE = r"""
trap ':' INT
__bw_run() {
  source "$1"
  local __bw_rc=$?
  printf '\036BWEND\036'
  printf '\036BWEND\036' >&2
  printf '{"status":"ok","exit_code":%d}\n' "$__bw_rc" >&"$BOXWOOD_STATUS_FD"
}
"""


class Child:
    def __init__(self, kernel):
        self.kernel = kernel
        read_fd, write_fd = os.pipe()
        env = dict(os.environ)
        env["BOXWOOD_STATUS_FD"] = str(write_fd)
        env.pop("BOXWOOD_RUNTIME", None)
        env.pop("BOXWOOD_LANGUAGE", None)
        if RUNTIME == "bash":
            argv = ["bash", "--noprofile", "--norc"]
        elif RUNTIME == "node":
            argv = ["node", os.path.join(HERE, "boxwood_node_runner.js")]
            env.setdefault("NODE_PATH", "/usr/local/lib/node_modules:/usr/lib/node_modules:/usr/share/nodejs")
        elif RUNTIME == "java":
            # Small heaps: the JShell front end and its execution JVM share the sandbox's memory with everything.
            argv = [os.environ.get("BOXWOOD_JAVA", "java"), "-Xmx96m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                    "-Xshare:auto", "-cp", os.environ["BOXWOOD_AGENT_JAR"], "dev.boxwood.agent.interpreter.JShellRunner"]
        else:
            raise SystemExit("unknown runtime " + RUNTIME)
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     pass_fds=(write_fd,), start_new_session=True, env=env)
        os.close(write_fd)
        self.status = os.fdopen(read_fd, "rb")
        self.ended = {"stdout": threading.Event(), "stderr": threading.Event()}
        for name, pipe in (("stdout", self.proc.stdout), ("stderr", self.proc.stderr)):
            threading.Thread(target=self.pump, args=(name, pipe), daemon=True).start()
        if RUNTIME == "bash":
            self.send(BASH_PRELUDE.encode())
        self.cell_dir = tempfile.mkdtemp(prefix="boxwood-cells-")
        self.running = False

    def interrupt(self):
        if self.running:
            try:
                os.killpg(self.proc.pid, signal.SIGINT)
            except ProcessLookupError:
                pass

    def send(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def pump(self, name, pipe):
        pending = b""
        fd = pipe.fileno()
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            pending += chunk
            while True:
                at = pending.find(MARK)
                if at < 0:
                    break
                self.emit(name, pending[:at])
                pending = pending[at + len(MARK):]
                self.ended[name].set()
            # Keep a possible partial marker back; everything before it can go out now.
            keep = 0
            for n in range(min(len(MARK) - 1, len(pending)), 0, -1):
                if MARK.startswith(pending[-n:]):
                    keep = n
                    break
            self.emit(name, pending[:len(pending) - keep])
            pending = pending[len(pending) - keep:]
        self.emit(name, pending)

    def emit(self, name, data):
        if data:
            text = data.decode("utf-8", errors="replace")
            self.kernel.publish("stream", {"name": name, "text": text})

    def run(self, code):
        for event in self.ended.values():
            event.clear()
        self.running = True  # before the cell goes out: an interrupt from then on is for it
        if RUNTIME == "bash":
            path = os.path.join(self.cell_dir, "cell.sh")
            with open(path, "w") as f:
                f.write(code)
                f.write("\n")
            self.send(("__bw_run " + path + "\n").encode())
        else:
            self.send((json.dumps({"code": code}) + "\n").encode())
        try:
            line = self.status.readline()  # a SIGINT meanwhile goes to the child (interrupt), then this read resumes
        finally:
            self.running = False
        if not line:
            # The runtime is gone: so is this kernel, and the agent starts a new one.
            self.kernel.publish("stream", {"name": "stderr", "text": "the %s runtime exited\n" % RUNTIME})
            os._exit(1)
        for event in self.ended.values():
            event.wait(5)
        return json.loads(line)


DELIMITER = b"<IDS|MSG>"
LANGUAGE = os.environ.get("BOXWOOD_LANGUAGE") or {"bash": "bash", "node": "javascript", "java": "java"}[RUNTIME]
LANGUAGE_INFO = {
    "name": LANGUAGE,
    "mimetype": {"bash": "text/x-sh", "node": "application/javascript", "java": "text/x-java"}[RUNTIME],
    "file_extension": {"bash": ".sh", "node": ".js", "java": ".jshell"}[RUNTIME],
}


def now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z")


class BoxwoodKernel:
    def __init__(self, connection):
        self.session = uuid.uuid4().hex
        self.key = connection.get("key", "").encode()
        self.digest = {"hmac-sha256": hashlib.sha256}.get(connection.get("signature_scheme", "hmac-sha256"))
        if self.key and self.digest is None:
            raise SystemExit("unsupported signature scheme " + connection.get("signature_scheme"))
        self.context = zmq.Context()
        endpoint = "%s://%s:%%d" % (connection.get("transport", "tcp"), connection["ip"])
        self.shell = self.bind(zmq.ROUTER, endpoint % connection["shell_port"])
        self.control = self.bind(zmq.ROUTER, endpoint % connection["control_port"])
        self.stdin = self.bind(zmq.ROUTER, endpoint % connection["stdin_port"])
        self.iopub = self.bind(zmq.PUB, endpoint % connection["iopub_port"])
        heartbeat = self.bind(zmq.REP, endpoint % connection["hb_port"])
        threading.Thread(target=self.echo, args=(heartbeat,), daemon=True).start()
        # The child's output pumps publish from their own threads: zmq sockets need one user at a time.
        self.iopub_lock = threading.Lock()
        self.parent = {}
        self.execution_count = 0
        self.child = Child(self)
        # An interrupt is for the running cell: forwarded to the child's process group, never raised in this
        # process (where it could cut a reply in half); with no cell running there is nothing to interrupt.
        signal.signal(signal.SIGINT, lambda signum, frame: self.child.interrupt())

    def bind(self, kind, endpoint):
        socket = self.context.socket(kind)
        socket.linger = 1000
        socket.bind(endpoint)
        return socket

    @staticmethod
    def echo(socket):
        while True:
            socket.send(socket.recv())

    def sign(self, parts):
        if not self.key:
            return b""
        mac = hmac.new(self.key, digestmod=self.digest)
        for part in parts:
            mac.update(part)
        return mac.hexdigest().encode()

    def message(self, msg_type, content, parent):
        header = {"msg_id": uuid.uuid4().hex, "session": self.session, "username": "kernel", "date": now(),
                  "msg_type": msg_type, "version": "5.3"}
        parts = [json.dumps(p).encode() for p in (header, parent, {}, content)]
        return [DELIMITER, self.sign(parts)] + parts

    def publish(self, msg_type, content, parent=None):
        frames = self.message(msg_type, content, self.parent if parent is None else parent)
        with self.iopub_lock:
            self.iopub.send_multipart([("kernel.%s.%s" % (self.session, msg_type)).encode()] + frames)

    def receive(self, socket):
        frames = socket.recv_multipart()
        try:
            at = frames.index(DELIMITER)
            identities, signature, parts = frames[:at], frames[at + 1], frames[at + 2:at + 6]
            if len(parts) < 4 or not hmac.compare_digest(signature, self.sign(parts)):
                return identities, None  # not from whoever holds the key: ignored, as ipykernel does
            header, parent, metadata, content = (json.loads(p) for p in parts)
        except (ValueError, IndexError):
            return [], None  # not a Jupyter message at all: ignored, the kernel serves on
        return identities, {"header": header, "content": content}

    def serve(self):
        poller = zmq.Poller()
        poller.register(self.control, zmq.POLLIN)
        poller.register(self.shell, zmq.POLLIN)
        while True:
            ready = dict(poller.poll())
            # control first: a shutdown or interrupt must not wait behind queued cells
            for socket in (self.control, self.shell):
                if socket in ready:
                    identities, request = self.receive(socket)
                    if request is not None:
                        self.handle(socket, identities, request)

    def handle(self, socket, identities, request):
        header = request["header"]
        kind = header.get("msg_type", "")
        self.parent = header
        self.publish("status", {"execution_state": "busy"}, header)
        try:
            answer = getattr(self, "on_" + kind, None)
            reply = answer(request["content"]) if answer else None
            if reply is not None:
                socket.send_multipart(identities + self.message(kind.replace("_request", "_reply"), reply, header))
        finally:
            self.publish("status", {"execution_state": "idle"}, header)
        if kind == "shutdown_request":
            self.shutdown()

    def on_kernel_info_request(self, content):
        return {"status": "ok", "protocol_version": "5.3", "implementation": "boxwood-" + RUNTIME,
                "implementation_version": "1.0", "language_info": LANGUAGE_INFO,
                "banner": "Boxwood " + RUNTIME + " kernel", "help_links": []}

    def on_execute_request(self, content):
        code = content.get("code", "")
        silent = bool(content.get("silent", False))
        if not silent:
            self.execution_count += 1
            self.publish("execute_input", {"code": code, "execution_count": self.execution_count})
        ok = {"status": "ok", "execution_count": self.execution_count, "payload": [], "user_expressions": {}}
        if not code.strip():
            return ok
        outcome = self.child.run(code)
        if outcome.get("status") == "ok" and outcome.get("exit_code", 0) != 0:
            outcome = {"status": "error", "ename": "ExitCodeError",
                       "evalue": "the last command exited with code %d" % outcome["exit_code"], "traceback": []}
        if outcome.get("status") == "error":
            error = {"ename": outcome.get("ename", "Error"), "evalue": outcome.get("evalue", ""),
                     "traceback": outcome.get("traceback") or []}
            if not silent:
                self.publish("error", error)
            return dict(status="error", execution_count=self.execution_count, **error)
        result = outcome.get("result")
        if result is not None and not silent:
            self.publish("execute_result", {"execution_count": self.execution_count,
                                            "data": {"text/plain": result}, "metadata": {}})
        return ok

    def on_interrupt_request(self, content):
        self.child.interrupt()
        return {"status": "ok"}

    def on_shutdown_request(self, content):
        return {"status": "ok", "restart": bool(content.get("restart", False))}

    def on_is_complete_request(self, content):
        return {"status": "unknown"}

    def on_complete_request(self, content):
        cursor = content.get("cursor_pos", 0)
        return {"status": "ok", "matches": [], "cursor_start": cursor, "cursor_end": cursor, "metadata": {}}

    def on_inspect_request(self, content):
        return {"status": "ok", "found": False, "data": {}, "metadata": {}}

    def on_history_request(self, content):
        return {"status": "ok", "history": []}

    def on_comm_info_request(self, content):
        return {"status": "ok", "comms": {}}

    def shutdown(self):
        try:
            os.killpg(self.child.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os._exit(0)


def follow_parent(kernel):
    """Ends the kernel once the process that started it (JPY_PARENT_PID, the agent) is gone, as ipykernel's parent
    poller does. An agent that is killed cannot ask its kernels to shut down, and this one would serve nobody."""
    parent = os.environ.get("JPY_PARENT_PID", "")
    if not parent.isdigit():
        return

    def watch():
        while os.getppid() == int(parent):
            time.sleep(1)
        kernel.shutdown()

    threading.Thread(target=watch, name="parent-poller", daemon=True).start()


def main():
    args = sys.argv[1:]
    if "-f" not in args:
        raise SystemExit("usage: boxwood_wrapper_kernel.py -f <connection file>")
    with open(args[args.index("-f") + 1]) as f:
        connection = json.load(f)
    kernel = BoxwoodKernel(connection)
    follow_parent(kernel)
    kernel.serve()


if __name__ == "__main__":
    main()
