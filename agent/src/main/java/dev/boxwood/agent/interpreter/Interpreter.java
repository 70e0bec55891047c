package dev.boxwood.agent.interpreter;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.boxwood.agent.interpreter.jupyter.Kernel;
import dev.boxwood.agent.interpreter.jupyter.KernelSpec;
import dev.boxwood.agent.interpreter.jupyter.KernelSpecs;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.zeromq.ZContext;

/**
 * The code interpreter without HTTP: contexts, their kernels, and executions streamed as {@link OutputItem}s.
 * {@link InterpreterServer} puts E2B's HTTP protocol in front of it.
 */
public final class Interpreter implements AutoCloseable {
    /** Receives the lines of one execution; throws when the client is gone. */
    public interface LineSink {
        void write(ObjectNode line) throws IOException;
    }

    /** A context as {@code /contexts} shows it. */
    public record ContextInfo(String id, String language, String cwd) {}

    /** @param accessToken the caller's X-Access-Token, passed on to read the sandbox-wide env vars */
    /**
     * @param silent Jupyter's {@code silent}: no history, no execution count, no result (Boxwood's warm pool runs a
     *               first cell this way, so that a claimed sandbox's first cell is still execution 1)
     */
    public record ExecuteRequest(String code, String contextId, String language, Map<String, String> envVars,
                                 Long timeoutMillis, String accessToken, boolean silent) {
        public ExecuteRequest(String code, String contextId, String language, Map<String, String> envVars,
                              Long timeoutMillis, String accessToken) {
            this(code, contextId, language, envVars, timeoutMillis, accessToken, false);
        }
    }

    private static final long HALF_DONE_GRACE_NANOS = TimeUnit.SECONDS.toNanos(3);
    private static final long PROBE_MILLIS = 250;

    private final InterpreterConfig config;
    private final Map<String, KernelSpec> specs;
    private final Map<String, CodeContext> contexts = new LinkedHashMap<>();
    private final Map<String, CodeContext> defaults = new LinkedHashMap<>();
    private final ExecutorService starter = Executors.newVirtualThreadPerTaskExecutor();
    /** Every kernel's sockets, in one context: each context runs two platform threads of its own. */
    private final ZContext zmq = new ZContext(1);
    private final Path startupScript;

    public Interpreter(InterpreterConfig config) throws IOException {
        this.config = config;
        zmq.setLinger(0);
        Files.createDirectories(config.runDir());
        this.startupScript = extract("boxwood_startup.py");
        List<Path> dirs = new ArrayList<>(config.kernelDirs());
        dirs.add(builtInKernels(KernelSpecs.discover(config.kernelDirs()).get("python3")));
        this.specs = KernelSpecs.discover(dirs);
    }

    private Path extract(String resource) throws IOException {
        Path target = config.runDir().resolve(resource);
        try (InputStream in = Interpreter.class.getResourceAsStream("/interpreter/" + resource)) {
            if (in == null) throw new IOException("interpreter/" + resource + " missing from the agent jar");
            Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
        }
        return target;
    }

    /**
     * Kernelspecs for Boxwood's own bash, JavaScript (node) and Java (JShell) kernels: one Python wrapper kernel
     * (it needs pyzmq, which comes with ipykernel: hence the python3 spec) driving a runtime found on this machine.
     * Installed kernelspecs of the same name win, as these directories come last.
     */
    private Path builtInKernels(KernelSpec python) throws IOException {
        Path dir = config.runDir().resolve("kernels");
        if (python == null) return dir;
        Path wrapper = extract("boxwood_wrapper_kernel.py");
        extract("boxwood_node_runner.js");
        String pythonBinary = python.argv().getFirst();
        Map<String, Map<String, String>> runtimes = new LinkedHashMap<>();
        if (onPath("bash") != null) runtimes.put("bash", Map.of("BOXWOOD_RUNTIME", "bash"));
        if (onPath("node") != null) {
            runtimes.put("javascript", Map.of("BOXWOOD_RUNTIME", "node"));
            if (nodeModule("typescript") != null) {
                runtimes.put("typescript", Map.of("BOXWOOD_RUNTIME", "node", "BOXWOOD_TYPESCRIPT", "1",
                        "BOXWOOD_LANGUAGE", "typescript"));
            }
        }
        Path javaHome = Path.of(System.getProperty("java.home"));
        // The agent's own class path: the shaded agent jar in a sandbox, target/classes plus dependencies in tests.
        String classPath = System.getProperty("java.class.path", "");
        if (Files.isExecutable(javaHome.resolve("bin/jshell")) && !classPath.isEmpty()) {
            runtimes.put("java", Map.of("BOXWOOD_RUNTIME", "java", "BOXWOOD_JAVA",
                    javaHome.resolve("bin/java").toString(), "BOXWOOD_AGENT_JAR", classPath));
        }
        for (Map.Entry<String, Map<String, String>> runtime : runtimes.entrySet()) {
            ObjectNode spec = OutputItem.JSON.createObjectNode();
            spec.putArray("argv").add(pythonBinary).add(wrapper.toString()).add("-f").add("{connection_file}");
            spec.put("display_name", "Boxwood " + runtime.getKey());
            spec.put("language", runtime.getKey());
            spec.put("interrupt_mode", "signal");
            ObjectNode env = spec.putObject("env");
            runtime.getValue().forEach(env::put);
            Path kernelDir = Files.createDirectories(dir.resolve(runtime.getKey()));
            Files.write(kernelDir.resolve("kernel.json"), OutputItem.JSON.writeValueAsBytes(spec));
        }
        return dir;
    }

    /** A globally installed npm package, looked up where the node runtime will look (NODE_PATH). */
    private Path nodeModule(String name) {
        String nodePath = config.kernelEnv().getOrDefault("NODE_PATH",
                "/usr/local/lib/node_modules:/usr/lib/node_modules:/usr/share/nodejs"); // as the wrapper's default
        for (String dir : nodePath.split(":")) {
            Path candidate = Path.of(dir, name, "package.json");
            if (!dir.isBlank() && Files.isRegularFile(candidate)) return candidate.getParent();
        }
        return null;
    }

    private Path onPath(String program) {
        String path = config.kernelEnv().getOrDefault("PATH", "/usr/bin:/bin");
        for (String dir : path.split(":")) {
            Path candidate = Path.of(dir, program);
            if (Files.isExecutable(candidate)) return candidate;
        }
        return null;
    }


    /** Languages with an installed kernel. */
    public Set<String> languages() {
        Set<String> languages = new LinkedHashSet<>();
        for (String l : List.of("python", "javascript", "typescript", "r", "bash", "java")) {
            if (spec(l) != null) languages.add(l);
        }
        return languages;
    }

    private KernelSpec spec(String language) {
        for (String name : Languages.kernelNames(language)) {
            KernelSpec spec = specs.get(name);
            if (spec != null) return spec;
        }
        for (KernelSpec spec : specs.values()) if (spec.language().equals(language)) return spec;
        return null;
    }

    /** Creates the default python and javascript contexts and starts their kernels in the background. */
    public void startDefaultContexts() {
        for (String language : List.of("python", "javascript")) {
            if (spec(language) == null) continue;
            try {
                defaultContext(language);
            } catch (InterpreterException e) {
                System.err.println("interpreter: no default " + language + " context: " + e.getMessage());
            }
        }
    }

    /**
     * Waits up to {@code timeoutMillis} for the default contexts' kernels to answer; true when all of them do. A warm
     * pool asks this before it hands a sandbox out, so that a claim gets kernels that run code at once instead of
     * kernels still starting (and competing with the agent for the sandbox's CPU).
     */
    public boolean awaitDefaultKernels(long timeoutMillis) {
        List<CodeContext> waiting;
        synchronized (this) {
            waiting = List.copyOf(defaults.values());
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        for (CodeContext context : waiting) {
            try {
                awaitKernel(context, Math.max(0, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
            } catch (InterpreterException e) {
                return false;
            }
        }
        return true;
    }

    public ContextInfo createContext(String language, String cwd) throws InterpreterException {
        CodeContext context = newContext(Languages.normalise(language), cwd);
        awaitKernel(context, config.kernelStartup().toMillis());
        return info(context);
    }

    private synchronized CodeContext defaultContext(String language) throws InterpreterException {
        CodeContext context = defaults.get(language);
        if (context == null || context.removed()) {
            context = newContext(language, null);
            defaults.put(language, context);
        }
        return context;
    }

    private CodeContext newContext(String language, String cwd) throws InterpreterException {
        KernelSpec spec = spec(language);
        if (spec == null) {
            throw new InterpreterException(400, "Language '" + language + "' is not supported; available: "
                    + String.join(", ", languages()));
        }
        Path dir = cwd == null || cwd.isBlank() ? config.defaultCwd() : Path.of(cwd);
        if (!dir.isAbsolute()) dir = config.defaultCwd().resolve(dir);
        if (!Files.isDirectory(dir)) throw new InterpreterException(400, "cwd " + dir + " is not a directory");
        Path workdir = dir;
        CodeContext context = new CodeContext(UUID.randomUUID().toString(), language, dir.toString(), spec,
                () -> CompletableFuture.supplyAsync(() -> launch(spec, language, workdir), starter));
        context.start();
        synchronized (this) {
            contexts.put(context.id, context);
        }
        return context;
    }

    private Kernel launch(KernelSpec spec, String language, Path cwd) {
        List<String> extra = new ArrayList<>();
        if (spec.argv().stream().anyMatch(a -> a.contains("ipykernel"))) {
            extra.add("--IPKernelApp.exec_files=" + startupScript);
            extra.add("--InteractiveShell.colors=NoColor");
            extra.add("--PlainTextFormatter.max_seq_length=0");
            extra.add("--HistoryManager.enabled=False");
        }
        // Sandbox-wide env vars known by now go into the process environment too: that is the only way a kernel
        // whose language cannot set env vars (Java) sees them. Later changes still arrive as code.
        Map<String, String> env = new LinkedHashMap<>(config.kernelEnv());
        if (config.sandboxEnv() != null) env.putAll(config.sandboxEnv().apply(null));
        try {
            return Kernel.start(withoutDebugger(spec), config.runDir(), cwd, env, extra, config.kernelStartup(), zmq);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * ipykernel's launcher, but with ipykernel's debugger left out: importing debugpy costs every Python kernel about
     * 11 MB of private memory and start-up CPU, for the Jupyter debug protocol that neither E2B's API nor its SDKs
     * use. The blocked import only makes ipykernel decide it has no debugger; the entry is dropped again before the
     * kernel runs, so user code can still {@code import debugpy}. {@code sys.path[0]} becomes the kernel's
     * directory, as {@code python -m} would make it.
     */
    static KernelSpec withoutDebugger(KernelSpec spec) {
        List<String> argv = spec.argv();
        int at = argv.indexOf("ipykernel_launcher");
        if (at < 1 || !argv.get(at - 1).equals("-m")) return spec;
        List<String> launcher = new ArrayList<>(argv.subList(0, at - 1));
        launcher.add("-c");
        launcher.add("import os, sys; sys.path[0] = os.getcwd(); sys.modules['debugpy'] = None; "
                + "from ipykernel import kernelapp; del sys.modules['debugpy']; kernelapp.launch_new_instance()");
        launcher.addAll(argv.subList(at + 1, argv.size()));
        return new KernelSpec(spec.name(), spec.displayName(), spec.language(), List.copyOf(launcher), spec.env(),
                spec.interruptMode());
    }

    public synchronized List<ContextInfo> listContexts() {
        return contexts.values().stream().map(Interpreter::info).toList();
    }

    private static ContextInfo info(CodeContext c) {
        return new ContextInfo(c.id, c.language, c.cwd);
    }

    private synchronized CodeContext find(String id) throws InterpreterException {
        CodeContext context = contexts.get(id);
        if (context == null) throw new InterpreterException(404, "Context " + id + " not found");
        return context;
    }

    public void removeContext(String id) throws InterpreterException {
        CodeContext context;
        synchronized (this) {
            context = find(id);
            contexts.remove(id);
            defaults.values().removeIf(c -> c == context);
        }
        context.remove();
    }

    public void restartContext(String id) throws InterpreterException {
        CodeContext context = find(id);
        context.restart();
        awaitKernel(context, config.kernelStartup().toMillis());
    }

    private Kernel awaitKernel(CodeContext context, long timeoutMillis) throws InterpreterException {
        try {
            // A little beyond the start's own deadline, so that its error (with the kernel's output) is what the
            // client hears.
            return context.kernel().get(timeoutMillis + 5_000, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() instanceof UncheckedIOException u ? u.getCause() : e.getCause();
            throw new InterpreterException(500, "Kernel failed to start: " + cause.getMessage());
        } catch (TimeoutException e) {
            throw new InterpreterException(500, "Kernel did not start within " + timeoutMillis + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterpreterException(500, "Interrupted");
        }
    }

    /** Checks a request before any byte is streamed, so refusals can still be plain HTTP errors. */
    CodeContext resolve(ExecuteRequest request) throws InterpreterException {
        if (request.code() == null) throw new InterpreterException(400, "code is required");
        if (request.code().isBlank()) throw new InterpreterException(400, "code must not be empty");
        boolean hasContext = request.contextId() != null && !request.contextId().isBlank();
        boolean hasLanguage = request.language() != null && !request.language().isBlank();
        if (hasContext && hasLanguage) {
            throw new InterpreterException(400, "Only one of context_id or language can be provided, not both.");
        }
        if (hasContext) return find(request.contextId());
        String language = Languages.normalise(request.language());
        synchronized (this) {
            CodeContext existing = defaults.get(language);
            if (existing != null && !existing.removed()) return existing;
        }
        // A kernel about to start gets the sandbox-wide env vars in its environment: read them with this caller's
        // token now (Java cannot set env vars later, so this is its only chance to see them).
        if (config.sandboxEnv() != null) config.sandboxEnv().apply(request.accessToken());
        return defaultContext(language);
    }

    /**
     * Runs code in a context and writes the stream to {@code sink}, ending with end_of_execution. Never throws for
     * problems during the run: they become error lines. Returns when the context is ready for the next execution.
     */
    void execute(CodeContext context, ExecuteRequest request, LineSink sink) {
        boolean clientGone = !waitForTurn(context, sink);
        if (clientGone) return;
        try {
            run(context, request, sink);
        } finally {
            context.turn.release();
        }
    }

    /** Waits for the context's turn, keeping this client alive and checking that the running one still is. */
    private boolean waitForTurn(CodeContext context, LineSink sink) {
        context.waiting.incrementAndGet();
        try {
            long lastKeepalive = System.nanoTime();
            while (!context.turn.tryAcquire(PROBE_MILLIS, TimeUnit.MILLISECONDS)) {
                Execution running = context.current();
                if (running != null) running.probe();
                if (System.nanoTime() - lastKeepalive > config.keepalive().toNanos()) {
                    lastKeepalive = System.nanoTime();
                    try {
                        sink.write(new OutputItem.Keepalive().toJson());
                    } catch (IOException e) {
                        return false;
                    }
                }
            }
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } finally {
            context.waiting.decrementAndGet();
        }
    }

    private void run(CodeContext context, ExecuteRequest request, LineSink sink) {
        Kernel kernel;
        try {
            kernel = awaitKernel(context, config.kernelStartup().toMillis());
            if (!kernel.isAlive()) {
                context.restart();
                kernel = awaitKernel(context, config.kernelStartup().toMillis());
            }
        } catch (InterpreterException e) {
            writeQuietly(sink, new OutputItem.Error("KernelUnavailable", e.getMessage(), ""));
            writeQuietly(sink, new OutputItem.EndOfExecution());
            return;
        }
        Map<String, String> perExecution = request.envVars() == null ? Map.of() : request.envVars();
        applySandboxEnv(context, kernel, request.accessToken());
        String set = Languages.setCode(context.language, perExecution);
        if (set != null) runSilently(kernel, set);
        try {
            stream(context, kernel, request, sink);
        } finally {
            if (!perExecution.isEmpty() && kernel.isAlive()) {
                String reset = Languages.resetCode(context.language, perExecution.keySet(), context.appliedSandboxEnv);
                if (reset != null) runSilently(kernel, reset);
            }
        }
    }

    private void applySandboxEnv(CodeContext context, Kernel kernel, String accessToken) {
        Map<String, String> wanted = config.sandboxEnv() == null ? Map.of() : config.sandboxEnv().apply(accessToken);
        if (wanted == null || wanted.equals(context.appliedSandboxEnv)) return;
        Map<String, String> changed = new LinkedHashMap<>();
        wanted.forEach((k, v) -> {
            if (!v.equals(context.appliedSandboxEnv.get(k))) changed.put(k, v);
        });
        List<String> gone = context.appliedSandboxEnv.keySet().stream().filter(k -> !wanted.containsKey(k)).toList();
        String set = Languages.setCode(context.language, changed);
        String unset = gone.isEmpty() ? null : Languages.resetCode(context.language, gone, Map.of());
        if (set != null) runSilently(kernel, set);
        if (unset != null) runSilently(kernel, unset);
        context.appliedSandboxEnv.clear();
        context.appliedSandboxEnv.putAll(wanted);
    }

    /** Runs bookkeeping code (env vars) without output, history or an execution count. */
    private void runSilently(Kernel kernel, String code) {
        Execution quiet = new Execution("", 1 << 20, 1 << 20);
        String id = kernel.execute(code, true, quiet);
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (System.nanoTime() < deadline) {
                OutputItem item = quiet.poll(100);
                if (item instanceof OutputItem.EndOfExecution || quiet.finishIfStale(HALF_DONE_GRACE_NANOS)) return;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            kernel.forget(id);
        }
    }

    private void stream(CodeContext context, Kernel kernel, ExecuteRequest request, LineSink sink) {
        Execution execution = new Execution(context.language, config.maxPendingBytes(), config.maxStreamBytes());
        context.current(execution);
        String id = kernel.execute(request.code(), request.silent(), execution);
        long deadline = request.timeoutMillis() == null || request.timeoutMillis() <= 0 ? Long.MAX_VALUE
                : System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(request.timeoutMillis());
        boolean clientGone = false;
        boolean timedOut = false;
        try {
            while (true) {
                long wait = context.waiting.get() > 0 ? PROBE_MILLIS : config.keepalive().toMillis();
                if (deadline != Long.MAX_VALUE) {
                    wait = Math.max(1, Math.min(wait, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
                }
                OutputItem item = execution.poll(wait);
                if (item == null) {
                    if (execution.finishIfStale(HALF_DONE_GRACE_NANOS)) continue;
                    if (!timedOut && System.nanoTime() >= deadline) {
                        timedOut = true;
                        kernel.interrupt();
                        if (!awaitFinish(execution)) {
                            execution.abort("TimeoutError", "Execution timed out after " + request.timeoutMillis()
                                    + " ms and could not be interrupted; the kernel was restarted");
                            context.restart();
                        }
                        continue;
                    }
                    item = new OutputItem.Keepalive();
                }
                sink.write(item.toJson());
                if (item instanceof OutputItem.EndOfExecution) break;
            }
        } catch (IOException e) {
            clientGone = true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            clientGone = true;
        } finally {
            context.current(null);
        }
        if (clientGone && !execution.isFinished()) {
            // Nobody is listening any more: stop the code so the next execution does not queue behind it.
            kernel.interrupt();
            if (!awaitFinish(execution)) {
                execution.abort("Interrupted", "client disconnected");
                context.restart();
            }
        }
        kernel.forget(id);
        if (execution.lostMessages() && kernel.isAlive()) kernel.awaitIopub(config.interruptGrace());
        if (execution.diedReason() != null && !context.removed()) {
            awaitKernel(context.kernel());
        }
    }

    private void awaitKernel(CompletableFuture<Kernel> future) {
        try {
            future.get(config.kernelStartup().toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException | TimeoutException e) {
            // the next execution reports it
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Waits for an interrupted execution to end; false if it did not within the grace period. */
    private boolean awaitFinish(Execution execution) {
        long deadline = System.nanoTime() + config.interruptGrace().toNanos();
        while (System.nanoTime() < deadline) {
            if (execution.isFinished() || execution.finishIfStale(HALF_DONE_GRACE_NANOS)) return true;
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return execution.isFinished();
    }

    private static void writeQuietly(LineSink sink, OutputItem item) {
        try {
            sink.write(item.toJson());
        } catch (IOException ignored) {
            // the client is gone; nothing to tell
        }
    }

    @Override
    public void close() {
        List<CodeContext> all;
        synchronized (this) {
            all = new ArrayList<>(contexts.values());
            contexts.clear();
            defaults.clear();
        }
        all.forEach(CodeContext::remove);
        for (CodeContext c : all) {
            CompletableFuture<Kernel> k = c.kernel();
            if (k != null) k.exceptionally(e -> null).join();
        }
        starter.shutdown();
        zmq.close();
    }
}
