package dev.boxwood.agent.sudo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxwood.agent.users.Accounts;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The real client script ({@code templates/base/sudo}, the file the base template installs) run as an unprivileged
 * host user against the service in this (root) JVM, over a socket in a temp dir, with a sudoers dir that grants
 * {@code user} what the base template grants it.
 */
class SudoServiceTest {
    private static final String USER = "user";
    private static Path dir;
    private static Path client;
    private static SudoService service;

    @BeforeAll
    static void start() throws Exception {
        if (new Accounts().byName(USER).isEmpty()) run("useradd", "-m", "-s", "/bin/bash", USER);
        dir = Files.createTempDirectory("boxwood-sudo");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        client = dir.resolve("sudo");
        Files.copy(script(), client);
        Files.setPosixFilePermissions(client, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path sudoers = Files.createDirectory(dir.resolve("sudoers.d"));
        Files.writeString(sudoers.resolve(USER), USER + " ALL=(ALL:ALL) NOPASSWD: ALL\n");
        Files.writeString(sudoers.resolve("README"), "# not a grant\n");
        Files.writeString(sudoers.resolve("nobody.disabled"), "nobody ALL=(ALL:ALL) NOPASSWD: ALL\n");
        Accounts accounts = new Accounts();
        service = SudoService.start(dir.resolve("run/sudo.sock"), accounts, new SudoPolicy(accounts,
                List.of(sudoers)));
    }

    @AfterAll
    static void stop() throws Exception {
        service.close();
        run("rm", "-rf", dir.toString());
    }

    /** The one copy of the client: the template recipe's file. */
    static Path script() {
        Path p = Path.of("../templates/base/sudo");
        if (Files.exists(p)) return p;
        return Path.of(System.getProperty("boxwood.home", System.getenv().getOrDefault("BOXWOOD_HOME", ".")),
                "templates/base/sudo");
    }

    @Test
    void userBecomesRootWithoutPassword() throws Exception {
        Result r = sudo(USER, "", "-n", "whoami");
        assertThat(r.exit).isZero();
        assertThat(r.out).isEqualTo("root\n");
    }

    @Test
    void exitStatusOfTheCommandIsSudosOwn() throws Exception {
        assertThat(sudo(USER, "", "sh", "-c", "exit 7").exit).isEqualTo(7);
        assertThat(sudo(USER, "", "false").exit).isEqualTo(1);
    }

    @Test
    void stdinAndStderrAreTheCallersOwn() throws Exception {
        Result r = sudo(USER, "line one\nline two\n", "sh", "-c", "tr a-z A-Z; echo to-stderr >&2");
        assertThat(r.out).isEqualTo("LINE ONE\nLINE TWO\n");
        assertThat(r.err).isEqualTo("to-stderr\n");
    }

    /**
     * The agent binds the socket only after it answers /health, so a sudo run right after a cold create can come
     * first: the client waits for the socket instead of failing.
     */
    @Test
    void clientWaitsForASocketThatIsNotThereYet() throws Exception {
        Path late = dir.resolve("late/sudo.sock");
        Process p = start(USER, List.of("env", "BOXWOOD_SUDO_SOCKET=" + late, "BOXWOOD_SUDO_WAIT=60",
                "/usr/bin/python3", client.toString(), "whoami"));
        p.getOutputStream().close();
        Thread.sleep(1_000); // the client is (most likely) polling for the socket by now
        assertThat(p.isAlive()).isTrue();
        Accounts accounts = new Accounts();
        try (SudoService lateService = SudoService.start(late, accounts, new SudoPolicy(accounts,
                List.of(dir.resolve("sudoers.d"))))) {
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("root\n");
            assertThat(p.exitValue()).isZero();
        }
    }

    @Test
    void dashUserRunsAsThatUser() throws Exception {
        Result r = sudo(USER, "", "-u", "nobody", "sh", "-c", "id -un; echo $HOME");
        assertThat(r.out).isEqualTo("nobody\n/nonexistent\n");
    }

    @Test
    void environmentIsResetLikeSudos() throws Exception {
        Result r = sudo(USER, "", "env");
        assertThat(r.out.lines().toList()).contains("USER=root", "HOME=/root", "SUDO_USER=" + USER,
                "PATH=" + SudoService.SECURE_PATH).doesNotContain("SECRET=1");
        Result kept = sudo(USER, "", "-E", "env");
        assertThat(kept.out.lines().toList()).contains("SECRET=1", "USER=root", "SUDO_USER=" + USER);
        Result assigned = sudo(USER, "", "FOO=bar baz", "sh", "-c", "echo \"$FOO\"");
        assertThat(assigned.out).isEqualTo("bar baz\n");
    }

    @Test
    void shellAndLoginShellRunTheCommandLine() throws Exception {
        assertThat(sudo(USER, "", "-s", "echo", "a b").out).isEqualTo("a b\n");
        Result login = sudo(USER, "", "-i", "pwd");
        assertThat(login.out).isEqualTo("/root\n");
    }

    @Test
    void userOutsideSudoersIsRefused() throws Exception {
        Result r = sudo("nobody", "", "-n", "whoami");
        assertThat(r.exit).isEqualTo(1);
        assertThat(r.out).isEmpty();
        assertThat(r.err).contains("nobody is not in the sudoers file");
        assertThat(sudo("nobody", "", "-v").err).contains("may not run sudo");
    }

    @Test
    void listAndValidateAnswerForSudoers() throws Exception {
        assertThat(sudo(USER, "", "-v").exit).isZero();
        Result list = sudo(USER, "", "-l");
        assertThat(list.exit).isZero();
        assertThat(list.out).contains("(ALL : ALL) NOPASSWD: ALL");
    }

    @Test
    void unknownOptionsAndCommandsFailClearly() throws Exception {
        Result opt = sudo(USER, "", "-b", "true");
        assertThat(opt.exit).isEqualTo(1);
        assertThat(opt.err).contains("invalid option -- 'b'");
        Result missing = sudo(USER, "", "no-such-command-here");
        assertThat(missing.exit).isEqualTo(1);
        assertThat(missing.err).isEqualTo("sudo: no-such-command-here: command not found\n");
        assertThat(sudo(USER, "", "-u", "no-such-user", "true").err).contains("unknown user no-such-user");
    }

    @Test
    void aPidOfSomeoneElseIsRefused() throws Exception {
        // the test JVM is root, so the policy lets it through; only the pid check stands in the way
        Process other = new ProcessBuilder("setpriv", "--reuid=" + USER, "--regid=" + USER, "--init-groups",
                "sleep", "60").start();
        // Until setpriv has exec'd sleep, the pid is still root's, the caller's own: wait for the switch.
        Path comm = Path.of("/proc/" + other.pid() + "/comm");
        for (int i = 0; i < 500 && !"sleep".equals(Files.readString(comm).strip()); i++) Thread.sleep(10);
        assertThat(Files.readString(comm).strip()).isEqualTo("sleep");
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(service.socket()));
            Channels.newOutputStream(ch).write(("{\"pid\":" + other.pid() + ",\"argv\":[\"id\"]}\n")
                    .getBytes(StandardCharsets.UTF_8));
            String reply = new BufferedReader(new InputStreamReader(Channels.newInputStream(ch))).readLine();
            assertThat(reply).contains("\"error\"").contains("is not the caller's").contains("\"exit\":1");
        } finally {
            other.destroyForcibly();
        }
    }

    @Test
    void socketStdoutIsRelayed() throws Exception {
        // Node's child_process gives children socketpairs as stdio; those cannot be reopened through /proc
        String py = "import socket,subprocess,sys\n"
                + "a,b=socket.socketpair()\n"
                + "import shlex\n"
                + "p=subprocess.Popen([sys.argv[1]]+shlex.split(sys.argv[2]),stdout=a)\n"
                + "a.close()\n"
                + "data=b''\n"
                + "while True:\n"
                + "    d=b.recv(4096)\n"
                + "    if not d: break\n"
                + "    data+=d\n"
                + "print(repr(data), p.wait())\n";
        Result r = asUser(USER, "", List.of("/usr/bin/python3", "-c", py, client.toString(),
                "sh -c 'echo via-socket; id -un'"));
        assertThat(r.out).isEqualTo("b'via-socket\\nroot\\n' 0\n");
        // no command runs for -l, so the relays end without one
        Result list = asUser(USER, "", List.of("/usr/bin/python3", "-c", py, client.toString(), "-l"));
        assertThat(list.out).contains("NOPASSWD: ALL").endsWith(" 0\n");
    }

    @Test
    void interruptReachesTheCommandAndHangingUpKillsIt() throws Exception {
        String marker = "1000." + (System.nanoTime() % 100000);
        Process p = start(USER, List.of("/usr/bin/python3", client.toString(), "sleep", marker));
        ProcessHandle sleeper = await(marker);
        assertThat(sleeper.info().user()).contains("root");
        run("kill", "-INT", String.valueOf(p.pid()));
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isEqualTo(130);
        assertThat(sleeper.onExit().get(30, TimeUnit.SECONDS).isAlive()).isFalse();

        String marker2 = "1000." + (System.nanoTime() % 100000 + 1);
        Process q = start(USER, List.of("/usr/bin/python3", client.toString(), "sleep", marker2));
        ProcessHandle orphan = await(marker2);
        q.destroyForcibly();
        assertThat(orphan.onExit().get(30, TimeUnit.SECONDS).isAlive()).isFalse();
    }

    private static ProcessHandle await(String marker) throws InterruptedException {
        for (int i = 0; i < 600; i++) {
            Optional<ProcessHandle> h = ProcessHandle.allProcesses()
                    .filter(ph -> ph.info().commandLine().orElse("").equals("/usr/bin/sleep " + marker)).findFirst();
            if (h.isPresent()) return h.get();
            Thread.sleep(50);
        }
        throw new AssertionError("sleep " + marker + " never started");
    }

    record Result(int exit, String out, String err) {
    }

    private static Result sudo(String user, String stdin, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/python3", client.toString()));
        cmd.addAll(List.of(args));
        return asUser(user, stdin, cmd);
    }

    private static Process start(String user, List<String> cmd) throws IOException {
        List<String> full = new ArrayList<>(List.of("setpriv", "--reuid=" + user, "--regid=" + groupOf(user),
                "--init-groups", "--"));
        full.addAll(cmd);
        ProcessBuilder pb = new ProcessBuilder(full).directory(Path.of("/").toFile());
        pb.environment().put("BOXWOOD_SUDO_SOCKET", service.socket().toString());
        pb.environment().put("SECRET", "1");
        pb.environment().put("HOME", "/home/" + user);
        return pb.start();
    }

    private static Result asUser(String user, String stdin, List<String> cmd) throws Exception {
        Process p = start(user, cmd);
        try (var in = p.getOutputStream()) {
            in.write(stdin.getBytes(StandardCharsets.UTF_8));
        }
        String err;
        byte[] outBytes;
        try (var errStream = p.getErrorStream()) {
            var outFuture = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    return p.getInputStream().readAllBytes();
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            err = new String(errStream.readAllBytes(), StandardCharsets.UTF_8);
            outBytes = outFuture.get(60, TimeUnit.SECONDS);
        }
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Result(p.exitValue(), new String(outBytes, StandardCharsets.UTF_8), err);
    }

    private static String groupOf(String user) {
        return String.valueOf(new Accounts().byName(user).orElseThrow().gid());
    }

    private static void run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).inheritIO().start();
        if (p.waitFor() != 0) throw new IllegalStateException("failed: " + List.of(cmd));
    }
}
