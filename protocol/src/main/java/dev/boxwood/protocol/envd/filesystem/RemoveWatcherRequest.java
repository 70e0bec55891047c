package dev.boxwood.protocol.envd.filesystem;

import com.fasterxml.jackson.annotation.JsonAlias;

/** filesystem.RemoveWatcherRequest. */
public record RemoveWatcherRequest(@JsonAlias("watcher_id") String watcherId) {}
