package dev.boxwood.protocol.envd.process;

import com.fasterxml.jackson.annotation.JsonAlias;

/** process.ProcessEvent.EndEvent; {@code status} reads like Go's, e.g. "exit status 1" or "signal: killed". */
public record EndEvent(@JsonAlias("exit_code") int exitCode, boolean exited, String status, String error) {}
