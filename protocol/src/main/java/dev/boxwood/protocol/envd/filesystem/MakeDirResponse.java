package dev.boxwood.protocol.envd.filesystem;

/** filesystem.MakeDirResponse. */
public record MakeDirResponse(EntryInfo entry) {}
