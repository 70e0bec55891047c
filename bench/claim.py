#!/usr/bin/python3
"""Micro-benchmark of the pooled create path: create → 201 from a warm pool, the first command after it (with the
released npm SDK), and kill → 204, against a server on a scratch data dir. Not part of bench/run; for looking at one
path closely (e.g. before/after a change) without the ten-minute suite.

    bench/claim.py [--count 20] [--jar cli/target/boxwood.jar] [--home .] [--first 10]
    bench/claim.py --burst 50 [--jar ...]     N concurrent creates from a pool of N, filled first

Needs root and the base template; prints one line per figure (p50/p95/p99 in ms), the load average, and, when the
server's own figures for the same creates and kills (from its log: claim, database, halt).
"""
import argparse, concurrent.futures, json, os, re, shutil, statistics, subprocess, sys, time
import http.client

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server import HOME, Server, pct, scratch_data_dir  # noqa: E402


def pooled_burst(s, n, warm_ups=2, fill_timeout=None):
    """Waits until the server's base pool (sized n) is full, makes warm_ups sequential creates (the server's first
    creates are slow: class loading and JIT of the create path) and waits for the pool to be full again, then n
    concurrent creates, each on its own connection.
    Returns {ms: [201 times], failed: [errors], claimed: how many came from the pool, wall: ms, fill_s: seconds}."""
    t0 = time.time()
    end = t0 + (fill_timeout or 120 + 10 * n)

    def fill(what):
        while True:
            text = s.text()
            if text.count("booted into the base pool") - text.count("claimed from the base pool") >= n:
                return
            if time.time() > end:
                raise RuntimeError(f"the pool of {n} did not {what} in time")
            time.sleep(0.3)
    fill("fill")
    fill_s = time.time() - t0
    for _ in range(warm_ups):
        _, st, sid = s.create()
        assert st == 201, sid
        s.kill(sid)
    fill("refill after the warm-ups")
    time.sleep(2)  # the last pooled sandbox's warm-up command ends
    with concurrent.futures.ThreadPoolExecutor(n) as ex:
        t = time.perf_counter()
        burst = list(ex.map(lambda _: s.create(), range(n)))
        wall = (time.perf_counter() - t) * 1e3
    text = s.text()
    return {"ms": [ms for ms, st, _ in burst if st == 201], "failed": [str(sid)[:200] for _, st, sid in burst if st != 201],
            "claimed": sum(1 for _, st, sid in burst if st == 201 and f"sandbox {sid} claimed from the" in text),
            "wall": wall, "fill_s": fill_s}


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
    ap.add_argument("--burst", type=int, default=0, help="instead: N concurrent creates from a full pool of N")
    args = ap.parse_args()
    data = scratch_data_dir("bw-claim-bench-", templates=("base",))
    if args.burst:
        return burst_main(args, data)
    s = Server(data, args.pool, jar=args.jar, home=args.home, log_name="server.log")
    key, env = s.key, s.env
    conn = http.client.HTTPConnection(s.host, s.port, timeout=120)  # keep-alive, like an SDK's agent

    def call(method, path, body=None):
        t = time.perf_counter()
        conn.request(method, path, body=None if body is None else json.dumps(body),
                     headers={"X-API-Key": key, "Content-Type": "application/json"})
        r = conn.getresponse()
        data_ = r.read()
        return (time.perf_counter() - t) * 1e3, r.status, data_

    log_text = s.text

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
        s.stop(kill_sandboxes=False)
        done(data)


def done(data):
    if os.environ.get("KEEP"):
        print("data dir kept:", data)
    else:
        shutil.rmtree(data, ignore_errors=True)


def burst_main(args, data):
    s = Server(data, f"base={args.burst}", jar=args.jar, home=args.home, log_name="server.log")
    load = os.getloadavg()
    try:
        r = pooled_burst(s, args.burst)
        print(f"load average at start {load[0]:.2f}, at end {os.getloadavg()[0]:.2f}; pool of {args.burst} filled in"
              f" {r['fill_s']:.0f} s; succeeded {len(r['ms'])}/{args.burst}, {r['claimed']} from the pool, all done after"
              f" {r['wall']:.0f} ms; failures: {sorted(set(r['failed']))[:3]}")
        show(f"burst of {args.burst} from the pool → 201", r["ms"])
        made = re.findall(r"created for team \S+ from template \S+ in ([\d.]+) ms \(claimed; boot or claim ([\d.]+) ms,"
                          r" record ([\d.]+) ms\)", s.text())
        for name, col in (("server: claimed create", 0), ("  of which claim", 1), ("  of which database", 2)):
            show(name, [float(m[col]) for m in made])
    finally:
        s.stop()
        done(data)


if __name__ == "__main__":
    main()
