package dev.boxwood.protocol.envd.filesystem;

import java.util.List;

/** filesystem.GetWatcherEventsResponse: the events since the previous call. */
public record GetWatcherEventsResponse(List<FilesystemEvent> events) {}
