/**
 * E2B's code interpreter, inside the agent: HTTP on port 49999 ({@link dev.boxwood.agent.interpreter.InterpreterServer}),
 * Jupyter kernels driven directly over ZeroMQ ({@link dev.boxwood.agent.interpreter.jupyter}), no Jupyter server.
 *
 * <h2>Protocol</h2>
 * {@code GET /health} → 200 {@code "OK"}; {@code POST /execute} {@code {code, context_id?, language?, env_vars?,
 * timeout_ms?}} → NDJSON lines {@code stdout, stderr, result, error, number_of_executions, keepalive,
 * end_of_execution}; {@code POST/GET /contexts}, {@code POST /contexts/{id}/restart}, {@code DELETE /contexts/{id}}.
 * Refusals are plain text: 400 (both context and language, unknown language, empty or missing code, bad JSON,
 * missing cwd), 404 {@code Context <id> not found}, 413 (body over 4 MiB), 500 (kernel failed to start).
 * {@code timeout_ms} is a Boxwood extension: past it the kernel is interrupted (E2B only has the client's timeout).
 *
 * <h2>Kernels</h2>
 * Installed kernelspecs (python3 from python3-ipykernel, ir from r-cran-irkernel, ...) plus Boxwood's own bash,
 * javascript, typescript (with Debian's node-typescript or the npm package) and java (JShell) kernels: one small
 * Python kernel on pyzmq ({@code boxwood_wrapper_kernel.py}, no IPython) driving the runtime. Python kernels start
 * without ipykernel's debugger (memory) and load {@code boxwood_startup.py}, which adds
 * the {@code e2b/chart} (matplotlib) and {@code e2b/data} (pandas) display formats. Kernels run as the agent's user
 * (root in a sandbox, as in E2B), in the context's cwd (default {@code /home/user}), with a clean environment plus
 * the sandbox-wide env vars (the agent's, for a caller with its access token) and per-execution ones
 * (set before, removed after). A kernel that dies is replaced at once; the execution that was running gets error
 * {@code KernelDied}, one running during a restart or delete gets {@code ContextRestarting}.
 *
 * <h2>Limits (so output floods never exhaust the agent's small heap)</h2>
 * Per execution, at most 32 MiB of stdout+stderr are forwarded ({@code BOXWOOD_INTERPRETER_MAX_OUTPUT_BYTES}) and
 * 4 MiB wait in memory for a slow client; beyond that output is dropped with one {@code [boxwood: output limit
 * reached ...]} line on stderr. A single kernel message over 8 MiB is dropped by ZeroMQ (Python kernels split
 * their streams into ~1 MiB messages, so only huge display data hits this). When the client disconnects, or
 * {@code timeout_ms} passes, the kernel is interrupted; a cell that does not stop within 10 s gets its kernel
 * restarted. Set {@code BOXWOOD_INTERPRETER=off} to keep the agent from starting the interpreter.
 */
package dev.boxwood.agent.interpreter;
