package dev.boxwood.sdk.files;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * One file of a multi-file {@link Filesystem#write(java.util.List)}: a path and where its bytes come from.
 *
 * @param path    the target path (absolute, or relative to the user's home)
 * @param content opens the content; called once, and the stream is closed after the upload
 */
public record WriteEntry(String path, Supplier<InputStream> content) {
    public WriteEntry {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(content, "content");
    }

    public static WriteEntry of(String path, String text) {
        return of(path, text.getBytes(StandardCharsets.UTF_8));
    }

    public static WriteEntry of(String path, byte[] bytes) {
        return new WriteEntry(path, () -> new ByteArrayInputStream(bytes));
    }

    /** An entry that uploads from a stream the caller opened; the SDK closes it. */
    public static WriteEntry of(String path, InputStream stream) {
        return new WriteEntry(path, () -> stream);
    }
}
