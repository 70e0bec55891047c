package dev.boxwood.protocol.envd.filesystem;

/** filesystem.ListDirRequest; depth 0 means 1. */
public record ListDirRequest(String path, int depth) {}
