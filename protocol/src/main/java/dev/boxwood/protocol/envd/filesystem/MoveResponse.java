package dev.boxwood.protocol.envd.filesystem;

/** filesystem.MoveResponse; the SDK requires {@code entry}. */
public record MoveResponse(EntryInfo entry) {}
