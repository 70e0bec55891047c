#!/usr/bin/python3
"""Micro-benchmark of the pooled create path: create → 201 from a warm pool, the first command after it (with the
released npm SDK), and kill → 204, against a server on a scratch data dir. Not part of bench/run; for looking at one
path closely (e.g. before/after a change) without the ten-minute suite.

    bench/claim.py [--count 20] [--jar cli/target/boxwood.jar] [--home .] [--first 10]

Needs root and the base template; prints one line per figure (p50/p95/p99 in ms), the load average, and, when the
server's own figures for the same creates and kills (from its log: claim, database, halt).
"""
import argparse, glob, json, os, re, shutil, signal, statistics, subprocess, sys, tempfile, time
import http.client

HOME = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = "/var/lib/boxwood"
JAVA = (sorted(glob.glob("/usr/lib/jvm/temurin-25-jdk*/bin/java")) + ["java"])[0]


def pct(values, p):
    s = sorted(values)
    return s[max(0, min(len(s) - 1, round(p / 100 * (len(s) - 1))))]


def show(name, values):
    if values:
        print(f"{name:32s} n={len(values):3d} p50={statistics.median(values):8.1f} p95={pct(values, 95):8.1f}"
              f" p99={pct(values, 99):8.1f} ms", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--first", type=int, default=10, help="SDK create + commands.run('echo hi') samples (0: none)")
    ap.add_argument("--jar", default=os.path.join(HOME, "cli/target/boxwood.jar"))
    ap.add_argument("--home", default=HOME, help="checkout whose agent jar the sandboxes run")
    ap.add_argument("--pool", default="base=2")
    args = ap.parse_args()
    data = tempfile.mkdtemp(prefix="bw-claim-bench-")
    os.chmod(data, 0o755)
    os.makedirs(os.path.join(data, "templates"))
    os.symlink(os.path.join(DATA, "templates", "base"), os.path.join(data, "templates", "base"))
    os.makedirs(os.path.join(data, "cache/agent-aot"))
    for f in glob.glob(os.path.join(DATA, "cache/agent-aot/*.aot")):
        shutil.copy2(f, os.path.join(data, "cache/agent-aot"))
    log_path = os.path.join(data, "server.log")
    logf = open(log_path, "w+")
    proc = subprocess.Popen([JAVA, "--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                             f"-Dboxwood.home={args.home}", "-jar", args.jar, "serve", "--port", "0", "--data-dir", data,
                             "--pool", args.pool, "--rate-limit", "0"],
                            stdout=subprocess.PIPE, stderr=logf, text=True, start_new_session=True)
    env = {}
    for line in proc.stdout:
        if "=" in line:
            k, v = line.strip().split("=", 1)
            env[k] = v
        if "Boxwood is ready" in line:
            break
    api, key = env["E2B_API_URL"], env["E2B_API_KEY"]
    host, port = api.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=120)  # keep-alive, like an SDK's agent

    def call(method, path, body=None):
        t = time.perf_counter()
        conn.request(method, path, body=None if body is None else json.dumps(body),
                     headers={"X-API-Key": key, "Content-Type": "application/json"})
        r = conn.getresponse()
        data_ = r.read()
        return (time.perf_counter() - t) * 1e3, r.status, data_

    def log_text():
        logf.flush()
        return open(log_path).read()

    def ready():
        return len(re.findall(r"booted into the base pool", log_text())) - len(re.findall(r"claimed from the", log_text()))

    load = os.getloadavg()
    try:
        end = time.time() + 300
        while ready() < 2 and time.time() < end:
            time.sleep(0.3)
        creates, kills, cold = [], [], 0
        for i in range(args.count + 2):  # two warm-ups
            while ready() < 1:
                time.sleep(0.2)
            time.sleep(0.3)
            ms, st, body = call("POST", "/v2/sandboxes", {"templateID": "base", "timeout": 600, "metadata": {"i": str(i)}})
            assert st == 201, body
            sid = json.loads(body)["sandboxID"]
            claimed = f"sandbox {sid} claimed from the" in log_text()
            kms, kst, kb = call("DELETE", "/sandboxes/" + sid)
            assert kst == 204, kb
            if i >= 2:
                if claimed:
                    creates.append(ms)
                else:
                    cold += 1
                kills.append(kms)
        first = []
        if args.first:
            penv = {**os.environ, **env}
            p = subprocess.run(["node", os.path.join(HOME, "bench/sdk.mjs"), "first-command", str(args.first), "1500"],
                               env=penv, capture_output=True, text=True, timeout=900)
            if p.returncode == 0:
                r = json.loads(p.stdout.strip().splitlines()[-1])
                text = log_text()
                first = [ms for ms, sid in zip(r["ms"], r["ids"]) if f"sandbox {sid} claimed from the" in text]
            else:
                print("sdk failed:", p.stderr[-2000:], file=sys.stderr)
        print(f"load average at start {load[0]:.2f}, at end {os.getloadavg()[0]:.2f}; creates that found the pool"
              f" empty (left out): {cold}")
        show("create from pool → 201", creates)
        show("kill → 204", kills)
        show("SDK create + first command", first)
        text = log_text()
        made = re.findall(r"created for team \S+ from template \S+ in ([\d.]+) ms \(claimed; boot or claim ([\d.]+) ms,"
                          r" record ([\d.]+) ms\)", text)
        ended = re.findall(r"ended: sandbox killed through the API \(halt ([\d.]+) ms, record ([\d.]+) ms\)", text)
        for name, col, rows in (("server: claimed create", 0, made), ("  of which claim", 1, made),
                                ("  of which database", 2, made), ("server: kill, halt", 0, ended),
                                ("server: kill, database", 1, ended)):
            show(name, [float(r[col]) for r in rows])
    finally:
        conn.close()
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(120)
        logf.close()
        if os.environ.get("KEEP"):
            print("data dir kept:", data)
        else:
            shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
