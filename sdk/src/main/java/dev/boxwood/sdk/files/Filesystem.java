package dev.boxwood.sdk.files;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.boxwood.sdk.InvalidArgumentException;
import dev.boxwood.sdk.NotFoundException;
import dev.boxwood.sdk.SandboxException;
import dev.boxwood.sdk.TemplateException;
import dev.boxwood.sdk.transport.ConnectClient;
import dev.boxwood.sdk.transport.Errors;
import dev.boxwood.sdk.transport.Http;
import dev.boxwood.sdk.transport.Json;
import dev.boxwood.sdk.transport.SandboxEndpoint;
import dev.boxwood.sdk.transport.ServerStream;
import dev.boxwood.sdk.transport.UrlEncoding;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.StringJoiner;
import java.util.UUID;
import java.util.function.Consumer;

/**
 * The sandbox's filesystem: read and write files, list, stat, create, rename and remove entries, watch directories,
 * and sign URLs that read or write a file without credentials. Relative paths resolve against the user's home
 * ({@code /home/user} by default). Obtained from {@code sandbox.files()}; {@link #as(String)} acts as another user.
 *
 * <pre>{@code
 * sandbox.files().write("/home/user/hello.txt", "hi");
 * String text = sandbox.files().read("/home/user/hello.txt");
 * }</pre>
 */
public final class Filesystem {
    private static final String SERVICE = "filesystem.Filesystem/";

    private final SandboxEndpoint endpoint;
    private final ConnectClient rpc;
    private final String user;

    /** Used by {@code Sandbox}; not meant to be called directly. */
    public Filesystem(SandboxEndpoint endpoint) {
        this(endpoint, null);
    }

    private Filesystem(SandboxEndpoint endpoint, String user) {
        this.endpoint = endpoint;
        this.rpc = new ConnectClient(endpoint);
        this.user = user;
    }

    /** The same filesystem, acting as {@code user} (ownership of written files, relative paths, permissions). */
    public Filesystem as(String user) {
        return new Filesystem(endpoint, Objects.requireNonNull(user, "user"));
    }

    // ---- reading ----

    /** Reads a file as UTF-8 text. */
    public String read(String path) {
        return new String(readBytes(path), StandardCharsets.UTF_8);
    }

    /** Reads a file's bytes. */
    public byte[] readBytes(String path) {
        try (InputStream in = readStream(path)) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new SandboxException("reading " + path + " failed: " + e.getMessage(), e);
        }
    }

    /**
     * Opens a file for streaming; the caller must close the stream. Suited to large files: nothing is buffered
     * beyond what the HTTP client holds.
     */
    public InputStream readStream(String path) {
        HttpRequest request = endpoint.request("/files?" + fileQuery(path, endpoint.effectiveUser(user)))
                .GET().build();
        HttpResponse<InputStream> response = Http.send(request, HttpResponse.BodyHandlers.ofInputStream());
        if (response.statusCode() != 200) {
            throw Errors.fromHttp(response.statusCode(), Http.drain(response.body()), false);
        }
        return response.body();
    }

    // ---- writing ----

    /** Writes UTF-8 text to a file, creating parent directories and replacing an existing file. */
    public WriteInfo write(String path, String content) {
        return write(path, content.getBytes(StandardCharsets.UTF_8));
    }

    /** Writes bytes to a file, creating parent directories and replacing an existing file. */
    public WriteInfo write(String path, byte[] content) {
        return write(path, new ByteArrayInputStream(content));
    }

    /** Writes a stream to a file (streamed, not buffered); the stream is read to its end and closed. */
    public WriteInfo write(String path, InputStream content) {
        return write(path, content, Map.of());
    }

    /**
     * Writes a stream to a file and stores {@code metadata} with it (replacing earlier metadata), readable
     * through {@link EntryInfo#metadata()}. Keys and values must be printable ASCII; keys are stored lower-case.
     */
    public WriteInfo write(String path, InputStream content, Map<String, String> metadata) {
        if (!metadata.isEmpty() && !endpoint.supports(SandboxEndpoint.VERSION_FILE_METADATA)) {
            throw new TemplateException("this sandbox's agent cannot store file metadata; rebuild the template");
        }
        if (!endpoint.supports(SandboxEndpoint.VERSION_OCTET_STREAM_UPLOAD)) {
            return write(List.of(WriteEntry.of(path, content))).getFirst();
        }
        String query = fileQuery(path, endpoint.effectiveUser(user));
        HttpRequest.Builder builder = endpoint.request("/files?" + query)
                .header("Content-Type", "application/octet-stream")
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> content));
        metadata.forEach((key, value) -> builder.header("X-Metadata-" + key, value));
        HttpRequest request = builder.build();
        List<WriteInfo> written = upload(request);
        if (written.isEmpty()) {
            throw new SandboxException("the sandbox reported no file written for " + path);
        }
        return written.getFirst();
    }

    /** Writes several files in one request (multipart). */
    public List<WriteInfo> write(List<WriteEntry> files) {
        if (files.isEmpty()) {
            return List.of();
        }
        String boundary = "----boxwood-" + UUID.randomUUID();
        List<HttpRequest.BodyPublisher> parts = new ArrayList<>();
        for (WriteEntry file : files) {
            // The agent takes each part's target from its filename, which may contain slashes.
            String head = "--" + boundary + "\r\n"
                    + "Content-Disposition: form-data; name=\"file\"; filename=\"" + quote(file.path()) + "\"\r\n"
                    + "Content-Type: application/octet-stream\r\n\r\n";
            parts.add(HttpRequest.BodyPublishers.ofByteArray(head.getBytes(StandardCharsets.UTF_8)));
            parts.add(HttpRequest.BodyPublishers.ofInputStream(file.content()));
            parts.add(HttpRequest.BodyPublishers.ofByteArray("\r\n".getBytes(StandardCharsets.UTF_8)));
        }
        parts.add(HttpRequest.BodyPublishers.ofByteArray(("--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8)));
        String query = files.size() == 1 ? fileQuery(files.getFirst().path(), endpoint.effectiveUser(user))
                : userQuery(endpoint.effectiveUser(user));
        HttpRequest request = endpoint.request("/files" + (query.isEmpty() ? "" : "?" + query))
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.concat(parts.toArray(HttpRequest.BodyPublisher[]::new)))
                .build();
        List<WriteInfo> written = upload(request);
        if (written.isEmpty()) {
            throw new SandboxException("the sandbox reported no files written");
        }
        return written;
    }

    private List<WriteInfo> upload(HttpRequest request) {
        HttpResponse<byte[]> response = Http.send(request, HttpResponse.BodyHandlers.ofByteArray());
        if (response.statusCode() != 200) {
            throw Errors.fromHttp(response.statusCode(), response.body(), false);
        }
        List<WriteInfo> out = new ArrayList<>();
        for (JsonNode n : Json.parse(response.body())) {
            out.add(WriteInfo.fromJson(n));
        }
        return out;
    }

    // ---- entries ----

    /** Lists a directory's entries (one level). */
    public List<EntryInfo> list(String path) {
        return list(path, 1);
    }

    /** Lists a directory's entries down to {@code depth} levels (1 = only the directory's own entries). */
    public List<EntryInfo> list(String path, int depth) {
        if (depth < 1) {
            throw new InvalidArgumentException("depth must be at least 1");
        }
        JsonNode response = call("ListDir", Json.object().put("path", path).put("depth", depth));
        List<EntryInfo> out = new ArrayList<>();
        for (JsonNode n : response.path("entries")) {
            EntryInfo entry = EntryInfo.fromJson(n);
            if (entry.type() != FileType.UNKNOWN) {
                out.add(entry);
            }
        }
        return out;
    }

    /** True when the path exists (as any kind of entry). */
    public boolean exists(String path) {
        try {
            getInfo(path);
            return true;
        } catch (NotFoundException e) {
            return false;
        }
    }

    /** Stats a path. */
    public EntryInfo getInfo(String path) {
        return EntryInfo.fromJson(call("Stat", Json.object().put("path", path)).path("entry"));
    }

    /** Creates a directory and its parents; false when it already existed. */
    public boolean makeDir(String path) {
        try {
            call("MakeDir", Json.object().put("path", path));
            return true;
        } catch (SandboxException e) {
            if ("already_exists".equals(e.code())) {
                return false;
            }
            throw e;
        }
    }

    /** Moves or renames an entry and returns it at its new place. */
    public EntryInfo rename(String oldPath, String newPath) {
        JsonNode response = call("Move", Json.object().put("source", oldPath).put("destination", newPath));
        return EntryInfo.fromJson(response.path("entry"));
    }

    /** Removes a file or a directory with its contents. */
    public void remove(String path) {
        call("Remove", Json.object().put("path", path));
    }

    private JsonNode call(String method, ObjectNode request) {
        return rpc.unary(SERVICE + method, request, user);
    }

    // ---- watching ----

    /** Watches a directory for 60 s (see {@link #watchDir(String, WatchOptions, Consumer)}). */
    public WatchHandle watchDir(String path, Consumer<FilesystemEvent> listener) {
        return watchDir(path, WatchOptions.defaults(), listener);
    }

    /**
     * Watches a directory, calling {@code listener} for each change on a background thread. Returns once the
     * watch is established: changes made after this returns are seen. Fails at once when the path is missing
     * ({@link NotFoundException}) or is not a directory.
     */
    public WatchHandle watchDir(String path, WatchOptions options, Consumer<FilesystemEvent> listener) {
        if (options.recursive() && !endpoint.supports(SandboxEndpoint.VERSION_RECURSIVE_WATCH)) {
            throw new TemplateException("this sandbox's agent cannot watch recursively; rebuild the template");
        }
        if (options.includeEntry() && !endpoint.supports(SandboxEndpoint.VERSION_WATCH_ENTRY)) {
            throw new TemplateException("this sandbox's agent cannot include entries in watch events");
        }
        ObjectNode request = Json.object().put("path", path).put("recursive", options.recursive());
        if (options.includeEntry()) {
            request.put("includeEntry", true);
        }
        ServerStream stream = rpc.stream(SERVICE + "WatchDir", request, user, options.timeout());
        JsonNode first = stream.first();
        if (!first.has("start")) {
            stream.close();
            throw new SandboxException("expected the watch's start event, got " + first);
        }
        Thread pump = Thread.ofVirtual().name("boxwood-watch-" + path).unstarted(() -> {
            Throwable failure = null;
            try {
                for (JsonNode message = stream.next(); message != null; message = stream.next()) {
                    JsonNode event = message.get("filesystem");
                    if (event != null && !stream.isClosed()) {
                        JsonNode entry = event.get("entry");
                        listener.accept(new FilesystemEvent(Json.text(event, "name"),
                                FilesystemEvent.EventType.fromWire(Json.text(event, "type")),
                                entry == null || entry.isNull() ? null : EntryInfo.fromJson(entry)));
                    }
                }
            } catch (RuntimeException e) {
                failure = stream.isClosed() ? null : e;
            } finally {
                stream.close();
                if (options.onExit() != null) {
                    options.onExit().accept(failure);
                }
            }
        });
        WatchHandle handle = new WatchHandle(stream, pump);
        pump.start();
        return handle;
    }

    // ---- signed URLs ----

    /** A URL that downloads the file with a plain GET, valid until the sandbox ends. */
    public String downloadUrl(String path) {
        return signedUrl(path, "read", null);
    }

    /** A URL that downloads the file with a plain GET, valid for {@code validFor}. */
    public String downloadUrl(String path, Duration validFor) {
        return signedUrl(path, "read", validFor);
    }

    /** A URL that uploads the file with a plain multipart POST, valid until the sandbox ends. */
    public String uploadUrl(String path) {
        return signedUrl(path, "write", null);
    }

    /** A URL that uploads the file with a plain multipart POST, valid for {@code validFor}. */
    public String uploadUrl(String path, Duration validFor) {
        return signedUrl(path, "write", validFor);
    }

    private String signedUrl(String path, String operation, Duration validFor) {
        String username = endpoint.effectiveUser(user);
        StringJoiner q = new StringJoiner("&");
        q.add("path=" + UrlEncoding.formEncode(path));
        if (username != null) {
            q.add("username=" + UrlEncoding.formEncode(username));
        }
        if (endpoint.accessToken() != null) {
            Long expiration = validFor == null ? null : Instant.now().plus(validFor).getEpochSecond();
            q.add("signature=" + UrlEncoding.formEncode(
                    FileSignature.compute(path, operation, username, endpoint.accessToken(), expiration)));
            if (expiration != null) {
                q.add("signature_expiration=" + expiration);
            }
        }
        // Like the official SDKs: the origin of the agent URL, any path prefix dropped.
        URI base = URI.create(endpoint.baseUrl());
        return base.getScheme() + "://" + base.getRawAuthority() + "/files?" + q;
    }

    // ---- helpers ----

    private static String fileQuery(String path, String username) {
        String q = "path=" + UrlEncoding.formEncode(path);
        String u = userQuery(username);
        return u.isEmpty() ? q : q + "&" + u;
    }

    private static String userQuery(String username) {
        return username == null ? "" : "username=" + UrlEncoding.formEncode(username);
    }

    private static String quote(String filename) {
        return filename.replace("\"", "%22").replace("\r", "%0D").replace("\n", "%0A");
    }
}
