/**
 * Boxwood's Java SDK: create and control sandboxes on a Boxwood server or on E2B's cloud (both speak the same
 * protocol).
 *
 * <p>Start at {@link dev.boxwood.sdk.Sandbox}: {@code Sandbox.create()} (or {@code Sandbox.builder()...create()}),
 * then {@code files()}, {@code commands()}, {@code pty()} and {@code runCode(...)}. Connection settings come from
 * {@link dev.boxwood.sdk.ConnectionConfig}, by default from the {@code E2B_*} environment variables. Failures are
 * unchecked {@link dev.boxwood.sdk.SandboxException}s whose subclasses say what went wrong.
 */
package dev.boxwood.sdk;
