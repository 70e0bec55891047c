package dev.boxwood.agent.interpreter;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * How the interpreter runs kernels.
 *
 * @param runDir           connection files and the Python start-up hook are written here
 * @param defaultCwd       working directory of contexts created without one
 * @param kernelDirs       kernelspec directories, searched in order
 * @param kernelEnv        the environment kernels start with (not the agent's own: it holds the init token)
 * @param sandboxEnv       sandbox-wide env vars (from the agent's /init) for a caller's access token; applied in
 *                         every kernel before code runs
 * @param maxStreamBytes   stdout+stderr forwarded per execution; the rest is dropped with a notice
 * @param maxPendingBytes  output held in memory for a slow client, per execution
 * @param keepalive        interval of keepalive lines while an execution is quiet
 * @param kernelStartup    how long a kernel may take to answer its first kernel_info
 * @param interruptGrace   how long an interrupted cell may take to stop before its kernel is restarted
 */
public record InterpreterConfig(Path runDir, Path defaultCwd, List<Path> kernelDirs, Map<String, String> kernelEnv,
                                Function<String, Map<String, String>> sandboxEnv, long maxStreamBytes, long maxPendingBytes,
                                Duration keepalive, Duration kernelStartup, Duration interruptGrace) {

    public static final long DEFAULT_MAX_STREAM_BYTES = 32L << 20;
    public static final long DEFAULT_MAX_PENDING_BYTES = 4L << 20;

    /** The configuration inside a sandbox; env {@code BOXWOOD_INTERPRETER_MAX_OUTPUT_BYTES} overrides the limit. */
    public static InterpreterConfig defaults(Function<String, Map<String, String>> sandboxEnv) {
        String home = System.getProperty("user.home", "/root");
        String user = System.getProperty("user.name", "root");
        Map<String, String> env = Map.of(
                "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "HOME", home,
                "USER", user,
                "LOGNAME", user,
                "LANG", "C.UTF-8",
                "SHELL", "/bin/bash",
                "MPLBACKEND", "module://matplotlib_inline.backend_inline",
                "PYDEVD_DISABLE_FILE_VALIDATION", "1");
        long maxOutput = DEFAULT_MAX_STREAM_BYTES;
        String limit = System.getenv("BOXWOOD_INTERPRETER_MAX_OUTPUT_BYTES");
        if (limit != null && limit.matches("\\d+")) maxOutput = Long.parseLong(limit);
        Path cwd = Path.of("/home/user");
        if (!cwd.toFile().isDirectory()) cwd = Path.of(home);
        return new InterpreterConfig(Path.of(System.getProperty("java.io.tmpdir"), "boxwood-interpreter"), cwd,
                dev.boxwood.agent.interpreter.jupyter.KernelSpecs.searchPath(), env, sandboxEnv, maxOutput,
                DEFAULT_MAX_PENDING_BYTES, Duration.ofSeconds(5), Duration.ofSeconds(60), Duration.ofSeconds(10));
    }

    public InterpreterConfig withLimits(long maxStreamBytes, long maxPendingBytes) {
        return new InterpreterConfig(runDir, defaultCwd, kernelDirs, kernelEnv, sandboxEnv, maxStreamBytes,
                maxPendingBytes, keepalive, kernelStartup, interruptGrace);
    }

    public InterpreterConfig withDefaultCwd(Path cwd) {
        return new InterpreterConfig(runDir, cwd, kernelDirs, kernelEnv, sandboxEnv, maxStreamBytes, maxPendingBytes,
                keepalive, kernelStartup, interruptGrace);
    }
}
