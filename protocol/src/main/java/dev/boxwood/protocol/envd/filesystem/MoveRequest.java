package dev.boxwood.protocol.envd.filesystem;

/** filesystem.MoveRequest. */
public record MoveRequest(String source, String destination) {}
