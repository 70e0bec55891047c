/**
 * Processes in a sandbox: {@link dev.boxwood.sdk.commands.Commands} for shell commands in the foreground or the
 * background, {@link dev.boxwood.sdk.commands.Pty} for interactive terminals, and
 * {@link dev.boxwood.sdk.commands.CommandHandle} for a running one.
 */
package dev.boxwood.sdk.commands;
