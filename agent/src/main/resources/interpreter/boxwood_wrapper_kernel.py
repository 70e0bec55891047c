# A Jupyter kernel (ipykernel's Kernel base class) that runs cells in a long-lived child runtime: bash, node or
# JShell. Boxwood ships it in the agent jar so those languages need no extra kernel package in a template.
#
# Protocol with the child: one cell per request on the child's stdin; the child runs it, writes MARK to its stdout
# and stderr (so all output of the cell has been read), then one JSON line on the status fd:
#   {"status": "ok", "result": "<text or null>"} or {"status": "error", "ename", "evalue", "traceback": [...]}
# The child is in its own process group; an interrupt (SIGINT to this kernel) is forwarded to that group.

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading

from ipykernel.kernelapp import IPKernelApp
from ipykernel.kernelbase import Kernel

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
            self.kernel.send_response(self.kernel.iopub_socket, "stream", {"name": name, "text": text})

    def run(self, code):
        for event in self.ended.values():
            event.clear()
        if RUNTIME == "bash":
            path = os.path.join(self.cell_dir, "cell.sh")
            with open(path, "w") as f:
                f.write(code)
                f.write("\n")
            self.send(("__bw_run " + path + "\n").encode())
        else:
            self.send((json.dumps({"code": code}) + "\n").encode())
        while True:
            try:
                line = self.status.readline()
                break
            except KeyboardInterrupt:
                try:
                    os.killpg(self.proc.pid, signal.SIGINT)
                except ProcessLookupError:
                    pass
        if not line:
            # The runtime is gone: so is this kernel, and the agent starts a new one.
            self.kernel.send_response(self.kernel.iopub_socket, "stream",
                                      {"name": "stderr", "text": "the %s runtime exited\n" % RUNTIME})
            os._exit(1)
        for event in self.ended.values():
            event.wait(5)
        return json.loads(line)


class BoxwoodKernel(Kernel):
    implementation = "boxwood-" + RUNTIME
    implementation_version = "1.0"
    language = os.environ.get("BOXWOOD_LANGUAGE") or {"bash": "bash", "node": "javascript", "java": "java"}[RUNTIME]
    language_version = ""
    banner = "Boxwood " + RUNTIME + " kernel"
    language_info = {
        "name": language,
        "mimetype": {"bash": "text/x-sh", "node": "application/javascript", "java": "text/x-java"}[RUNTIME],
        "file_extension": {"bash": ".sh", "node": ".js", "java": ".jshell"}[RUNTIME],
    }

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.child = Child(self)

    def do_execute(self, code, silent, store_history=True, user_expressions=None, allow_stdin=False):
        if not code.strip():
            return {"status": "ok", "execution_count": self.execution_count, "payload": [], "user_expressions": {}}
        outcome = self.child.run(code)
        if outcome.get("status") == "ok" and outcome.get("exit_code", 0) != 0:
            outcome = {"status": "error", "ename": "ExitCodeError",
                       "evalue": "the last command exited with code %d" % outcome["exit_code"], "traceback": []}
        if outcome.get("status") == "error":
            error = {"ename": outcome.get("ename", "Error"), "evalue": outcome.get("evalue", ""),
                     "traceback": outcome.get("traceback") or []}
            if not silent:
                self.send_response(self.iopub_socket, "error", error)
            return dict(status="error", execution_count=self.execution_count, **error)
        result = outcome.get("result")
        if result is not None and not silent:
            self.send_response(self.iopub_socket, "execute_result", {
                "execution_count": self.execution_count, "data": {"text/plain": result}, "metadata": {}})
        return {"status": "ok", "execution_count": self.execution_count, "payload": [], "user_expressions": {}}


if __name__ == "__main__":
    IPKernelApp.launch_instance(kernel_class=BoxwoodKernel)
