package dev.boxwood.agent.filesystem;

import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import dev.boxwood.protocol.envd.filesystem.EntryInfo;
import dev.boxwood.protocol.envd.filesystem.EventType;
import dev.boxwood.protocol.envd.filesystem.FilesystemEvent;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * Watches a directory (and, when recursive, every directory below it, including ones created later) with inotify,
 * reporting envd's event kinds: create, write, remove, rename, chmod. Event names are relative to the watched root.
 * A directory created under a recursive watch is watched before its CREATE event is delivered, so writes made after
 * that event are seen. The read loop polls with a timeout on a platform thread (native calls pin carriers), so
 * {@link #close()} takes effect promptly.
 */
final class Watcher implements AutoCloseable {
    private static final int POLL_MILLIS = 250;

    private final Path root;
    private final boolean recursive;
    private final boolean includeEntry;
    private final Consumer<FilesystemEvent> sink;
    private final int fd;
    private final Map<Integer, Path> dirs = new ConcurrentHashMap<>();
    private volatile int rootWatch = -1;
    private volatile boolean closed;

    Watcher(Path root, boolean recursive, boolean includeEntry, Consumer<FilesystemEvent> sink) throws IOException {
        this.root = root;
        this.recursive = recursive;
        this.includeEntry = includeEntry;
        this.sink = sink;
        this.fd = Inotify.INSTANCE.inotify_init1(Inotify.IN_NONBLOCK | Inotify.IN_CLOEXEC);
        if (fd < 0) throw new IOException("inotify_init1 failed, errno " + Native.getLastError());
        try {
            rootWatch = register(root);
        } catch (IOException e) {
            Inotify.INSTANCE.close(fd);
            throw e;
        }
        Thread.ofPlatform().daemon().name("watch-" + root).start(this::loop);
    }

    private int register(Path dir) throws IOException {
        int wd = Inotify.INSTANCE.inotify_add_watch(fd, dir.toString(), Inotify.WATCHED);
        if (wd < 0) {
            int errno = Native.getLastError();
            throw new IOException("cannot watch '" + dir + "': errno " + errno
                    + (errno == 28 ? " (inotify watch limit reached)" : ""));
        }
        dirs.put(wd, dir);
        if (recursive) {
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
        return wd;
    }

    private void loop() {
        byte[] buf = new byte[64 * 1024];
        Inotify.PollFd[] fds = (Inotify.PollFd[]) new Inotify.PollFd().toArray(1);
        try {
            while (!closed) {
                fds[0].fd = fd;
                fds[0].events = Inotify.POLLIN;
                fds[0].revents = 0;
                fds[0].write();
                int ready = Inotify.INSTANCE.poll(fds, new NativeLong(1), POLL_MILLIS);
                if (closed) return;
                if (ready <= 0) continue;
                int n = (int) Inotify.INSTANCE.read(fd, buf, new NativeLong(buf.length)).longValue();
                if (n <= 0) continue;
                ByteBuffer events = ByteBuffer.wrap(buf, 0, n).order(ByteOrder.nativeOrder());
                while (events.remaining() >= 16) {
                    int wd = events.getInt();
                    int mask = events.getInt();
                    events.getInt(); // cookie: renames are reported as a remove-like RENAME and a CREATE, as envd does
                    int len = events.getInt();
                    byte[] raw = new byte[len];
                    events.get(raw);
                    int end = 0;
                    while (end < len && raw[end] != 0) end++;
                    handle(wd, mask, new String(raw, 0, end, StandardCharsets.UTF_8));
                }
            }
        } finally {
            Inotify.INSTANCE.close(fd);
        }
    }

    private void handle(int wd, int mask, String name) {
        if ((mask & Inotify.IN_IGNORED) != 0) {
            dirs.remove(wd);
            if (wd == rootWatch) rootWatch = -1;
            return;
        }
        Path dir = dirs.get(wd);
        if (dir == null || name.isEmpty()) return; // events on the watched directory itself carry no name
        Path full = dir.resolve(name);
        EventType type;
        if ((mask & (Inotify.IN_CREATE | Inotify.IN_MOVED_TO)) != 0) type = EventType.EVENT_TYPE_CREATE;
        else if ((mask & Inotify.IN_DELETE) != 0) type = EventType.EVENT_TYPE_REMOVE;
        else if ((mask & Inotify.IN_MOVED_FROM) != 0) type = EventType.EVENT_TYPE_RENAME;
        else if ((mask & Inotify.IN_MODIFY) != 0) type = EventType.EVENT_TYPE_WRITE;
        else if ((mask & Inotify.IN_ATTRIB) != 0) type = EventType.EVENT_TYPE_CHMOD;
        else return;
        if (type == EventType.EVENT_TYPE_CREATE && recursive && (mask & Inotify.IN_ISDIR) != 0) {
            try {
                register(full);
            } catch (IOException ignored) {
                // gone again already
            }
        }
        EntryInfo entry = null;
        if (includeEntry && type != EventType.EVENT_TYPE_REMOVE && type != EventType.EVENT_TYPE_RENAME) {
            try {
                entry = Entries.of(full);
            } catch (IOException ignored) {
                // removed before we looked
            }
        }
        sink.accept(new FilesystemEvent(root.relativize(full).toString(), type, entry));
    }

    /** False once the watched root itself is gone or the watcher was closed. */
    boolean isAlive() {
        return !closed && rootWatch >= 0;
    }

    @Override
    public void close() {
        closed = true; // the loop sees it within one poll interval and closes the descriptor
    }
}
