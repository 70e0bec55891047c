package dev.boxwood.agent.filesystem;

import dev.boxwood.protocol.envd.filesystem.EntryInfo;
import dev.boxwood.protocol.envd.filesystem.EventType;
import dev.boxwood.protocol.envd.filesystem.FilesystemEvent;
import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * Watches a directory (and, when recursive, every directory below it, including ones created later) through the
 * JDK's inotify-backed WatchService. Event names are relative to the watched root. A directory created under a
 * recursive watch is registered before its CREATE event is delivered, so writes made after that event are seen.
 */
final class Watcher implements AutoCloseable {
    private final Path root;
    private final boolean recursive;
    private final boolean includeEntry;
    private final Consumer<FilesystemEvent> sink;
    private final WatchService service;
    private final Map<WatchKey, Path> dirs = new ConcurrentHashMap<>();
    private volatile boolean closed;

    Watcher(Path root, boolean recursive, boolean includeEntry, Consumer<FilesystemEvent> sink) throws IOException {
        this.root = root;
        this.recursive = recursive;
        this.includeEntry = includeEntry;
        this.sink = sink;
        this.service = root.getFileSystem().newWatchService();
        try {
            register(root);
        } catch (IOException e) {
            service.close();
            throw e;
        }
        Thread.ofVirtual().name("watch-" + root).start(this::loop);
    }

    private void register(Path dir) throws IOException {
        dirs.put(dir.register(service, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_DELETE,
                StandardWatchEventKinds.ENTRY_MODIFY), dir);
        if (!recursive) return;
        try (DirectoryStream<Path> children = Files.newDirectoryStream(dir)) {
            for (Path child : children) {
                if (Files.isDirectory(child, LinkOption.NOFOLLOW_LINKS)) {
                    try {
                        register(child);
                    } catch (IOException ignored) {
                        // unreadable or vanished subdirectory: watch the rest
                    }
                }
            }
        }
    }

    private void loop() {
        try {
            while (!closed) {
                WatchKey key = service.take();
                Path dir = dirs.get(key);
                for (WatchEvent<?> event : key.pollEvents()) {
                    if (dir == null || !(event.context() instanceof Path name)) continue;
                    Path full = dir.resolve(name);
                    EventType type = typeOf(event.kind());
                    if (type == EventType.EVENT_TYPE_CREATE && recursive
                            && Files.isDirectory(full, LinkOption.NOFOLLOW_LINKS)) {
                        try {
                            register(full);
                        } catch (IOException ignored) {
                            // gone again already
                        }
                    }
                    EntryInfo entry = null;
                    if (includeEntry && type != EventType.EVENT_TYPE_REMOVE) {
                        try {
                            entry = Entries.of(full);
                        } catch (IOException ignored) {
                            // removed before we looked
                        }
                    }
                    sink.accept(new FilesystemEvent(root.relativize(full).toString(), type, entry));
                }
                if (!key.reset()) {
                    dirs.remove(key);
                    if (dir != null && dir.equals(root)) return;
                }
            }
        } catch (InterruptedException | ClosedWatchServiceException e) {
            // closed
        }
    }

    private static EventType typeOf(WatchEvent.Kind<?> kind) {
        if (kind == StandardWatchEventKinds.ENTRY_CREATE) return EventType.EVENT_TYPE_CREATE;
        if (kind == StandardWatchEventKinds.ENTRY_DELETE) return EventType.EVENT_TYPE_REMOVE;
        return EventType.EVENT_TYPE_WRITE;
    }

    /** False once the watched root itself is gone or the watcher was closed. */
    boolean isAlive() {
        return !closed && dirs.containsValue(root);
    }

    @Override
    public void close() {
        closed = true;
        try {
            service.close();
        } catch (IOException ignored) {
            // nothing left to release
        }
    }
}
