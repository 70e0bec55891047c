package dev.boxwood.protocol.envd.filesystem;

/** filesystem.StatResponse. */
public record StatResponse(EntryInfo entry) {}
