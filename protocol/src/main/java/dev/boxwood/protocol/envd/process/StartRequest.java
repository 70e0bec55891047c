package dev.boxwood.protocol.envd.process;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * process.StartRequest. {@code stdin} is proto3 optional: null means true (envd's backwards-compatible default),
 * and an explicit false is sent on the wire.
 */
public record StartRequest(ProcessConfig process, Pty pty, String tag,
                           @JsonInclude(JsonInclude.Include.NON_NULL) Boolean stdin) {}
