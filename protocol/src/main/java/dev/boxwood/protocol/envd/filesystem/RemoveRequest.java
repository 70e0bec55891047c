package dev.boxwood.protocol.envd.filesystem;

/** filesystem.RemoveRequest. */
public record RemoveRequest(String path) {}
