package dev.boxwood.agent.filesystem;

import dev.boxwood.agent.connect.Call;
import dev.boxwood.agent.connect.Code;
import dev.boxwood.agent.connect.ConnectError;
import dev.boxwood.agent.connect.ConnectRouter;
import dev.boxwood.agent.connect.Method;
import dev.boxwood.agent.connect.StreamSink;
import dev.boxwood.agent.users.Account;
import dev.boxwood.protocol.envd.Empty;
import dev.boxwood.protocol.envd.filesystem.CreateWatcherRequest;
import dev.boxwood.protocol.envd.filesystem.CreateWatcherResponse;
import dev.boxwood.protocol.envd.filesystem.EntryInfo;
import dev.boxwood.protocol.envd.filesystem.FilesystemEvent;
import dev.boxwood.protocol.envd.filesystem.GetWatcherEventsRequest;
import dev.boxwood.protocol.envd.filesystem.GetWatcherEventsResponse;
import dev.boxwood.protocol.envd.filesystem.ListDirRequest;
import dev.boxwood.protocol.envd.filesystem.ListDirResponse;
import dev.boxwood.protocol.envd.filesystem.MakeDirRequest;
import dev.boxwood.protocol.envd.filesystem.MakeDirResponse;
import dev.boxwood.protocol.envd.filesystem.MoveRequest;
import dev.boxwood.protocol.envd.filesystem.MoveResponse;
import dev.boxwood.protocol.envd.filesystem.RemoveRequest;
import dev.boxwood.protocol.envd.filesystem.RemoveWatcherRequest;
import dev.boxwood.protocol.envd.filesystem.StatRequest;
import dev.boxwood.protocol.envd.filesystem.StatResponse;
import dev.boxwood.protocol.envd.filesystem.WatchDirRequest;
import dev.boxwood.protocol.envd.filesystem.WatchDirResponse;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/** envd's {@code filesystem.Filesystem} service. */
public final class FilesystemService {
    static final String SERVICE = "filesystem.Filesystem";
    /** Events a polled watcher keeps between GetWatcherEvents calls; older ones are dropped. */
    private static final int POLLED_EVENTS = 10_000;
    private static final int MAX_WATCHERS = 256;
    private static final int MAX_LISTED = 100_000;

    private final Access access;
    private final Map<String, PolledWatcher> watchers = new ConcurrentHashMap<>();

    public FilesystemService(Access access) {
        this.access = access;
    }

    public void register(ConnectRouter router) {
        router.add(SERVICE, "Stat", Method.unary(StatRequest.class, this::stat))
                .add(SERVICE, "MakeDir", Method.unary(MakeDirRequest.class, this::makeDir))
                .add(SERVICE, "Move", Method.unary(MoveRequest.class, this::move))
                .add(SERVICE, "ListDir", Method.unary(ListDirRequest.class, this::listDir))
                .add(SERVICE, "Remove", Method.unary(RemoveRequest.class, this::remove))
                .add(SERVICE, "WatchDir", Method.serverStream(WatchDirRequest.class, this::watchDir,
                        WatchDirResponse::ofKeepalive))
                .add(SERVICE, "CreateWatcher", Method.unary(CreateWatcherRequest.class, this::createWatcher))
                .add(SERVICE, "GetWatcherEvents", Method.unary(GetWatcherEventsRequest.class, this::getWatcherEvents))
                .add(SERVICE, "RemoveWatcher", Method.unary(RemoveWatcherRequest.class, this::removeWatcher));
    }

    private StatResponse stat(Call call, StatRequest request) {
        Account user = call.user();
        Path path = Paths.resolve(request.path(), user);
        access.requireReachable(path, user);
        return new StatResponse(entry(path));
    }

    private MakeDirResponse makeDir(Call call, MakeDirRequest request) {
        Account user = call.user();
        Path path = Paths.resolve(request.path(), user);
        if (Files.isDirectory(path)) throw ConnectError.alreadyExists("directory '" + path + "' already exists");
        if (Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            throw ConnectError.invalidArgument("path '" + path + "' already exists and is not a directory");
        }
        access.requireCreatable(path, user);
        try {
            Access.makeDirs(path, user);
        } catch (IOException e) {
            throw Failures.of(e, path);
        }
        return new MakeDirResponse(entry(path));
    }

    private MoveResponse move(Call call, MoveRequest request) {
        Account user = call.user();
        Path source = Paths.resolve(request.source(), user);
        Path destination = Paths.resolve(request.destination(), user);
        if (!Files.exists(source, LinkOption.NOFOLLOW_LINKS)) {
            throw ConnectError.notFound("path '" + source + "' does not exist");
        }
        access.requireRemovable(source, user);
        access.requireCreatable(destination, user);
        try {
            if (destination.getParent() != null) Access.makeDirs(destination.getParent(), user);
            Files.move(source, destination, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw Failures.of(e, destination);
        }
        return new MoveResponse(entry(destination));
    }

    private ListDirResponse listDir(Call call, ListDirRequest request) {
        if (request.depth() < 0) throw ConnectError.invalidArgument("depth should be at least one");
        int depth = request.depth() == 0 ? 1 : request.depth();
        Account user = call.user();
        Path path = Paths.resolve(request.path(), user);
        Path dir;
        try {
            dir = path.toRealPath();
        } catch (IOException e) {
            throw Failures.of(e, path);
        }
        if (!Files.isDirectory(dir)) throw ConnectError.invalidArgument("path '" + path + "' is not a directory");
        access.require(dir, user, Access.READ | Access.EXECUTE);
        List<EntryInfo> entries = new ArrayList<>();
        walk(path, depth, entries);
        return new ListDirResponse(entries);
    }

    /** Depth-first in name order, like Go's WalkDir; symlinked directories are listed, not descended into. */
    private static void walk(Path dir, int depth, List<EntryInfo> out) {
        List<Path> children = new ArrayList<>();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir)) {
            stream.forEach(children::add);
        } catch (IOException e) {
            if (out.isEmpty()) throw Failures.of(e, dir);
            return; // an unreadable subdirectory: list the rest
        }
        children.sort(null);
        for (Path child : children) {
            if (out.size() >= MAX_LISTED) {
                throw ConnectError.resourceExhausted("more than " + MAX_LISTED + " entries; list with less depth");
            }
            try {
                out.add(Entries.of(child));
            } catch (IOException e) {
                continue; // vanished while listing
            }
            if (depth > 1 && Files.isDirectory(child, LinkOption.NOFOLLOW_LINKS)) walk(child, depth - 1, out);
        }
    }

    private Empty remove(Call call, RemoveRequest request) {
        Account user = call.user();
        Path path = Paths.resolve(request.path(), user);
        if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            throw ConnectError.notFound("path '" + path + "' does not exist");
        }
        if (path.getParent() == null) throw ConnectError.invalidArgument("cannot remove '/'");
        access.requireRemovable(path, user);
        try {
            deleteTree(path);
        } catch (IOException e) {
            throw Failures.of(e, path);
        }
        return new Empty();
    }

    private static void deleteTree(Path path) throws IOException {
        if (Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
            try (DirectoryStream<Path> children = Files.newDirectoryStream(path)) {
                for (Path child : children) deleteTree(child);
            }
        }
        Files.deleteIfExists(path);
    }

    private void watchDir(Call call, WatchDirRequest request, StreamSink<WatchDirResponse> sink) throws Exception {
        Path dir = watchable(call, request.path());
        BlockingQueue<FilesystemEvent> events = new ArrayBlockingQueue<>(4096);
        Watcher opened;
        try {
            opened = new Watcher(dir, request.recursive(), request.includeEntry(), e -> {
                if (!events.offer(e)) {
                    events.poll(); // a client that cannot keep up loses the oldest events, not the agent's heap
                    events.offer(e);
                }
            });
        } catch (IOException e) {
            throw Failures.of(e, dir);
        }
        try (Watcher watcher = opened) {
            sink.send(WatchDirResponse.ofStart());
            while (sink.isOpen()) {
                long wait = call.hasDeadline() ? call.deadlineNanos() - System.nanoTime() : 1_000_000_000L;
                if (wait <= 0) throw new ConnectError(Code.DEADLINE_EXCEEDED, "watch deadline exceeded");
                FilesystemEvent event = events.poll(Math.min(wait, 1_000_000_000L), TimeUnit.NANOSECONDS);
                if (event != null) sink.send(WatchDirResponse.of(event));
                else if (!watcher.isAlive()) {
                    throw ConnectError.notFound("watched directory '" + dir + "' was removed");
                }
            }
        }
    }

    private Path watchable(Call call, String raw) {
        Account user = call.user();
        Path path = Paths.resolve(raw, user);
        if (!Files.exists(path)) throw ConnectError.notFound("path '" + path + "' does not exist");
        if (!Files.isDirectory(path)) throw ConnectError.invalidArgument("path '" + path + "' is not a directory");
        access.require(path, user, Access.READ | Access.EXECUTE);
        return path;
    }

    private CreateWatcherResponse createWatcher(Call call, CreateWatcherRequest request) {
        if (watchers.size() >= MAX_WATCHERS) throw ConnectError.resourceExhausted("too many watchers");
        Path dir = watchable(call, request.path());
        PolledWatcher polled = new PolledWatcher();
        try {
            polled.watcher = new Watcher(dir, request.recursive(), request.includeEntry(), polled::add);
        } catch (IOException e) {
            throw Failures.of(e, dir);
        }
        String id = UUID.randomUUID().toString();
        watchers.put(id, polled);
        return new CreateWatcherResponse(id);
    }

    private GetWatcherEventsResponse getWatcherEvents(Call call, GetWatcherEventsRequest request) {
        PolledWatcher polled = request.watcherId() == null ? null : watchers.get(request.watcherId());
        if (polled == null) throw ConnectError.notFound("watcher '" + request.watcherId() + "' not found");
        return new GetWatcherEventsResponse(polled.drain());
    }

    private Empty removeWatcher(Call call, RemoveWatcherRequest request) {
        PolledWatcher polled = request.watcherId() == null ? null : watchers.remove(request.watcherId());
        if (polled == null) throw ConnectError.notFound("watcher '" + request.watcherId() + "' not found");
        polled.watcher.close();
        return new Empty();
    }

    private static EntryInfo entry(Path path) {
        try {
            return Entries.of(path);
        } catch (IOException e) {
            throw Failures.of(e, path);
        }
    }

    /** A watcher for CreateWatcher / GetWatcherEvents: events wait in a bounded buffer until polled. */
    private static final class PolledWatcher {
        private final ArrayDeque<FilesystemEvent> events = new ArrayDeque<>();
        private Watcher watcher;

        synchronized void add(FilesystemEvent event) {
            if (events.size() >= POLLED_EVENTS) events.pollFirst();
            events.addLast(event);
        }

        synchronized List<FilesystemEvent> drain() {
            List<FilesystemEvent> out = new ArrayList<>(events);
            events.clear();
            return out;
        }
    }
}
