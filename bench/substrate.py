#!/usr/bin/env python3
"""Substrate benchmark: sandbox create latency, where a cold create spends its time, and agent memory per sandbox.

Baselines measured in the same run: fork/exec of /bin/true on the host, and a bare `crun run` of /bin/true in a
bundle made from the same template rootfs (no overlay, network or agent). Writes a section of BENCHMARKS.md.

Run as root from the checkout: bench/substrate.py [--count N]   (the base template must be built)
"""
import argparse, json, os, platform, re, shutil, signal, socket, statistics, subprocess, sys, tempfile, time
import urllib.error, urllib.request

HOME = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = "/var/lib/boxwood"


def pct(values, p):
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(p / 100 * (len(s) - 1))))
    return s[k]


def summary(values):
    return {"p50": statistics.median(values), "p95": pct(values, 95), "p99": pct(values, 99), "n": len(values)}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def host_true(n):
    out = []
    for _ in range(n):
        t = time.perf_counter(); subprocess.run(["/bin/true"], check=True); out.append((time.perf_counter() - t) * 1e3)
    return out


def bare_crun(n, rootfs):
    work = tempfile.mkdtemp(prefix="bw-bench-crun-")
    subprocess.run(["crun", "spec"], cwd=work, check=True)
    cfg = json.load(open(os.path.join(work, "config.json")))
    cfg["root"] = {"path": rootfs, "readonly": True}
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = ["/bin/true"]
    json.dump(cfg, open(os.path.join(work, "config.json"), "w"))
    out = []
    try:
        for i in range(n):
            t = time.perf_counter()
            subprocess.run(["crun", "run", "-b", work, f"bw-bench-{os.getpid()}-{i}"], check=True,
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
            out.append((time.perf_counter() - t) * 1e3)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def sandbox_memory(ids):
    """Per sandbox: the agent JVM's VmRSS (KiB), and the whole sandbox cgroup's memory use (bytes, incl. page cache)."""
    rss, cgroup = [], []
    wanted = set(ids)
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = open(f"/proc/{pid}/cmdline", "rb").read()
            groups = open(f"/proc/{pid}/cgroup").read()
            owner = next((i for i in wanted if f"/boxwood/{i}" in groups), None)
            if owner and b"/opt/boxwood/agent.jar" in cmd and cmd.split(b"\0")[0].endswith(b"/java"):  # not tini
                rss.append(int(re.search(r"VmRSS:\s+(\d+)", open(f"/proc/{pid}/status").read()).group(1)))
        except OSError:
            pass
    for i in ids:
        try:
            cgroup.append(int(open(f"/sys/fs/cgroup/memory/boxwood/{i}/memory.usage_in_bytes").read()))
        except OSError:
            pass
    return rss, cgroup


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--out", default=os.path.join(HOME, "BENCHMARKS.md"))
    args = ap.parse_args()
    rootfs = os.path.join(DATA, "templates/base/rootfs")
    if not os.path.isdir(rootfs):
        sys.exit("build the base template first: bin/boxwood template build base")

    data = tempfile.mkdtemp(prefix="bw-bench-data-")
    os.chmod(data, 0o755)  # the sandbox's mapped root must traverse it
    os.makedirs(os.path.join(data, "templates"))
    os.symlink(os.path.join(DATA, "templates/base"), os.path.join(data, "templates/base"))
    port = free_port()
    log = open(os.path.join(data, "server.log"), "w+")
    server = subprocess.Popen([os.path.join(HOME, "bin/boxwood"), "serve", "--port", str(port), "--data-dir", data],
                              stdout=subprocess.PIPE, stderr=log, text=True, start_new_session=True)
    env = {}
    for line in server.stdout:
        if "=" in line:
            k, v = line.strip().split("=", 1); env[k] = v
        if "Boxwood is ready" in line:
            break
    api, key = env["E2B_API_URL"], env["E2B_API_KEY"]

    def call(method, path, body=None):
        req = urllib.request.Request(api + path, method=method, headers={"X-API-Key": key, "Content-Type": "application/json"},
                                     data=None if body is None else json.dumps(body).encode())
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            sys.exit(f"{method} {path}: {e.code} {e.read().decode(errors='replace')}")

    try:
        # One create first, unmeasured: it builds the agent's AOT cache if it is missing.
        _, warm = call("POST", "/v2/sandboxes", {"templateID": "base", "timeout": 600})
        call("DELETE", "/sandboxes/" + json.loads(warm)["sandboxID"])
        creates, ids = [], []
        for _ in range(args.count):
            t = time.perf_counter()
            status, body = call("POST", "/v2/sandboxes", {"templateID": "base", "timeout": 600})
            creates.append((time.perf_counter() - t) * 1e3)
            assert status == 201, body
            ids.append(json.loads(body)["sandboxID"])
        rss, cgroup = sandbox_memory(ids)
        kills = []
        for sid in ids:
            t = time.perf_counter(); call("DELETE", "/sandboxes/" + sid); kills.append((time.perf_counter() - t) * 1e3)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
    log.seek(0)
    steps = {k: [] for k in ("total", "disk", "crun run", "network", "start to healthy")}
    for m in re.finditer(r"up in (\d+) ms \(disk (\d+), crun (?:create|run) (\d+), network (\d+), start to healthy (\d+)\)", log.read()):
        for k, v in zip(steps, m.groups()):
            steps[k].append(float(v))
    for k in steps:
        steps[k] = steps[k][1:]  # the unmeasured warm-up create
    shutil.rmtree(data, ignore_errors=True)

    host = host_true(args.count)
    crun = bare_crun(args.count, rootfs)
    c, b, h = summary(creates), summary(crun), summary(host)

    def row(name, s, base=None):
        ratio = f"{s['p50'] / base['p50']:.1f}×" if base else "—"
        return f"| {name} | {s['n']} | {s['p50']:.0f} | {s['p95']:.0f} | {s['p99']:.0f} | {ratio} |"

    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    mem = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30)
    lines = [
        "## Substrate: sandbox create, boot breakdown, agent memory",
        "",
        f"Machine: {os.cpu_count()} cores ({cpu}), {mem} GiB, kernel {platform.release()}. "
        f"Load average at the end: {os.getloadavg()[0]:.1f} (a shared, noisy machine: compare ratios, not absolutes). "
        f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. Command: `bench/substrate.py --count {args.count}` "
        "(as root, base template built). Sequential creates through the API; times in ms.",
        "",
        "| what | n | p50 | p95 | p99 | ratio to bare crun (p50) |",
        "|---|---|---|---|---|---|",
        row("create → 201 (`POST /v2/sandboxes`, template base)", c, b),
        row("baseline: bare `crun run` of /bin/true, same rootfs", b, b),
        row("baseline: fork/exec /bin/true on the host", h, b),
        row("kill → 204 (`DELETE /sandboxes/{id}`)", summary(kills), b),
        "",
        "Where a create spends its time (server log, p50 ms): " + ", ".join(
            f"{k} {statistics.median(v):.0f}" for k, v in steps.items() if v) + ".",
        "",
        f"Agent resident memory per sandbox (VmRSS of the agent JVM, {len(rss)} sandboxes idle after init): "
        f"p50 {statistics.median(rss) / 1024:.1f} MiB, max {max(rss) / 1024:.1f} MiB; whole sandbox cgroup "
        f"(agent, tini, page cache): p50 {statistics.median(cgroup) / 2**20:.1f} MiB." if rss and cgroup else "Agent RSS: not found.",
        "",
    ]
    section = "\n".join(lines)
    text = open(args.out).read() if os.path.exists(args.out) else "# Benchmarks\n\nMeasured figures, each with a baseline from the same run.\n\n"
    start = text.find("## Substrate:")
    if start >= 0:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end + 1:] if end >= 0 else "")
    else:
        text = text.rstrip() + "\n\n" + section
    open(args.out, "w").write(text)
    print(section)


if __name__ == "__main__":
    main()
