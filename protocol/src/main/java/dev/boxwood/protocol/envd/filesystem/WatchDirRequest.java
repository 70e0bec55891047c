package dev.boxwood.protocol.envd.filesystem;

import com.fasterxml.jackson.annotation.JsonAlias;

/** filesystem.WatchDirRequest (CreateWatcherRequest has the same fields). */
public record WatchDirRequest(
        String path,
        boolean recursive,
        @JsonAlias("include_entry") boolean includeEntry,
        @JsonAlias("allow_network_mounts") boolean allowNetworkMounts) {}
