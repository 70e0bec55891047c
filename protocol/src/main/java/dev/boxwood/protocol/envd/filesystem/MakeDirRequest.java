package dev.boxwood.protocol.envd.filesystem;

/** filesystem.MakeDirRequest. */
public record MakeDirRequest(String path) {}
