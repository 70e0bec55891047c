#!/usr/bin/python3
"""Pause and resume time of a sandbox with a 200 MB working set, against `crun pause`/`crun resume` of a bare
container with the same working set in the same run. Writes its section of BENCHMARKS.md ("## Pause and resume").

    bench/lifecycle.py [--count 20]
    bench/lifecycle.py --runtime runc [--count 10]

With `--runtime runc` the server pauses by CRIU checkpoint to disk (runc's default): the section "## Pause and
resume (CRIU checkpoint" gets the pause and resume times, the image size and the sandbox's memory while paused, next
to the same cycles on a server that pauses runc sandboxes with the freezer.

Needs root and the base template (with python3). Starts its own server on a scratch data dir.
"""
import argparse, glob, json, os, platform, re, shutil, statistics, subprocess, sys, tempfile, time, urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server import DATA, HOME, Server, ServerDidNotStart, scratch_data_dir  # noqa: E402
CRUN_ROOT = "/run/boxwood/crun"  # the crun runtime's own state dir
RUNC_ROOT = "/run/boxwood/runc"
# Allocates 200 MiB and keeps touching every page, so all of it is resident and in use when the freezer acts.
WORKING_SET = ("import time\nb = bytearray(200 << 20)\nn = 0\nwhile True:\n"
               "    for i in range(0, len(b), 4096): b[i] = n & 255\n"
               "    n += 1\n    open('/tmp/ws.ready', 'w').write(str(n))\n    time.sleep(0.2)\n")


def log(*a):
    print("bench:", *a, file=sys.stderr, flush=True)


def pct(values, p):
    s = sorted(values)
    return s[max(0, min(len(s) - 1, round(p / 100 * (len(s) - 1))))]


def summary(values):
    return {"n": len(values), "p50": statistics.median(values), "p95": pct(values, 95), "p99": pct(values, 99)}


def timed(fn):
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1e3


def bare_container(rootfs, n):
    """crun pause/resume of a bare container running the same 200 MiB working set: the floor Boxwood adds to."""
    work = tempfile.mkdtemp(prefix="bw-bench-pause-")
    name = f"bw-bench-pause-{os.getpid()}"
    subprocess.run(["crun", "spec"], cwd=work, check=True)
    cfg = json.load(open(os.path.join(work, "config.json")))
    cfg["root"] = {"path": rootfs, "readonly": True}
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = ["python3", "-c", WORKING_SET.replace("/tmp/ws.ready", "/dev/null")]
    cfg["linux"]["cgroupsPath"] = "/bw-bench/" + name
    json.dump(cfg, open(os.path.join(work, "config.json"), "w"))
    pauses, resumes = [], []
    try:
        subprocess.run(["crun", "run", "-d", "-b", work, name], check=True, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_rss(name, lambda: int(open(f"/sys/fs/cgroup/memory/bw-bench/{name}/memory.usage_in_bytes").read()))
        for _ in range(n):
            pauses.append(timed(lambda: subprocess.run(["crun", "pause", name], check=True)))
            resumes.append(timed(lambda: subprocess.run(["crun", "resume", name], check=True)))
            time.sleep(0.3)
    finally:
        subprocess.run(["crun", "kill", name, "KILL"], stderr=subprocess.DEVNULL)
        subprocess.run(["crun", "resume", name], stderr=subprocess.DEVNULL)
        subprocess.run(["crun", "delete", "-f", name], stderr=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)
        for parent in glob.glob("/sys/fs/cgroup/*/bw-bench"):
            try:
                os.rmdir(parent)
            except OSError:
                pass
    return pauses, resumes


def wait_rss(what, read, want=200 << 20, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if read() >= want:
                return
        except OSError:
            pass
        time.sleep(0.2)
    sys.exit(f"{what}: the 200 MiB working set never became resident")


def stop_server(server, data):
    os.killpg(server.pid, 15)
    try:
        server.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, 9)
    shutil.rmtree(data, ignore_errors=True)


def fmt(x):
    return f"{x:.1f}" if x < 10 else f"{x:.0f}"


def memory(sid):
    try:
        return int(open(f"/sys/fs/cgroup/memory/boxwood/{sid}/memory.usage_in_bytes").read())
    except OSError:
        return 0  # no cgroup: nothing of the sandbox is in memory


def start_working_set_runc(sid):
    """The 200 MiB loop inside a runc sandbox, started like RuncRuntime.exec: nsenter, joining the sandbox's
    cgroups; the loop is backgrounded so that the
    sandbox's init adopts it (a child of nsenter is outside the tree CRIU dumps), and its stdio is the sandbox's own
    /dev/null (CRIU cannot dump a descriptor on a host file)."""
    pid = json.loads(subprocess.run(["runc", "--root", RUNC_ROOT, "state", sid], check=True, capture_output=True,
                                    text=True).stdout)["pid"]
    join = "".join(f"echo $$ > {d}/cgroup.procs && " for d in glob.glob(f"/sys/fs/cgroup/*/boxwood/{sid}")
                   if os.path.exists(d + "/cgroup.procs"))
    subprocess.Popen(["sh", "-c", join + f"exec nsenter -t {pid} -a -r -w -S 0 -G 0 -- setsid sh -c "
                      "'python3 -c \"$0\" </dev/null >/dev/null 2>&1 &' \"$0\"", WORKING_SET],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     start_new_session=True)


def checkpoint_mode(args, data, call, health, server, load0, serve):
    """One sandbox with the 200 MiB loop, paused and resumed `count` times through the API by CRIU checkpoint and
    restore (runc's default pause), then the same on a second server that pauses runc sandboxes with the freezer
    (`-Dboxwood.runc.checkpoint=false`), side by side. Checks after every resume that the loop still runs (same pid,
    counting on) and the router reaches the agent."""
    ckpt = runc_cycles(args, data, call, health, server, checkpoint=True)
    log("checkpoint:", {k: (summary(v) if k in ("pause", "resume", "health") else v) for k, v in ckpt.items()})
    server2, data2, call2, health2 = serve(["-Dboxwood.runc.checkpoint=false"])
    frz = runc_cycles(args, data2, call2, health2, server2, checkpoint=False)

    def row(name, a, b):
        s, f = summary(a), summary(b)
        return (f"| {name} | {s['n']} | {fmt(s['p50'])} | {fmt(s['p99'])} | {fmt(f['p50'])} | {fmt(f['p99'])} |")

    L = ["## Pause and resume (CRIU checkpoint, `serve --runtime runc`)", "",
         f"Command: `bench/lifecycle.py --runtime runc --count {args.count}` (root, base template, runc 1.1.5, "
         f"CRIU 4.1.1 built by `ensure_criu`), {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
         f"{os.cpu_count()} cores, kernel {platform.release()}, load average {load0:.1f} at the start and "
         f"{os.getloadavg()[0]:.1f} at the end (shared machine). One sandbox (512 MiB limit) runs the same 200 MiB "
         "loop as above; each cycle is `POST /sandboxes/{id}/pause` → 204, then `POST /v2/sandboxes/{id}/connect` → "
         "201 (the resume), then `GET /health` through the router, and a check that the loop runs on (same pid, still "
         "counting). Checkpoint: `runc checkpoint` into `<data-dir>/sandboxes/<id>/checkpoint` (the processes are "
         "dumped and end) and `runc restore` (the images are deleted). Freezer: a second server with "
         "`-Dboxwood.runc.checkpoint=false`, same runc sandboxes. Times in ms.", "",
         "| what | n | checkpoint p50 | checkpoint p99 | freezer p50 | freezer p99 |", "|---|---|---|---|---|---|",
         row("pause → 204 (API)", ckpt["pause"], frz["pause"]),
         row("resume: connect → 201 (API)", ckpt["resume"], frz["resume"]),
         row("first request after resume: `GET /health` via router", ckpt["health"], frz["health"]),
         "",
         f"Memory in the sandbox's cgroup: {statistics.median(ckpt['running']) / 2**20:.0f} MiB running; while paused "
         f"{max(ckpt['paused']) / 2**20:.0f} MiB checkpointed (the processes and the cgroup are gone) against "
         f"{statistics.median(frz['paused']) / 2**20:.0f} MiB frozen. Images on disk while checkpointed: p50 "
         f"{statistics.median(ckpt['images']) / 2**20:.0f} MiB (the loop's 200 MiB, the agent's JVM and the shells; "
         "page cache is not dumped); they count against `-Dboxwood.checkpointLimitMB` (10 GiB, all paused sandboxes "
         "together; past it a pause freezes) and a resume, a kill or the retention expiry deletes them. The loop ran on "
         f"after all {len(ckpt['resume'])} restores (same pid).",
         ""]
    section = "\n".join(L)
    print(section)
    text = open(args.out).read() if os.path.exists(args.out) else "# Benchmarks\n\n"
    m = re.search(r"^## Pause and resume \(CRIU checkpoint.*?(?=^## |\Z)", text, flags=re.S | re.M)
    if m:
        text = text[:m.start()] + section + "\n" + text[m.end():]
    else:  # right after the freezer section, so the two read side by side
        f = re.search(r"^## Pause and resume \(cgroup freezer\).*?(?=^## |\Z)", text, flags=re.S | re.M)
        at = f.end() if f else len(text)
        text = text[:at].rstrip("\n") + "\n\n" + section + "\n" + text[at:]
    open(args.out, "w").write(text)
    log("wrote", args.out)


def runc_cycles(args, data, call, health, server, checkpoint):
    """Pause/resume cycles of one runc sandbox with the 200 MiB loop; stops the server at the end."""
    r = {k: [] for k in ("pause", "resume", "health", "running", "paused", "images")}
    try:
        sid = json.loads(call("POST", "/v2/sandboxes", {"templateID": "base", "timeout": 3600, "memoryMB": 512},
                              201))["sandboxID"]
        try:
            start_working_set_runc(sid)
            wait_rss(sid, lambda: memory(sid))
            ready = os.path.join(data, "sandboxes", sid, "disk/upper/tmp/ws.ready")
            image_dir = os.path.join(data, "sandboxes", sid, "checkpoint")
            deadline = time.time() + 60
            while not os.path.exists(ready) and time.time() < deadline:
                time.sleep(0.1)
            loop_pid = working_set_pid(sid)
            if loop_pid is None or not os.path.exists(ready):
                sys.exit("the 200 MiB loop is not in the sandbox's cgroup")
            for i in range(args.count):
                r["running"].append(memory(sid))
                r["pause"].append(timed(lambda: call("POST", f"/sandboxes/{sid}/pause", None, 204)))
                r["paused"].append(memory(sid))
                if checkpoint:
                    if not os.path.isdir(image_dir):
                        sys.exit(f"cycle {i}: the pause did not checkpoint (no {image_dir})")
                    r["images"].append(sum(os.path.getsize(f) for f in glob.glob(image_dir + "/*")
                                           if os.path.isfile(f)))
                r["resume"].append(timed(lambda: call("POST", f"/v2/sandboxes/{sid}/connect", {"timeout": 3600}, 201)))
                r["health"].append(timed(lambda: health(sid)))
                before = open(ready).read()
                deadline = time.time() + 30
                while open(ready).read() == before and time.time() < deadline:
                    time.sleep(0.1)
                now_pid = working_set_pid(sid)
                if open(ready).read() == before or now_pid != loop_pid:
                    sys.exit(f"cycle {i}: the 200 MiB loop did not run on after the resume (pid {loop_pid} → "
                             f"{now_pid}, counter {before} → {open(ready).read()})")
                wait_rss(sid, lambda: memory(sid))
        finally:
            call("DELETE", f"/sandboxes/{sid}")
    finally:
        stop_server(server, data)
    return r


def working_set_pid(sid):
    """The 200 MiB loop's pid inside the sandbox (a restore keeps it; the host pid changes)."""
    for p in glob.glob(f"/sys/fs/cgroup/pids/boxwood/{sid}/cgroup.procs"):
        for pid in open(p).read().split():
            try:
                if b"bytearray(200" in open(f"/proc/{pid}/cmdline", "rb").read():
                    status = open(f"/proc/{pid}/status").read()
                    return re.search(r"^NSpid:.*?(\d+)\s*$", status, flags=re.M).group(1)
            except OSError:
                pass
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--runtime", choices=["crun", "runc"], default="crun")
    ap.add_argument("--out", default=os.path.join(HOME, "BENCHMARKS.md"))
    args = ap.parse_args()
    rootfs = os.path.join(DATA, "templates/base/rootfs")
    if not os.path.isdir(rootfs):
        sys.exit("build the base template first: bin/boxwood template build base")
    load0 = os.getloadavg()[0]

    def serve(java_options=(), attempts=3):
        """A server of its own on a scratch data dir; returns it, the dir, and API and router call helpers. Tries
        again when bin/boxwood's build fails (another build in the same checkout replacing the jars meanwhile)."""
        data = scratch_data_dir(templates=("base",), aot=False)
        env = dict(os.environ)
        if java_options:
            env["JAVA_TOOL_OPTIONS"] = " ".join([env.get("JAVA_TOOL_OPTIONS", ""), *java_options]).strip()
        try:
            started = Server(data, "none", launcher=[os.path.join(HOME, "bin/boxwood")], log_name="server.log",
                             args=("--runtime", args.runtime), env=env)
        except ServerDidNotStart:
            if attempts <= 1:
                raise
            log("the server did not start; trying again")
            shutil.rmtree(data, ignore_errors=True)
            time.sleep(20)
            return serve(java_options, attempts - 1)
        server, api, key = started.proc, started.api, started.key

        def call(method, path, body=None, want=None):
            req = urllib.request.Request(api + path, method=method,
                                         headers={"X-API-Key": key, "Content-Type": "application/json"},
                                         data=None if body is None else json.dumps(body).encode())
            try:
                with urllib.request.urlopen(req, timeout=120) as r:
                    status, out = r.status, r.read()
            except urllib.error.HTTPError as e:
                status, out = e.code, e.read()
            if want is not None and status != want:
                raise SystemExit(f"{method} {path}: {status} {out.decode(errors='replace')}")
            return out

        def health(sid):
            req = urllib.request.Request(api + "/health", headers={"E2b-Sandbox-Id": sid,
                                                                   "E2b-Sandbox-Port": "49983"})
            try:
                with urllib.request.urlopen(req, timeout=60) as r:
                    assert r.status == 204
            except OSError as e:
                try:
                    freezer = open(f"/sys/fs/cgroup/freezer/boxwood/{sid}/freezer.state").read().strip()
                except OSError:
                    freezer = "(no cgroup)"
                raise SystemExit(f"health after resume failed ({e}); freezer {freezer}")

        return server, data, call, health

    server, data, call, health = serve()

    if args.runtime == "runc":
        return checkpoint_mode(args, data, call, health, server, load0, serve)

    results = {}
    sid = None
    try:
        sid = json.loads(call("POST", "/v2/sandboxes", {"templateID": "base", "timeout": 3600, "memoryMB": 512},
                              201))["sandboxID"]
        subprocess.run(["crun", "--root", CRUN_ROOT, "exec", "--detach", sid, "python3", "-c", WORKING_SET], check=True)
        wait_rss(sid, lambda: int(open(f"/sys/fs/cgroup/memory/boxwood/{sid}/memory.usage_in_bytes").read()))
        pauses, resumes, back = [], [], []
        for _ in range(args.count):
            pauses.append(timed(lambda: call("POST", f"/sandboxes/{sid}/pause", None, 204)))
            resumes.append(timed(lambda: call("POST", f"/v2/sandboxes/{sid}/connect", {"timeout": 3600}, 201)))
            back.append(timed(lambda: health(sid)))
            time.sleep(0.3)
        mem = int(open(f"/sys/fs/cgroup/memory/boxwood/{sid}/memory.usage_in_bytes").read())
        results.update(pause=pauses, resume=resumes, health=back, mem=mem)
        bp, br = bare_container(rootfs, args.count)
        results.update(bare_pause=bp, bare_resume=br)
    finally:
        if sid:  # a stopped server leaves its sandboxes running
            call("DELETE", f"/sandboxes/{sid}")
        stop_server(server, data)

    def row(name, v, base):
        s, b = summary(v), summary(base)
        return (f"| {name} | {s['n']} | {fmt(s['p50'])} | {fmt(s['p95'])} | {fmt(s['p99'])} | "
                f"{s['p50'] / b['p50']:.1f}× |")

    L = ["## Pause and resume (cgroup freezer)", "",
         f"Command: `bench/lifecycle.py --count {args.count}` (root, base template), "
         f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} cores, kernel {platform.release()}, "
         f"load average {load0:.1f} at the start and {os.getloadavg()[0]:.1f} at the end (shared machine: compare "
         "ratios). One sandbox (512 MiB limit) runs a python3 loop that keeps touching a 200 MiB bytearray "
         f"(sandbox cgroup memory while measured: {results['mem'] / 2**20:.0f} MiB); each cycle is `POST "
         "/sandboxes/{id}/pause` → 204, then `POST /v2/sandboxes/{id}/connect` → 201 (the resume), then `GET /health` "
         "through the router. Baseline: `crun pause` / `crun resume` of a bare container (same rootfs, same 200 MiB "
         "loop, no Boxwood) in the same run. Times in ms.", "",
         "| what | n | p50 | p95 | p99 | p50 ratio to bare crun |", "|---|---|---|---|---|---|",
         row("pause → 204 (API)", results["pause"], results["bare_pause"]),
         row("resume: connect → 201 (API)", results["resume"], results["bare_resume"]),
         row("first request after resume: `GET /health` via router", results["health"], results["bare_resume"]),
         row("baseline: bare `crun pause`", results["bare_pause"], results["bare_pause"]),
         row("baseline: bare `crun resume`", results["bare_resume"], results["bare_resume"]),
         "",
         "The freezer neither copies nor writes memory: a pause only stops the tasks, and "
         "a paused sandbox keeps its whole working set resident (crun here has no CRIU support; for a memory-free pause by "
         "CRIU checkpoint, run `serve --runtime runc`: next section). The API adds an HTTP round trip, a `crun state` call, a wait for the freezer to settle "
         "and a database write per step.",
         ""]
    section = "\n".join(L)
    print(section)
    text = open(args.out).read() if os.path.exists(args.out) else "# Benchmarks\n\n"
    m = re.search(r"^## Pause and resume \(cgroup freezer\).*?(?=^## |\Z)", text, flags=re.S | re.M)
    text = text[:m.start()] + section + "\n" + text[m.end():] if m else text.rstrip("\n") + "\n\n" + section + "\n"
    open(args.out, "w").write(text)
    log("wrote", args.out)


if __name__ == "__main__":
    main()
