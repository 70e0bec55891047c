package dev.boxwood.protocol.envd.filesystem;

import com.fasterxml.jackson.annotation.JsonAlias;

/** filesystem.GetWatcherEventsRequest. */
public record GetWatcherEventsRequest(@JsonAlias("watcher_id") String watcherId) {}
