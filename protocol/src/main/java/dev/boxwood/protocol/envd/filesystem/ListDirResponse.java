package dev.boxwood.protocol.envd.filesystem;

import java.util.List;

/** filesystem.ListDirResponse. */
public record ListDirResponse(List<EntryInfo> entries) {}
