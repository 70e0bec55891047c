package dev.boxwood.server.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxwood.server.network.NetworkAttachment;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** What a process inside a sandbox must not be able to do, checked from inside two real sandboxes. */
class IsolationTest extends RealSandboxes {

    String a;
    String b;
    RunningSandbox sandboxA;
    RunningSandbox sandboxB;

    @BeforeAll
    void bootTwo() {
        a = TestSandboxes.newId();
        b = TestSandboxes.newId();
        sandboxA = runtime.start(TestSandboxes.spec(a));
        sandboxB = runtime.start(TestSandboxes.spec(b));
    }

    /** Runs a raw syscall with Python's ctypes and prints "rc errno". */
    private String syscall(String id, String call) {
        return sh(id, "python3 -c 'import ctypes,sys; libc=ctypes.CDLL(None, use_errno=True); "
                + "rc=" + call + "; print(rc, ctypes.get_errno())'").output().strip();
    }

    @Test
    void rootInsideIsAnUnprivilegedHostUid() throws IOException {
        assertThat(sh(a, "cat /proc/self/uid_map").output().strip().split("\\s+"))
                .containsExactly("0", "100000", "65536");
        assertThat(sh(a, "cat /proc/self/gid_map").output().strip().split("\\s+"))
                .containsExactly("0", "100000", "65536");
        // Seen from the host, the sandbox's init runs as uid 100000, not 0.
        String status = Files.readString(Path.of("/proc/" + sandboxA.pid() + "/status"));
        assertThat(status.lines().filter(l -> l.startsWith("Uid:")).findFirst().orElseThrow())
                .contains("100000").doesNotContain("\t0\t");
        // The sandbox's init (the agent, parent of every user process) and what it starts.
        String inside = sh(a, "grep -E '^(NoNewPrivs|Seccomp|CapEff|CapBnd):' /proc/1/status").output();
        assertThat(inside).contains("NoNewPrivs:\t1").contains("Seccomp:\t2");
        long capBnd = Long.parseLong(inside.lines().filter(l -> l.startsWith("CapBnd:")).findFirst().orElseThrow()
                .split("\\s+")[1], 16);
        for (int cap : new int[] {12 /* NET_ADMIN */, 13 /* NET_RAW */, 16 /* SYS_MODULE */, 19 /* SYS_PTRACE */,
                21 /* SYS_ADMIN */, 17 /* SYS_RAWIO */, 25 /* SYS_TIME */}) {
            assertThat(capBnd & (1L << cap)).as("capability %d", cap).isZero();
        }
    }

    @Test
    void cannotSeeHostProcesses() throws Exception {
        Process marker = new ProcessBuilder("sleep", "3141.59").start();
        try {
            String ps = sh(a, "ps -eo pid,args").output();
            assertThat(ps).doesNotContain("3141.59").doesNotContain("surefire");
            assertThat(sh(a, "ls /proc | grep -c '^[0-9]'").output().strip()).satisfies(
                    n -> assertThat(Integer.parseInt(n)).isLessThan(10));
            assertThat(sh(a, "test -e /proc/" + marker.pid() + "/cmdline && cat /proc/" + marker.pid() + "/cmdline")
                    .output()).doesNotContain("3141.59");
        } finally {
            marker.destroy();
        }
    }

    @Test
    void cannotReadHostFiles() throws IOException {
        Path secret = Files.createTempFile(Path.of("/root"), "boxwood-secret", ".txt");
        try {
            Files.writeString(secret, "host-secret-7c1e");
            HostCommand.Result read = sh(a, "cat " + secret + " /proc/1/root" + secret + " 2>&1; "
                    + "grep -r host-secret-7c1e /root /tmp /home 2>/dev/null; true");
            assertThat(read.output()).doesNotContain("host-secret-7c1e");
            // The sandbox's /etc is the template's, not the host's.
            assertThat(sh(a, "cat /etc/hostname").output().strip()).isEqualTo(a);
        } finally {
            Files.deleteIfExists(secret);
        }
    }

    @Test
    void cannotReachHostServicesOrOtherSandboxes() throws Exception {
        NetworkAttachment netA = runtime.network().find(a).orElseThrow();
        AtomicInteger accepted = new AtomicInteger();
        try (ServerSocket loopback = listen(InetAddress.getLoopbackAddress(), accepted);
             ServerSocket onVeth = listen(netA.hostAddress(), accepted);
             TestUpstream upstream = new TestUpstream()) {
            // Controls: the host itself reaches its veth listener and every upstream address.
            try (Socket s = new Socket(netA.hostAddress(), onVeth.getLocalPort())) {
                assertThat(s.isConnected()).isTrue();
            }
            for (String address : TestUpstream.ADDRESSES) {
                try (Socket s = new Socket()) {
                    s.connect(new InetSocketAddress(address, TestUpstream.PORT), 3000);
                }
            }
            awaitCount(accepted::get, 1);
            awaitCount(upstream::acceptedTotal, TestUpstream.ADDRESSES.size());
            int before = accepted.get();
            int upstreamBefore = upstream.acceptedTotal();

            StringBuilder targets = new StringBuilder()
                    .append("127.0.0.1:").append(loopback.getLocalPort()).append(' ')
                    .append(netA.hostAddress().getHostAddress()).append(':').append(onVeth.getLocalPort()).append(' ')
                    .append(sandboxB.address().getHostAddress()).append(":49983");
            for (String address : TestUpstream.ADDRESSES) {
                targets.append(' ').append(address).append(':').append(TestUpstream.PORT);
            }
            String probe = "for t in " + targets + "; do "
                    + "if timeout 3 bash -c \"echo > /dev/tcp/${t%:*}/${t#*:}\" 2>/dev/null; "
                    + "then echo OPEN $t; else echo CLOSED $t; fi; done";
            String out = sh(a, probe).output();
            assertThat(out).doesNotContain("OPEN").contains("CLOSED 127.0.0.1").contains("CLOSED 169.254.169.254");
            assertThat(accepted.get()).isEqualTo(before);
            assertThat(upstream.acceptedTotal()).isEqualTo(upstreamBefore);
            // Sandbox B is still reachable from the host (its agent port), just not from A.
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(sandboxB.address(), 49983), 3000);
                assertThat(s.isConnected()).isTrue();
            }
        }
    }

    /** Accepts are counted on another thread: wait (bounded) until the controls have been seen. */
    private static void awaitCount(java.util.function.IntSupplier count, int atLeast) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (count.getAsInt() < atLeast && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(count.getAsInt()).isGreaterThanOrEqualTo(atLeast);
    }

    @Test
    void spoofedSourceAddressesAreDropped() {
        NetworkAttachment netA = runtime.network().find(a).orElseThrow();
        String spoofed = "10.88.250." + (2 + (netA.slot() % 200));
        // Host root adds a second address inside A's namespace (the sandbox itself lacks NET_ADMIN) and sends from
        // it to B: the anti-spoofing rule must drop it before anything else sees it.
        HostCommand.check(List.of("ip", "-n", netA.netns(), "addr", "add", spoofed + "/32", "dev", "eth0"));
        long before = spoofCounter();
        HostCommand.Result sent = HostCommand.run(List.of("ip", "netns", "exec", netA.netns(), "curl", "-s", "-m",
                "2", "--interface", spoofed, sandboxB.agentUri() + "/health"));
        assertThat(sent.ok()).isFalse();
        assertThat(spoofCounter()).isGreaterThan(before);
        HostCommand.check(List.of("ip", "-n", netA.netns(), "addr", "del", spoofed + "/32", "dev", "eth0"));
    }

    private static long spoofCounter() {
        String chain = HostCommand.check(List.of("nft", "list", "chain", "inet", "boxwood", "from_sandbox"));
        String line = chain.lines().filter(l -> l.contains("@sources")).findFirst().orElseThrow();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("packets (\\d+)").matcher(line);
        assertThat(m.find()).isTrue();
        return Long.parseLong(m.group(1));
    }

    @Test
    void cannotLoadModulesMountUnshareOrTrace() {
        // finit_module(313), init_module(175) on x86_64: denied by seccomp with EPERM.
        assertThat(syscall(a, "libc.syscall(313, 0, b\"\", 0)")).isEqualTo("-1 1");
        assertThat(syscall(a, "libc.syscall(175, 0, 0, b\"\")")).isEqualTo("-1 1");
        HostCommand.Result mount = sh(a, "mkdir -p /mnt/x && mount -t tmpfs none /mnt/x 2>&1; echo rc=$?");
        assertThat(mount.output()).doesNotEndWith("rc=0");
        assertThat(sh(a, "grep -c ' /mnt/x ' /proc/self/mountinfo").output().strip()).isEqualTo("0");
        for (String flags : List.of("-U", "-m", "-n", "-p -f", "-r")) {
            assertThat(sh(a, "unshare " + flags + " true 2>&1; echo rc=$?").output())
                    .as("unshare %s", flags).doesNotEndWith("rc=0");
        }
        // clone(CLONE_NEWUSER|SIGCHLD): denied by the flag filter; clone3 answers ENOSYS.
        assertThat(syscall(a, "libc.syscall(56, 0x10000000 | 17, 0, 0, 0, 0)")).isEqualTo("-1 1");
        assertThat(syscall(a, "libc.syscall(435, 0, 0)")).isEqualTo("-1 38");
        // ptrace(PTRACE_TRACEME), bpf, keyctl, userfaultfd, perf_event_open.
        assertThat(syscall(a, "libc.syscall(101, 0, 0, 0, 0)")).isEqualTo("-1 1");
        assertThat(syscall(a, "libc.syscall(321, 0, 0, 0)")).isEqualTo("-1 1");
        assertThat(syscall(a, "libc.syscall(250, 0, 0, 0, 0)")).isEqualTo("-1 1");
        assertThat(syscall(a, "libc.syscall(323, 0)")).isEqualTo("-1 1");
        assertThat(syscall(a, "libc.syscall(298, 0, 0, -1, -1, 0)")).isEqualTo("-1 1");
        // Ordinary process creation still works.
        assertThat(sh(a, "echo $( (echo child) )").output().strip()).isEqualTo("child");
    }

    @Test
    void cannotChangeItsNetworkOrReachTheKernelConsole() {
        assertThat(sh(a, "ip addr add 10.88.255.1/32 dev eth0 2>&1; echo rc=$?").output()).doesNotEndWith("rc=0");
        assertThat(sh(a, "ip route del default 2>&1; echo rc=$?").output()).doesNotEndWith("rc=0");
        assertThat(sh(a, "echo 1 > /proc/sys/net/ipv4/ip_forward 2>&1; echo rc=$?").output())
                .doesNotEndWith("rc=0");
        assertThat(sh(a, "echo b > /proc/sysrq-trigger 2>&1; echo rc=$?").output()).doesNotEndWith("rc=0");
        assertThat(sh(a, "cat /proc/kcore 2>/dev/null | head -c 10 | wc -c").output().strip()).isEqualTo("0");
        assertThat(sh(a, "dmesg 2>&1; echo rc=$?").output()).doesNotEndWith("rc=0");
    }

    @Test
    void userCanWriteHomeAndRootOwnsTheFilesystem() {
        assertThat(runtime.execAs(a, "1000:1000", List.of("/bin/bash", "-c",
                "echo hi > /home/user/f && cat /home/user/f && id -un")).output()).contains("hi").contains("user");
        assertThat(sh(a, "stat -c %u:%g / /etc /usr/bin/sudo && stat -c %A /usr/bin/sudo").output())
                .contains("0:0").contains("rws");
        assertThat(sh(a, "echo x > /etc/boxwood-test && cat /etc/boxwood-test").output().strip()).isEqualTo("x");
    }

    private static ServerSocket listen(InetAddress address, AtomicInteger accepted) throws IOException {
        ServerSocket server = new ServerSocket(0, 50, address);
        Thread.ofVirtual().start(() -> {
            while (!server.isClosed()) {
                try (Socket ignored = server.accept()) {
                    accepted.incrementAndGet();
                } catch (IOException e) {
                    return;
                }
            }
        });
        return server;
    }
}
