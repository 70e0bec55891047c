package dev.boxwood.protocol.envd.filesystem;

/** filesystem.FilesystemEvent; {@code name} is relative to the watched directory. */
public record FilesystemEvent(String name, EventType type, EntryInfo entry) {}
