package dev.boxwood.server.store;

import java.time.Instant;

/** One line of a sandbox's log. */
public record SandboxEvent(Instant at, String level, String message) {}
