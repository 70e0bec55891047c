package dev.boxwood.agent.sudo;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.boxwood.agent.users.Account;
import dev.boxwood.agent.users.Accounts;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import jdk.net.ExtendedSocketOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * sudo for sandboxes that run with no_new_privs (where the setuid /usr/bin/sudo is inert): the client script
 * ({@code templates/base/sudo}, installed as /usr/local/bin/sudo) connects to a Unix socket of the agent, which runs as
 * root inside the sandbox. The peer's identity comes from the kernel (SO_PEERCRED), {@link SudoPolicy} decides, and
 * the command runs as the target user with the client's own stdin/stdout/stderr reopened, so output lands where the
 * caller's would and terminals keep working (where it cannot reopen one, it takes a pipe the client relays). The agent
 * answers {@code {"started": pid, "relayed": [slots]}} then {@code {"exit": N}};
 * the client may send {@code {"signal": N}} lines meanwhile (Ctrl-C), and a dropped connection kills the command.
 * Socket path: system property {@code boxwood.sudo.socket}, env {@code BOXWOOD_SUDO_SOCKET}, default
 * {@code /run/boxwood-sudo.sock}.
 */
public final class SudoService implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SudoService.class);
    /** Debian's sudo secure_path: the command's PATH whatever the caller's was. */
    static final String SECURE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    /** What sudo's env_reset keeps from the caller (besides the variables it sets itself). */
    private static final List<String> KEPT = List.of("TERM", "COLORTERM", "COLORS", "LS_COLORS", "DISPLAY",
            "XAUTHORITY", "LANG", "LANGUAGE", "LINGUAS", "TZ", "PS1", "PS2");
    private static final int SIGTERM = 15;
    private static final int SIGKILL = 9;

    private final Path socket;
    private final Accounts accounts;
    private final SudoPolicy policy;
    private final ObjectMapper json = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
    private final ServerSocketChannel server;

    private SudoService(Path socket, Accounts accounts, SudoPolicy policy, ServerSocketChannel server) {
        this.socket = socket;
        this.accounts = accounts;
        this.policy = policy;
        this.server = server;
    }

    /** The agent's start-up hook: serves sudo when the agent is root (inside a sandbox it always is). */
    public static void startIfRoot() {
        if (!"root".equals(System.getProperty("user.name"))) return;
        if ("off".equals(System.getenv("BOXWOOD_SUDO"))) {
            // The runtime's kernel does not tell who is asking (gVisor answers SO_PEERCRED with the credentials of
            // the process that asks it, the agent itself): without that word, serving sudo would grant root to any
            // process claiming the agent's own pid. So there is no service, and sudo falls back to /usr/bin/sudo.
            LOG.info("sudo service off: the runtime gives no peer credentials");
            return;
        }
        String path = System.getProperty("boxwood.sudo.socket",
                System.getenv().getOrDefault("BOXWOOD_SUDO_SOCKET", "/run/boxwood-sudo.sock"));
        try {
            Accounts accounts = new Accounts();
            start(Path.of(path), accounts, SudoPolicy.system(accounts));
        } catch (IOException | RuntimeException e) {
            // sudo is a convenience: the agent serves everything else without it
            LOG.warn("sudo service not started on {}: {}", path, e.toString());
        }
    }

    public static SudoService start(Path socket, Accounts accounts, SudoPolicy policy) throws IOException {
        Files.createDirectories(socket.toAbsolutePath().getParent());
        Files.deleteIfExists(socket);
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        // anyone may ask; SudoPolicy decides who gets an answer other than a refusal
        Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw-rw-"));
        SudoService service = new SudoService(socket, accounts, policy, server);
        Thread.ofVirtual().name("sudo-accept").start(service::acceptLoop);
        return service;
    }

    public Path socket() {
        return socket;
    }

    private void acceptLoop() {
        while (server.isOpen()) {
            try {
                SocketChannel ch = server.accept();
                Thread.ofVirtual().name("sudo-session").start(() -> session(ch));
            } catch (IOException e) {
                if (server.isOpen()) LOG.warn("sudo accept failed", e);
            }
        }
    }

    private void session(SocketChannel ch) {
        try (ch) {
            OutputStream out = Channels.newOutputStream(ch);
            BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(ch),
                    StandardCharsets.UTF_8));
            String first = in.readLine();
            if (first == null) return;
            try {
                serve(ch, json.readValue(first, SudoRequest.class), in, out);
            } catch (Refusal r) {
                reply(out, Map.of("error", r.getMessage(), "exit", r.exit));
            }
        } catch (IOException | RuntimeException e) {
            LOG.debug("sudo session ended: {}", e.toString());
        }
    }

    private void serve(SocketChannel ch, SudoRequest req, BufferedReader in, OutputStream out)
            throws IOException, Refusal {
        String peerName = ch.getOption(ExtendedSocketOptions.SO_PEERCRED).user().getName();
        Account caller = account(peerName).orElseThrow(() -> new Refusal("unknown caller " + peerName));
        int callerGid = checkPid(req.pid(), caller.uid());
        if (!policy.allows(caller)) {
            throw new Refusal(switch (req.action()) {
                case "run" -> caller.name() + " is not in the sudoers file.";
                default -> "Sorry, user " + caller.name() + " may not run sudo on " + hostname() + ".";
            });
        }
        Account target = account(req.user().startsWith("#") ? req.user().substring(1) : req.user())
                .orElseThrow(() -> new Refusal("unknown user " + req.user()));
        switch (req.action()) {
            case "validate" -> reply(out, Map.of("exit", 0));
            case "list" -> reply(out, Map.of("exit", 0, "output", "User " + caller.name()
                    + " may run the following commands on " + hostname() + ":\n    (ALL : ALL) NOPASSWD: ALL\n"));
            case "run" -> run(req, caller, callerGid, target, in, out);
            default -> throw new Refusal("unknown action " + req.action());
        }
    }

    private void run(SudoRequest req, Account caller, int callerGid, Account target, BufferedReader in,
                     OutputStream out) throws IOException, Refusal {
        Map<String, String> env = environment(req, caller, target);
        Path cwd = req.login() ? target.home() : Path.of(req.cwd() == null ? "/" : req.cwd());
        if (!Files.isDirectory(cwd)) throw new Refusal("unable to change directory to " + cwd);
        List<String> argv = commandLine(req, caller, target, env, cwd);
        env.put("SUDO_COMMAND", String.join(" ", argv));

        List<String> cmd = new ArrayList<>(List.of(Tools.SETSID, Tools.SETPRIV, "--reuid=" + target.uid(),
                "--regid=" + target.gid()));
        // --init-groups needs a passwd entry; a bare #uid gets no supplementary groups
        cmd.add(accounts.byName(target.name()).isPresent() ? "--init-groups" : "--clear-groups");
        cmd.add("--");
        cmd.addAll(argv);
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(cwd.toFile());
        pb.environment().clear();
        pb.environment().putAll(env);

        List<Integer> held = new ArrayList<>();
        List<Integer> relayed = new ArrayList<>();
        Process child;
        try {
            for (int n = 0; n < 3; n++) {
                Integer fd = n < req.stdio().size() ? req.stdio().get(n) : null;
                ProcessBuilder.Redirect r;
                if (fd == null) {
                    r = n == 0 ? ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))
                            : ProcessBuilder.Redirect.DISCARD;
                } else {
                    int own = CallerFds.open(req.pid(), fd, caller.uid(), callerGid);
                    held.add(own);
                    Integer fallback = n < req.fallback().size() ? req.fallback().get(n) : null;
                    if (!CallerFds.reopens(own, n > 0) && fallback != null) {
                        own = CallerFds.open(req.pid(), fallback, caller.uid(), callerGid);
                        held.add(own);
                        relayed.add(n);
                    }
                    r = n == 0 ? ProcessBuilder.Redirect.from(CallerFds.reopenable(own))
                            : ProcessBuilder.Redirect.appendTo(CallerFds.reopenable(own));
                }
                switch (n) {
                    case 0 -> pb.redirectInput(r);
                    case 1 -> pb.redirectOutput(r);
                    default -> pb.redirectError(r);
                }
            }
            child = pb.start();
        } catch (IOException e) {
            throw new Refusal("unable to run " + argv.getFirst() + ": " + e.getMessage());
        } finally {
            held.forEach(CallerFds::close);
        }
        long pid = child.pid();
        LOG.info("sudo: {} runs {} as {} (pid {})", caller.name(), argv, target.name(), pid);
        reply(out, Map.of("started", pid, "relayed", relayed));
        Thread.ofVirtual().name("sudo-signals").start(() -> relaySignals(in, child));
        int exit;
        try {
            exit = child.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            CallerFds.signalGroup(pid, SIGKILL);
            return;
        }
        reply(out, Map.of("exit", exit));
    }

    /** Signal lines until the client hangs up; hanging up before the command ended means the caller is gone. */
    private void relaySignals(BufferedReader in, Process child) {
        try {
            String line;
            while ((line = in.readLine()) != null) {
                JsonNode msg = json.readTree(line);
                int sig = msg.path("signal").asInt(0);
                if (sig > 0 && sig < 65 && child.isAlive()) CallerFds.signalGroup(child.pid(), sig);
            }
        } catch (IOException ignored) {
            // same as end of stream
        }
        if (!child.isAlive()) return;
        CallerFds.signalGroup(child.pid(), SIGTERM);
        try {
            if (!child.waitFor(3, TimeUnit.SECONDS)) CallerFds.signalGroup(child.pid(), SIGKILL);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** sudo's env_reset (or the caller's environment with -E), then the variables sudo always sets. */
    private static Map<String, String> environment(SudoRequest req, Account caller, Account target) {
        Map<String, String> env = new java.util.LinkedHashMap<>();
        Map<String, String> from = req.env();
        if (req.preserveEnv() && !req.login()) {
            env.putAll(from);
        } else {
            from.forEach((k, v) -> {
                if (KEPT.contains(k) || k.startsWith("LC_") || req.preserveList().contains(k)) env.put(k, v);
            });
        }
        boolean keepHome = req.preserveEnv() && !req.setHome() && !req.login() && from.containsKey("HOME");
        if (!keepHome) env.put("HOME", target.home().toString());
        env.put("PATH", SECURE_PATH);
        env.put("USER", target.name());
        env.put("LOGNAME", target.name());
        env.put("SHELL", shellOf(target));
        env.put("SUDO_USER", caller.name());
        env.put("SUDO_UID", String.valueOf(caller.uid()));
        env.put("SUDO_GID", String.valueOf(caller.gid()));
        env.putAll(req.assignments());
        return env;
    }

    private static List<String> commandLine(SudoRequest req, Account caller, Account target, Map<String, String> env,
                                            Path cwd) throws Refusal {
        if (req.login() || req.shell()) {
            String shell = req.login() ? shellOf(target) : req.env().getOrDefault("SHELL", shellOf(caller));
            List<String> argv = new ArrayList<>(List.of(shell));
            if (req.login()) argv.add("-l");
            if (!req.argv().isEmpty()) {
                argv.add("-c");
                argv.add(escaped(req.argv()));
            }
            return argv;
        }
        List<String> argv = new ArrayList<>(req.argv());
        argv.set(0, resolve(argv.getFirst(), env.get("PATH"), cwd));
        return argv;
    }

    /** sudo -s/-i hand the command to the shell as one string, backslash-escaping all but [A-Za-z0-9_$-]. */
    static String escaped(List<String> argv) {
        StringBuilder sb = new StringBuilder();
        for (String arg : argv) {
            if (!sb.isEmpty()) sb.append(' ');
            for (char c : arg.toCharArray()) {
                if (!Character.isLetterOrDigit(c) && c != '_' && c != '-' && c != '$') sb.append('\\');
                sb.append(c);
            }
        }
        return sb.toString();
    }

    /** Like sudo, the command is looked up on the new PATH (secure_path) and a missing one is sudo's own error. */
    private static String resolve(String command, String path, Path cwd) throws Refusal {
        if (command.contains("/")) {
            Path p = cwd.resolve(command);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) return p.toString();
            throw new Refusal(command + ": command not found");
        }
        for (String dir : path.split(":")) {
            if (dir.isEmpty()) continue;
            Path p = Path.of(dir, command);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) return p.toString();
        }
        throw new Refusal(command + ": command not found");
    }

    private static String shellOf(Account a) {
        return a.shell() == null || a.shell().isEmpty() ? "/bin/sh" : a.shell();
    }

    /** A user by name, or by number (SO_PEERCRED names a uid without a passwd entry by its number, as does #uid). */
    private Optional<Account> account(String nameOrUid) {
        Optional<Account> byName = accounts.byName(nameOrUid);
        if (byName.isPresent() || !nameOrUid.matches("\\d{1,9}")) return byName;
        int uid = Integer.parseInt(nameOrUid);
        String name = accounts.userNames().get(uid);
        if (name != null) return accounts.byName(name);
        return Optional.of(new Account(nameOrUid, uid, uid, Path.of("/"), "/bin/sh"));
    }

    /**
     * The pid the client claims must be a process of the peer's own uid (real, effective, saved and filesystem), or
     * a caller could have the stdio of someone else's process reopened. Returns that process's gid.
     */
    private static int checkPid(int pid, int uid) throws Refusal {
        try {
            int[] uids = null;
            int gid = -1;
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (line.startsWith("Uid:")) {
                    uids = java.util.Arrays.stream(line.substring(4).trim().split("\\s+"))
                            .mapToInt(Integer::parseInt).toArray();
                } else if (line.startsWith("Gid:")) {
                    gid = Integer.parseInt(line.substring(4).trim().split("\\s+")[0]);
                }
            }
            if (uids != null && java.util.Arrays.stream(uids).allMatch(u -> u == uid) && pid > 0) return gid;
        } catch (IOException | RuntimeException e) {
            // no such process: refused below
        }
        throw new Refusal("process " + pid + " is not the caller's");
    }

    private static String hostname() {
        try {
            String name = Files.readString(Path.of("/etc/hostname")).strip();
            return name.isEmpty() ? "localhost" : name;
        } catch (IOException e) {
            return "localhost";
        }
    }

    private void reply(OutputStream out, Map<String, Object> message) throws IOException {
        out.write((json.writeValueAsString(message) + "\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    @Override
    public void close() throws IOException {
        server.close();
        Files.deleteIfExists(socket);
    }

    /** A request sudo itself would refuse; the message is what sudo would print after "sudo: ". */
    private static final class Refusal extends Exception {
        final int exit;

        Refusal(String message) {
            super(message, null, false, false);
            this.exit = 1;
        }
    }

    /** Absolute paths, so spawning does not depend on the agent's own PATH. */
    private static final class Tools {
        static final String SETSID = find("setsid");
        static final String SETPRIV = find("setpriv");

        private static String find(String name) {
            for (String dir : List.of("/usr/bin", "/bin", "/usr/sbin", "/sbin")) {
                Path p = Path.of(dir, name);
                if (Files.isExecutable(p)) return p.toString();
            }
            return name;
        }
    }
}
