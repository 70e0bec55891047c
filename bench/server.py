"""What every benchmark script shares: a Boxwood server started on a scratch data dir (its E2B_* lines parsed, its log
kept in a file), and the percentile helpers. Imported by bench/run, bench/claim.py and bench/lifecycle.py:

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from server import Server, scratch_data_dir, summary
"""
import concurrent.futures, glob, json, os, shutil, signal, statistics, subprocess, tempfile, time
import urllib.error, urllib.request

HOME = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = "/var/lib/boxwood"
JAVA = (sorted(glob.glob("/usr/lib/jvm/temurin-25-jdk*/bin/java")) + sorted(glob.glob("/usr/lib/jvm/java-25-*/bin/java"))
        + [os.path.join(os.environ.get("JAVA_HOME", "/usr"), "bin/java")])[0]  # the JDK bin/boxwood picks


# ---- figures ---------------------------------------------------------------------------------------------------

def pct(values, p):
    s = sorted(values)
    return s[max(0, min(len(s) - 1, round(p / 100 * (len(s) - 1))))]


def summary(values):
    if not values:
        return None
    return {"n": len(values), "p50": statistics.median(values), "p95": pct(values, 95), "p99": pct(values, 99)}


def timed(fn):
    t = time.perf_counter()
    r = fn()
    return (time.perf_counter() - t) * 1e3, r


# ---- a server on a scratch data dir ----------------------------------------------------------------------------

def scratch_data_dir(prefix="bw-bench-data-", templates=("base", "code-interpreter-v1"), aot=True):
    """A fresh data dir with the main one's built templates linked in and, with aot, its agent start-up cache copied
    (the cache depends only on the JDK and the agent jar: no training run in the benchmark)."""
    data = tempfile.mkdtemp(prefix=prefix)
    os.chmod(data, 0o755)  # the sandbox's mapped root must traverse it
    os.makedirs(os.path.join(data, "templates"))
    for t in templates:
        if os.path.isdir(os.path.join(DATA, "templates", t)):
            os.symlink(os.path.join(DATA, "templates", t), os.path.join(data, "templates", t))
    if aot:
        os.makedirs(os.path.join(data, "cache/agent-aot"))
        for f in glob.glob(os.path.join(DATA, "cache/agent-aot/*.aot")):
            shutil.copy2(f, os.path.join(data, "cache/agent-aot"))
    return data


class ServerDidNotStart(RuntimeError):
    pass


class Server:
    """`serve --port 0` on a data dir, until it prints "Boxwood is ready"; `env` holds the E2B_* lines it printed.

    By default the built jar runs directly (not bin/boxwood: a rebuild mid-run, sources edited meanwhile, would change
    the agent under a later server and invalidate its start-up cache); `launcher` replaces `java ... -jar <jar>`.
    Raises ServerDidNotStart, with the end of its log, when it exits before it is ready."""

    def __init__(self, data, pool="none", jar=None, home=HOME, args=(), launcher=None, log_name=None, env=None):
        self.data = data
        self.log_path = os.path.join(data, log_name or f"server-{pool.replace(',', '_').replace('=', '')}.log")
        self.logf = open(self.log_path, "w+")
        cmd = launcher or [JAVA, "--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                           f"-Dboxwood.home={home}", "-jar", jar or os.path.join(HOME, "cli/target/boxwood.jar")]
        self.proc = subprocess.Popen([*cmd, "serve", "--port", "0", "--data-dir", data, "--pool", pool,
                                      "--rate-limit", "0", *args],
                                     stdout=subprocess.PIPE, stderr=self.logf, text=True, start_new_session=True,
                                     env=env)
        self.pid = self.proc.pid
        self.env = {}
        for line in self.proc.stdout:
            if "=" in line:
                k, v = line.strip().split("=", 1)
                self.env[k] = v
            if "Boxwood is ready" in line:
                break
        else:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
            raise ServerDidNotStart("the server did not start:\n" + self.text()[-3000:])
        self.api, self.key = self.env["E2B_API_URL"], self.env["E2B_API_KEY"]
        self.host, port = self.api.split("//")[1].split(":")
        self.port = int(port)

    def call(self, method, path, body=None, timeout=180, headers=None):
        req = urllib.request.Request(self.api + path, method=method,
                                     headers={"X-API-Key": self.key, "Content-Type": "application/json", **(headers or {})},
                                     data=None if body is None else json.dumps(body).encode())
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def create(self, template="base", **extra):
        """(ms, status, sandbox id or the error); a client-side timeout counts as a failed create."""
        try:
            ms, (status, body) = timed(lambda: self.call("POST", "/v2/sandboxes", {"templateID": template, "timeout": 900, **extra}))
        except OSError as e:
            return 0.0, 0, str(e)
        return ms, status, (json.loads(body)["sandboxID"] if status == 201 else body.decode(errors="replace"))

    def kill(self, sid):
        try:
            return timed(lambda: self.call("DELETE", "/sandboxes/" + sid))[0]
        except OSError:
            return float("nan")

    def kill_all(self):
        for _ in range(50):  # a page at a time
            status, body = self.call("GET", "/v2/sandboxes")
            if status != 200 or not json.loads(body):
                return
            with concurrent.futures.ThreadPoolExecutor(8) as ex:
                list(ex.map(lambda s: self.kill(s["sandboxID"]), json.loads(body)))

    def text(self):
        self.logf.flush()
        return open(self.log_path).read()

    def sdk(self, *args, timeout=900):
        """Runs bench/sdk.mjs (the released npm SDKs) against this server; its last line, parsed."""
        env = {**os.environ, **self.env}
        p = subprocess.run(["node", os.path.join(HOME, "bench/sdk.mjs"), *map(str, args)], env=env, capture_output=True,
                           text=True, timeout=timeout)
        if p.returncode != 0:
            why = [l for l in p.stderr.splitlines() if "Error" in l and ":" in l] or p.stderr.strip().splitlines()[-1:]
            raise RuntimeError(f"sdk.mjs {' '.join(map(str, args))} failed: {why[-1].strip() if why else p.returncode}")
        return json.loads(p.stdout.strip().splitlines()[-1])

    def stop(self, kill_sandboxes=True, timeout=120):
        """Kills what the benchmark left (optional), then the server: its shutdown destroys the pools."""
        try:
            if kill_sandboxes:
                self.kill_all()
        finally:
            # The server alone: a SIGTERM to its whole group would also end the crun and umount children of teardowns
            # still running, leaving their sandboxes' mounts and cgroups to the next start on this (scratch) data dir.
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(30)
            self.logf.close()
