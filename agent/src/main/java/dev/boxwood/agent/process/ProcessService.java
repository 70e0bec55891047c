package dev.boxwood.agent.process;

import dev.boxwood.agent.Settings;
import dev.boxwood.agent.connect.Call;
import dev.boxwood.agent.connect.Code;
import dev.boxwood.agent.connect.ConnectError;
import dev.boxwood.agent.connect.ConnectRouter;
import dev.boxwood.agent.connect.Method;
import dev.boxwood.agent.connect.StreamSink;
import dev.boxwood.agent.filesystem.Paths;
import dev.boxwood.agent.users.Account;
import dev.boxwood.protocol.envd.Empty;
import dev.boxwood.protocol.envd.process.CloseStdinRequest;
import dev.boxwood.protocol.envd.process.ConnectRequest;
import dev.boxwood.protocol.envd.process.ConnectResponse;
import dev.boxwood.protocol.envd.process.ListRequest;
import dev.boxwood.protocol.envd.process.ListResponse;
import dev.boxwood.protocol.envd.process.ProcessConfig;
import dev.boxwood.protocol.envd.process.ProcessEvent;
import dev.boxwood.protocol.envd.process.ProcessInfo;
import dev.boxwood.protocol.envd.process.ProcessSelector;
import dev.boxwood.protocol.envd.process.SendInputRequest;
import dev.boxwood.protocol.envd.process.SendSignalRequest;
import dev.boxwood.protocol.envd.process.Signal;
import dev.boxwood.protocol.envd.process.StartRequest;
import dev.boxwood.protocol.envd.process.StartResponse;
import dev.boxwood.protocol.envd.process.UpdateRequest;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/** envd's {@code process.Process} service. */
public final class ProcessService {
    static final String SERVICE = "process.Process";
    private static final String DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    private static final boolean AGENT_IS_ROOT = "root".equals(System.getProperty("user.name"));
    /** Absolute, so spawning does not depend on the agent's own PATH (a container may start it without one). */
    private static final String SETSID = utility("setsid");
    private static final String SETPRIV = utility("setpriv");

    private final Settings settings;
    private final Map<Integer, ManagedProcess> processes = new ConcurrentHashMap<>();

    public ProcessService(Settings settings) {
        this.settings = settings;
    }

    public void register(ConnectRouter router) {
        router.add(SERVICE, "Start", Method.serverStream(StartRequest.class, this::start,
                        () -> new StartResponse(ProcessEvent.ofKeepalive())))
                .add(SERVICE, "Connect", Method.serverStream(ConnectRequest.class, this::connect,
                        () -> new ConnectResponse(ProcessEvent.ofKeepalive())))
                .add(SERVICE, "List", Method.unary(ListRequest.class, this::list))
                .add(SERVICE, "SendInput", Method.unary(SendInputRequest.class, this::sendInput))
                .add(SERVICE, "CloseStdin", Method.unary(CloseStdinRequest.class, this::closeStdin))
                .add(SERVICE, "SendSignal", Method.unary(SendSignalRequest.class, this::sendSignal))
                .add(SERVICE, "Update", Method.unary(UpdateRequest.class, this::update))
                .add(SERVICE, "StreamInput", Method.unary(Empty.class, (call, req) -> {
                    throw new ConnectError(Code.UNIMPLEMENTED, "client streaming is not supported over HTTP/1.1");
                }));
    }

    private void start(Call call, StartRequest request, StreamSink<StartResponse> sink) throws Exception {
        ProcessConfig config = request.process();
        if (config == null || config.cmd() == null || config.cmd().isEmpty()) {
            throw ConnectError.invalidArgument("process.cmd is required");
        }
        Account user = call.user();
        Path cwd = workdir(config.cwd(), user);
        boolean stdinOpen = request.stdin() == null || request.stdin();
        PtyMaster pty = null;
        Spawner.primeIo(request.pty() != null ? 1 : 3); // the pumps (and for pipes the reaper) that run() will need
        if (request.pty() != null) {
            var size = request.pty().size();
            int cols = size == null || size.cols() <= 0 ? 80 : size.cols();
            int rows = size == null || size.rows() <= 0 ? 24 : size.rows();
            pty = PtyMaster.open(cols, rows);
        }
        Map<String, String> env = environment(config, user);
        // A terminal needs setsid --ctty, which posix_spawn cannot do; pipes take the one-exec path when it can.
        Child child = pty != null ? null : Spawner.get().spawn(argv(config), env, cwd, user, stdinOpen);
        if (child == null) {
            ProcessBuilder builder = new ProcessBuilder(command(config, user, pty != null)).directory(cwd.toFile());
            builder.environment().clear();
            builder.environment().putAll(env);
            if (pty != null) {
                File slave = new File(pty.slavePath());
                builder.redirectInput(slave).redirectOutput(ProcessBuilder.Redirect.appendTo(slave))
                        .redirectError(ProcessBuilder.Redirect.appendTo(slave));
            } else if (!stdinOpen) {
                builder.redirectInput(new File("/dev/null"));
            }
            try {
                child = new Child.Jdk(builder.start(), pty == null && stdinOpen);
            } catch (IOException e) {
                if (pty != null) pty.close();
                throw ConnectError.invalidArgument("cannot start '" + config.cmd() + "': " + e.getMessage());
            }
        }
        ManagedProcess managed = new ManagedProcess(child, withCwd(config, cwd), request.tag(), pty);
        processes.put(managed.pid(), managed);
        Subscriber subscriber = managed.subscribe();
        managed.run(p -> processes.remove(p.pid(), p));
        if (call.hasDeadline()) enforceLifetime(managed, call.deadlineNanos());
        try {
            sink.send(new StartResponse(ProcessEvent.ofStart(managed.pid())));
            follow(call, managed, subscriber, e -> new StartResponse(e), sink, true);
        } finally {
            managed.unsubscribe(subscriber);
        }
    }

    /** The deadline binds the process even after its client went away (envd's semantics for Start). */
    private static void enforceLifetime(ManagedProcess managed, long deadlineNanos) {
        Thread.ofVirtual().name("lifetime-" + managed.pid()).start(() -> {
            try {
                long wait = deadlineNanos - System.nanoTime();
                if (wait > 0) managed.end().get(wait, java.util.concurrent.TimeUnit.NANOSECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                managed.signal(9);
            } catch (InterruptedException | java.util.concurrent.ExecutionException ignored) {
                // ended or shutting down
            }
        });
    }

    private void connect(Call call, ConnectRequest request, StreamSink<ConnectResponse> sink) throws Exception {
        ManagedProcess managed = find(request.process());
        Subscriber subscriber = managed.subscribe();
        try {
            sink.send(new ConnectResponse(ProcessEvent.ofStart(managed.pid())));
            follow(call, managed, subscriber, e -> new ConnectResponse(e), sink, false);
        } finally {
            managed.unsubscribe(subscriber);
        }
    }

    /**
     * Forwards events until the end event. At the call's deadline the stream ends with deadline_exceeded; for Start
     * the deadline is the process's lifetime (envd's semantics), so the process tree is killed first.
     */
    private static <R> void follow(Call call, ManagedProcess managed, Subscriber subscriber,
                                   Function<ProcessEvent, R> wrap, StreamSink<R> sink, boolean ownsLifetime)
            throws Exception {
        while (true) {
            long wait = call.hasDeadline() ? call.deadlineNanos() - System.nanoTime() : 1_000_000_000L;
            if (wait <= 0) {
                if (ownsLifetime) managed.signal(9);
                throw new ConnectError(Code.DEADLINE_EXCEEDED, "process deadline exceeded");
            }
            ProcessEvent event = subscriber.poll(Math.min(wait, 1_000_000_000L));
            if (event == null) {
                if (managed.end().isDone()) {
                    // subscribed after the end was handed out: report it ourselves
                    sink.sendLast(wrap.apply(ProcessEvent.ofEnd(managed.end().get())));
                    return;
                }
                continue;
            }
            if (event.end() != null) {
                sink.sendLast(wrap.apply(event));
                return;
            }
            sink.send(wrap.apply(event));
        }
    }

    private ListResponse list(Call call, ListRequest request) {
        List<ProcessInfo> infos = new ArrayList<>();
        processes.values().stream().sorted(Comparator.comparingInt(ManagedProcess::pid))
                .forEach(p -> infos.add(p.info()));
        return new ListResponse(infos);
    }

    private Empty sendInput(Call call, SendInputRequest request) {
        ManagedProcess p = find(request.process());
        var input = request.input();
        if (input == null || (input.stdin() == null && input.pty() == null)) {
            return new Empty(); // empty input: proto3 JSON may leave the empty oneof member out entirely
        }
        try {
            if (input.pty() != null) {
                if (!p.hasPty()) throw ConnectError.failedPrecondition("process " + p.pid() + " has no pty");
                p.writePty(input.pty());
            } else {
                if (!p.stdinEnabled()) {
                    throw ConnectError.failedPrecondition("stdin of process " + p.pid() + " is not enabled");
                }
                p.writeStdin(input.stdin());
            }
        } catch (IOException e) {
            throw ConnectError.failedPrecondition("cannot write to process " + p.pid() + ": " + e.getMessage());
        }
        return new Empty();
    }

    private Empty closeStdin(Call call, CloseStdinRequest request) {
        ManagedProcess p = find(request.process());
        try {
            p.closeStdin();
        } catch (IOException e) {
            throw ConnectError.failedPrecondition("cannot close stdin of " + p.pid() + ": " + e.getMessage());
        }
        return new Empty();
    }

    private Empty sendSignal(Call call, SendSignalRequest request) {
        ManagedProcess p = find(request.process());
        Signal signal = request.signal();
        if (signal == null || signal == Signal.SIGNAL_UNSPECIFIED) throw ConnectError.invalidArgument("signal is required");
        p.signal(signal.number());
        return new Empty();
    }

    private Empty update(Call call, UpdateRequest request) {
        ManagedProcess p = find(request.process());
        if (request.pty() == null || request.pty().size() == null) return new Empty();
        if (!p.hasPty()) throw ConnectError.failedPrecondition("process " + p.pid() + " has no pty");
        var size = request.pty().size();
        if (size.cols() <= 0 || size.rows() <= 0 || size.cols() > 65535 || size.rows() > 65535) {
            throw ConnectError.invalidArgument("pty size must be between 1 and 65535");
        }
        try {
            p.resize(size.cols(), size.rows());
        } catch (IOException e) {
            throw ConnectError.internal(e.getMessage());
        }
        return new Empty();
    }

    private ManagedProcess find(ProcessSelector selector) {
        if (selector == null || (selector.pid() == null && selector.tag() == null)) {
            throw ConnectError.invalidArgument("process selector (pid or tag) is required");
        }
        if (selector.pid() != null) {
            ManagedProcess p = processes.get(selector.pid());
            if (p == null) throw ConnectError.notFound("process with pid " + selector.pid() + " not found");
            return p;
        }
        return processes.values().stream().filter(p -> selector.tag().equals(p.tag())).findFirst()
                .orElseThrow(() -> ConnectError.notFound("process with tag " + selector.tag() + " not found"));
    }

    private Path workdir(String requested, Account user) {
        String cwd = requested == null || requested.isEmpty() ? settings.defaultWorkdir() : requested;
        Path path = cwd == null ? user.home() : Paths.resolve(cwd, user);
        if (!Files.isDirectory(path)) {
            throw ConnectError.invalidArgument("cwd '" + path + "' does not exist or is not a directory");
        }
        return path;
    }

    private static ProcessConfig withCwd(ProcessConfig config, Path cwd) {
        return new ProcessConfig(config.cmd(), config.args() == null ? List.of() : config.args(),
                config.envs() == null ? Map.of() : config.envs(), cwd.toString());
    }

    private static List<String> argv(ProcessConfig config) {
        List<String> argv = new ArrayList<>();
        argv.add(config.cmd());
        if (config.args() != null) argv.addAll(config.args());
        return argv;
    }

    /** setsid gives the process its own session and process group (and with --ctty, its terminal). */
    private static List<String> command(ProcessConfig config, Account user, boolean pty) {
        List<String> cmd = new ArrayList<>();
        cmd.add(SETSID);
        if (pty) cmd.add("--ctty");
        if (AGENT_IS_ROOT && !user.isRoot()) {
            cmd.addAll(List.of(SETPRIV, "--reuid=" + user.uid(), "--regid=" + user.gid(), "--init-groups", "--"));
        }
        cmd.add(config.cmd());
        if (config.args() != null) cmd.addAll(config.args());
        return cmd;
    }

    private static String utility(String name) {
        for (String dir : List.of("/usr/bin", "/bin", "/usr/sbin", "/sbin")) {
            Path p = Path.of(dir, name);
            if (Files.isExecutable(p)) return p.toString();
        }
        return name;
    }

    /** Defaults of the user, then the sandbox's env vars from /init, then the call's own envs. */
    private Map<String, String> environment(ProcessConfig config, Account user) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("PATH", DEFAULT_PATH);
        env.put("HOME", user.home().toString());
        env.put("USER", user.name());
        env.put("LOGNAME", user.name());
        if (user.shell() != null && !user.shell().isEmpty()) env.put("SHELL", user.shell());
        env.putAll(settings.envVars());
        if (config.envs() != null) env.putAll(config.envs());
        return env;
    }
}
