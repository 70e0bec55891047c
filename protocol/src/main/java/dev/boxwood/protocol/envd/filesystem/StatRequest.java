package dev.boxwood.protocol.envd.filesystem;

/** filesystem.StatRequest. */
public record StatRequest(String path) {}
