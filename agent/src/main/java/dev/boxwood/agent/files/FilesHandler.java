package dev.boxwood.agent.files;

import dev.boxwood.agent.Settings;
import dev.boxwood.agent.connect.ConnectError;
import dev.boxwood.agent.filesystem.Access;
import dev.boxwood.agent.filesystem.Paths;
import dev.boxwood.agent.http.AgentHandler;
import dev.boxwood.agent.http.Bodies;
import dev.boxwood.agent.http.Replies;
import dev.boxwood.agent.users.Account;
import dev.boxwood.agent.users.Users;
import dev.boxwood.protocol.envd.FileSignatures;
import dev.boxwood.protocol.envd.WrittenFile;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URLConnection;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.MultiPart;
import org.eclipse.jetty.http.MultiPartFormData;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;

/**
 * {@code GET /files} (download) and {@code POST /files} (multipart or octet-stream upload), authorized by
 * {@code X-Access-Token} or a {@code v1_} URL signature, acting as {@code username} (default: the sandbox user).
 */
public final class FilesHandler implements AgentHandler.Route {
    private static final String UNAUTHORIZED =
            "unauthorized access, please provide a valid access token or method signing if supported";

    private final Settings settings;
    private final Users users;
    private final Access access;
    private final Path spool;

    private static final int COPY_BUFFER = 256 * 1024;

    /** {@code spool}: where large multipart parts wait until the whole body is parsed. */
    public FilesHandler(Settings settings, Users users, Access access, Path spool) {
        this.settings = settings;
        this.users = users;
        this.access = access;
        this.spool = spool;
    }

    @Override
    public void handle(Request request, Response response, Callback callback) throws Exception {
        try {
            switch (request.getMethod()) {
                case "GET", "HEAD" -> download(request, response, callback);
                case "POST" -> upload(request, response, callback);
                default -> throw new FileRequestError(405, "method not allowed");
            }
        } catch (FileRequestError e) {
            if (response.isCommitted()) throw e;
            Bodies.discard(request);
            Replies.error(response, callback, e.status, e.getMessage());
        } catch (ConnectError e) {
            if (response.isCommitted()) throw e;
            Bodies.discard(request);
            Replies.error(response, callback, e.code().httpStatus(), e.getMessage());
        }
    }

    private void download(Request request, Response response, Callback callback) throws Exception {
        Fields query = Request.extractQueryParameters(request);
        authorize(request, query, FileSignatures.READ);
        Account user = user(query);
        String raw = query.getValue("path");
        if (raw == null || raw.isEmpty()) throw new FileRequestError(400, "path is required");
        Path path = Paths.resolve(raw, user);
        if (!Files.exists(path)) throw new FileRequestError(404, "path '" + path + "' does not exist");
        if (Files.isDirectory(path)) throw new FileRequestError(400, "path '" + path + "' is a directory");
        access.require(path, user, Access.READ);

        String encoding = Encodings.choose(request.getHeaders().get(HttpHeader.ACCEPT_ENCODING));
        if (encoding == null) throw new FileRequestError(406, "no acceptable content encoding (gzip or identity)");
        String type = URLConnection.guessContentTypeFromName(path.getFileName().toString());
        var headers = response.getHeaders();
        headers.put(HttpHeader.CONTENT_TYPE, type == null ? "application/octet-stream" : type);
        headers.put(HttpHeader.CONTENT_DISPOSITION, "inline; filename=\"" + path.getFileName().toString()
                .replace("\"", "\\\"") + "\"");
        headers.put(HttpHeader.VARY, "Accept-Encoding");
        response.setStatus(200);
        InputStream in;
        try {
            in = Files.newInputStream(path);
        } catch (IOException e) {
            throw new FileRequestError(e instanceof java.nio.file.AccessDeniedException ? 403 : 500,
                    "cannot open '" + path + "': " + e.getMessage());
        }
        try (in) {
            if (encoding.equals("gzip")) {
                headers.put(HttpHeader.CONTENT_ENCODING, "gzip");
                if (request.getMethod().equals("HEAD")) {
                    response.write(true, null, callback);
                    return;
                }
                try (OutputStream out = new GZIPOutputStream(Content.Sink.asOutputStream(response), 64 * 1024)) {
                    copy(in, out);
                }
            } else {
                headers.put(HttpHeader.CONTENT_LENGTH, Files.size(path));
                if (request.getMethod().equals("HEAD")) {
                    response.write(true, null, callback);
                    return;
                }
                try (OutputStream out = Content.Sink.asOutputStream(response)) {
                    copy(in, out);
                }
            }
        }
        callback.succeeded();
    }

    private void upload(Request request, Response response, Callback callback) throws Exception {
        Fields query = Request.extractQueryParameters(request);
        authorize(request, query, FileSignatures.WRITE);
        Account user = user(query);
        String rawPath = query.getValue("path");
        Map<String, String> metadata = Metadata.fromHeaders(request.getHeaders());
        InputStream body = Content.Source.asInputStream(request);
        // Multipart parsing reads a Content.Source: the request itself, in the chunks the connection delivers,
        // unless it has to be gunzipped (an InputStream's 4 KiB chunks made a 100 MB upload many times slower).
        Content.Source source = request;
        String contentEncoding = request.getHeaders().get(HttpHeader.CONTENT_ENCODING);
        if (contentEncoding != null && !contentEncoding.isBlank()) {
            String enc = contentEncoding.trim().toLowerCase();
            if (enc.equals("gzip") || enc.equals("x-gzip")) {
                try {
                    body = new GZIPInputStream(body, 64 * 1024);
                    source = new org.eclipse.jetty.io.content.InputStreamContentSource(body,
                            new org.eclipse.jetty.io.ByteBufferPool.Sized(null, false, 64 * 1024));
                } catch (java.util.zip.ZipException | java.io.EOFException e) {
                    throw new FileRequestError(400, "the body is not valid gzip: " + e.getMessage());
                }
            } else if (!enc.equals("identity")) {
                throw new FileRequestError(400, "unsupported Content-Encoding '" + contentEncoding + "'");
            }
        }
        String contentType = request.getHeaders().get(HttpHeader.CONTENT_TYPE);
        List<WrittenFile> written = new ArrayList<>();
        if (contentType != null && contentType.toLowerCase().startsWith("multipart/form-data")) {
            multipart(source, contentType, rawPath, user, metadata, written);
        } else {
            if (rawPath == null || rawPath.isEmpty()) {
                throw new FileRequestError(400, "path is required for an octet-stream upload");
            }
            Path target = Paths.resolve(rawPath, user);
            try (InputStream in = body) {
                written.add(write(target, in, user, metadata));
            }
        }
        Replies.json(response, callback, 200, written);
    }

    private void multipart(Content.Source body, String contentType, String rawPath, Account user,
                           Map<String, String> metadata, List<WrittenFile> written) throws Exception {
        String boundary = org.eclipse.jetty.http.MultiPart.extractBoundary(contentType);
        if (boundary == null || boundary.isEmpty()) throw new FileRequestError(400, "multipart body without boundary");
        MultiPartFormData.Parser parser = new MultiPartFormData.Parser(boundary);
        Files.createDirectories(spool);
        parser.setFilesDirectory(spool);
        // small parts stay in memory, the rest are spooled: at most 1000 x 16 KiB on a 64 MiB heap
        parser.setMaxMemoryFileSize(16 * 1024);
        parser.setMaxParts(1000);
        parser.setMaxLength(-1);
        parser.setMaxFileSize(-1);
        MultiPartFormData.Parts parts;
        try {
            parts = parser.parse(body).get();
        } catch (java.util.concurrent.ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof FileSystemException fse && isNoSpace(fse)) {
                throw new FileRequestError(507, "not enough disk space");
            }
            throw new FileRequestError(400, "malformed multipart body: " + cause.getMessage());
        }
        try (parts) {
            Map<Path, MultiPart.Part> targets = new LinkedHashMap<>();
            for (MultiPart.Part part : parts) {
                if (!"file".equals(part.getName())) continue;
                String name = rawPath != null && !rawPath.isEmpty() ? rawPath : part.getFileName();
                if (name == null || name.isEmpty()) throw new FileRequestError(400, "a file part has no filename");
                Path target = Paths.resolve(name, user);
                if (targets.put(target, part) != null) {
                    throw new FileRequestError(400, "more than one part writes '" + target + "'");
                }
            }
            if (targets.isEmpty()) throw new FileRequestError(400, "no part named 'file' in the body");
            for (var e : targets.entrySet()) {
                try (InputStream in = Content.Source.asInputStream(e.getValue().getContentSource())) {
                    written.add(write(e.getKey(), in, user, metadata));
                }
            }
        }
    }

    /** Writes one file: parents made and chowned, existing content truncated, owner and metadata set. */
    private WrittenFile write(Path target, InputStream in, Account user, Map<String, String> metadata)
            throws IOException {
        if (Files.isDirectory(target)) throw new FileRequestError(400, "path '" + target + "' is a directory");
        if (Files.exists(target)) access.require(target, user, Access.WRITE);
        else access.requireCreatable(target, user);
        try {
            if (target.getParent() != null) Access.makeDirs(target.getParent(), user);
            boolean existed = Files.exists(target, LinkOption.NOFOLLOW_LINKS);
            try (OutputStream out = Files.newOutputStream(target, StandardOpenOption.CREATE,
                    StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
                copy(in, out);
            }
            if (!existed) {
                Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rw-r--r--"));
                Access.chown(target, user);
            }
            Metadata.replace(target, metadata);
        } catch (FileSystemException e) {
            if (isNoSpace(e)) throw new FileRequestError(507, "not enough disk space to write '" + target + "'");
            if (e.getReason() != null && e.getReason().contains("File name too long")) {
                throw new FileRequestError(400, "path '" + target + "' has a name longer than the filesystem allows");
            }
            if (e instanceof java.nio.file.AccessDeniedException) {
                throw new FileRequestError(403, "permission denied: '" + target + "'");
            }
            throw new FileRequestError(500, "cannot write '" + target + "': " + e.getMessage());
        } catch (java.util.zip.ZipException | java.io.EOFException e) {
            throw new FileRequestError(400, "the body is not valid gzip: " + e.getMessage());
        } catch (IOException e) {
            if (e.getMessage() != null && e.getMessage().contains("No space left")) {
                throw new FileRequestError(507, "not enough disk space to write '" + target + "'");
            }
            throw e;
        }
        return new WrittenFile(target.toString(), target.getFileName().toString(), "file",
                metadata.isEmpty() ? null : metadata);
    }

    /** Like transferTo, in bigger pieces: each write to the response blocks until it is sent. */
    private static void copy(InputStream in, OutputStream out) throws IOException {
        byte[] buf = new byte[COPY_BUFFER];
        int n;
        while ((n = in.read(buf)) > 0) out.write(buf, 0, n);
    }

    private static boolean isNoSpace(FileSystemException e) {
        return e.getReason() != null && e.getReason().contains("No space left");
    }

    private Account user(Fields query) {
        String name = query.getValue("username");
        return users.byName(name).orElseThrow(() -> new FileRequestError(401, "invalid user: '" + name + "'"));
    }

    /** The access token, or else a valid unexpired signature, when a token is set. */
    private void authorize(Request request, Fields query, String operation) {
        String token = settings.accessToken();
        if (token == null) return;
        String header = request.getHeaders().get("X-Access-Token");
        if (header != null) {
            if (!AgentHandler.constantTimeEquals(token, header)) throw new FileRequestError(401, UNAUTHORIZED);
            return;
        }
        String signature = query.getValue("signature");
        if (signature == null || signature.isEmpty()) throw new FileRequestError(401, UNAUTHORIZED);
        Long expiration = null;
        String rawExpiration = query.getValue("signature_expiration");
        if (rawExpiration != null && !rawExpiration.isEmpty()) {
            try {
                expiration = Long.parseLong(rawExpiration);
            } catch (NumberFormatException e) {
                throw new FileRequestError(400, "invalid signature_expiration '" + rawExpiration + "'");
            }
            if (expiration < Instant.now().getEpochSecond()) {
                throw new FileRequestError(401, "signature is already expired");
            }
        }
        String path = query.getValue("path");
        String expected = FileSignatures.sign(path == null ? "" : path, operation, query.getValue("username"),
                token, expiration);
        if (!AgentHandler.constantTimeEquals(expected, signature)) {
            throw new FileRequestError(401, "invalid signature");
        }
    }
}
