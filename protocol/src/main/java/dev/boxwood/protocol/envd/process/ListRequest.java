package dev.boxwood.protocol.envd.process;

/** process.ListRequest. */
public record ListRequest() {}
