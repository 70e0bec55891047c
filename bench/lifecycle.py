#!/usr/bin/python3
"""Pause and resume time of a sandbox with a 200 MB working set, against `crun pause`/`crun resume` of a bare
container with the same working set in the same run. Writes its section of BENCHMARKS.md ("## Pause and resume").

    bench/lifecycle.py [--count 20]
    JAVA_TOOL_OPTIONS=-Dboxwood.runc.checkpoint=true bench/lifecycle.py --runtime runc [--count 5]

With `--runtime runc` and checkpoints on, the server pauses by CRIU checkpoint to disk: the section "## Pause and
resume (CRIU checkpoint" gets the pause time, the image size, the sandbox's memory while paused and the resume.

Needs root and the base template (with python3). Starts its own server on a scratch data dir.
"""
import argparse, glob, json, os, platform, re, shutil, statistics, subprocess, sys, tempfile, time, urllib.error
import urllib.request

HOME = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = "/var/lib/boxwood"
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


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def checkpoint_mode(args, data, call, health, server, load0):
    """One fresh sandbox per round (a restore does not work on this host yet, see RuncRuntime): the 200 MiB loop,
    then a checkpoint pause through the API, the memory and images it leaves, one resume attempt, and a kill."""
    pauses, paused_mem, running_mem, images, resumes, failures = [], [], [], [], [], []
    try:
        for _ in range(args.count):
            sid = json.loads(call("POST", "/v2/sandboxes", {"templateID": "base", "timeout": 3600, "memoryMB": 512},
                                  201))["sandboxID"]
            try:
                start_working_set_runc(sid)
                wait_rss(sid, lambda: memory(sid))
                running_mem.append(memory(sid))
                image_dir = os.path.join(data, "sandboxes", sid, "checkpoint")
                pauses.append(timed(lambda: call("POST", f"/sandboxes/{sid}/pause", None, 204)))
                paused_mem.append(memory(sid))
                images.append(sum(os.path.getsize(f) for f in glob.glob(image_dir + "/*") if os.path.isfile(f)))
                t = time.perf_counter()
                out = call("POST", f"/v2/sandboxes/{sid}/connect", {"timeout": 3600})
                resumes.append((time.perf_counter() - t) * 1e3)
                if b"failed" in out:
                    failures.append(out.decode(errors="replace"))
            finally:
                call("DELETE", f"/sandboxes/{sid}")
    finally:
        stop_server(server, data)

    def row(name, v):
        s = summary(v)
        return f"| {name} | {s['n']} | {fmt(s['p50'])} | {fmt(s['p95'])} | {fmt(s['p99'])} |"

    why = re.search(r"Can't setns[^\\\n\"]*", failures[0]).group(0) if failures and "setns" in failures[0] else (
        failures[0][:200] if failures else "")
    L = ["## Pause and resume (CRIU checkpoint, `serve --runtime runc`, experimental)", "",
         f"Command: `JAVA_TOOL_OPTIONS=-Dboxwood.runc.checkpoint=true bench/lifecycle.py --runtime runc --count "
         f"{args.count}` (root, base template, runc 1.1.5, CRIU 4.1.1 built by `ensure_criu`), "
         f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} cores, kernel {platform.release()}, "
         f"load average {load0:.1f} at the start and {os.getloadavg()[0]:.1f} at the end (shared machine). Each round "
         "is a fresh sandbox (512 MiB limit) running the same 200 MiB loop as above, then `POST "
         "/sandboxes/{id}/pause` → 204 (a `runc checkpoint` into `<data-dir>/sandboxes/<id>/checkpoint`: the "
         "processes are dumped and end), then one resume attempt (`POST /v2/sandboxes/{id}/connect`), then a kill. "
         "Times in ms.", "",
         "| what | n | p50 | p95 | p99 |", "|---|---|---|---|---|",
         row("pause → 204 (API, checkpoint of a 200 MiB working set)", pauses),
         row("resume attempt: connect (API, restore)", resumes),
         "",
         f"Memory in the sandbox's cgroup: {statistics.median(running_mem) / 2**20:.0f} MiB running, "
         f"{max(paused_mem) / 2**20:.0f} MiB paused (the processes and the cgroup are gone). Images on disk: p50 "
         f"{statistics.median(images) / 2**20:.0f} MiB (the loop's 200 MiB, the agent's JVM and the shells; page cache "
         "is not dumped); they count against `-Dboxwood.checkpointLimitMB` (10 GiB, all paused sandboxes together; "
         "past it a pause freezes) and a kill or the retention expiry deletes them. "
         f"Resumes that failed: {len(failures)} of {len(resumes)}" + (f" (`{why}`)" if why else "") + ": the restore "
         "does not work on this host yet (RuncRuntime's class comment says why and what would fix it), so a "
         "checkpointed sandbox can only be killed; `serve --runtime runc` pauses with the freezer unless "
         "`-Dboxwood.runc.checkpoint=true`.",
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

    data = tempfile.mkdtemp(prefix="bw-bench-data-")
    os.chmod(data, 0o755)
    os.makedirs(os.path.join(data, "templates"))
    os.symlink(os.path.join(DATA, "templates/base"), os.path.join(data, "templates/base"))
    port = free_port()
    server_log = open(os.path.join(data, "server.log"), "w+")
    server = subprocess.Popen([os.path.join(HOME, "bin/boxwood"), "serve", "--port", str(port), "--data-dir", data,
                               "--pool", "none", "--runtime", args.runtime],
                              stdout=subprocess.PIPE, stderr=server_log, text=True, start_new_session=True)
    env = {}
    for line in server.stdout:
        if "=" in line:
            k, v = line.strip().split("=", 1)
            env[k] = v
        if "Boxwood is ready" in line:
            break
    api, key = env["E2B_API_URL"], env["E2B_API_KEY"]

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
        req = urllib.request.Request(api + "/health", headers={"E2b-Sandbox-Id": sid, "E2b-Sandbox-Port": "49983"})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                assert r.status == 204
        except OSError as e:
            try:
                freezer = open(f"/sys/fs/cgroup/freezer/boxwood/{sid}/freezer.state").read().strip()
            except OSError:
                freezer = "(no cgroup)"
            raise SystemExit(f"health after resume failed ({e}); freezer {freezer}")

    if args.runtime == "runc":
        return checkpoint_mode(args, data, call, health, server, load0)

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
         "a paused sandbox keeps its whole working set resident (memory-free pause would need a CRIU checkpoint, which this "
         "host's crun lacks). The API adds an HTTP round trip, a `crun state` call, a wait for the freezer to settle "
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
