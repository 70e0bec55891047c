package dev.boxwood.agent.interpreter;

import dev.boxwood.agent.interpreter.jupyter.Kernel;
import dev.boxwood.agent.interpreter.jupyter.KernelSpec;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * One E2B context: a kernel of one language in one working directory. Executions in a context run one at a time
 * (the kernel would queue them anyway; holding the turn also keeps per-execution env vars from leaking between
 * them). The kernel behind a context can be replaced (restart, death) while its id stays.
 */
final class CodeContext {
    final String id;
    final String language;
    final String cwd;
    final KernelSpec spec;
    final Semaphore turn = new Semaphore(1, true);
    final AtomicInteger waiting = new AtomicInteger();
    /** Sandbox-wide env vars as last applied inside this kernel; reset when the kernel is replaced. */
    final Map<String, String> appliedSandboxEnv = new ConcurrentHashMap<>();
    private final Supplier<CompletableFuture<Kernel>> launcher;
    private CompletableFuture<Kernel> kernel;
    private volatile Execution current;
    private volatile boolean removed;

    CodeContext(String id, String language, String cwd, KernelSpec spec,
                Supplier<CompletableFuture<Kernel>> launcher) {
        this.id = id;
        this.language = language;
        this.cwd = cwd;
        this.spec = spec;
        this.launcher = launcher;
    }

    synchronized void start() {
        kernel = launch();
    }

    private CompletableFuture<Kernel> launch() {
        CompletableFuture<Kernel> future = launcher.get();
        future.thenAccept(k -> k.onUnexpectedExit(() -> replaceAfterDeath(future)));
        return future;
    }

    /** A kernel that died on its own is replaced at once, so the next execution finds a working one. */
    private void replaceAfterDeath(CompletableFuture<Kernel> dead) {
        synchronized (this) {
            if (removed || kernel != dead) return;
            appliedSandboxEnv.clear();
            kernel = launch();
        }
    }

    synchronized CompletableFuture<Kernel> kernel() {
        return kernel;
    }

    /** Kills the kernel and starts a fresh one: all state is gone, the id and cwd stay. */
    CompletableFuture<Kernel> restart() {
        CompletableFuture<Kernel> old, fresh;
        synchronized (this) {
            old = kernel;
            appliedSandboxEnv.clear();
            fresh = kernel = launch();
        }
        if (old != null) old.thenAccept(Kernel::kill);
        return fresh;
    }

    void remove() {
        CompletableFuture<Kernel> old;
        synchronized (this) {
            removed = true;
            old = kernel;
        }
        if (old != null) old.thenAccept(Kernel::kill);
    }

    boolean removed() {
        return removed;
    }

    Execution current() {
        return current;
    }

    void current(Execution execution) {
        current = execution;
    }
}
