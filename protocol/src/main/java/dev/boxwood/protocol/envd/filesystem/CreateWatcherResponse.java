package dev.boxwood.protocol.envd.filesystem;

import com.fasterxml.jackson.annotation.JsonAlias;

/** filesystem.CreateWatcherResponse. */
public record CreateWatcherResponse(@JsonAlias("watcher_id") String watcherId) {}
