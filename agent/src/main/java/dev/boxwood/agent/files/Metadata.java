package dev.boxwood.agent.files;

import dev.boxwood.agent.filesystem.Entries;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.util.Map;
import java.util.TreeMap;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;

/**
 * {@code X-Metadata-<key>: <value>} upload headers, stored as xattrs {@code user.e2b.<lowercased key>}. Keys and
 * values must be printable ASCII; a key may be 246 bytes (so the xattr name fits in 255), all of it 4096 bytes.
 */
final class Metadata {
    private static final String HEADER = "x-metadata-";
    private static final int MAX_KEY = 246;
    private static final int MAX_TOTAL = 4096;

    private Metadata() {}

    static Map<String, String> fromHeaders(HttpFields headers) {
        Map<String, String> out = new TreeMap<>();
        int total = 0;
        for (HttpField field : headers) {
            String name = field.getName();
            if (name.length() <= HEADER.length() || !name.regionMatches(true, 0, HEADER, 0, HEADER.length())) continue;
            String key = name.substring(HEADER.length()).toLowerCase();
            String value = field.getValue() == null ? "" : field.getValue();
            if (!printable(key) || !printable(value)) {
                throw new FileRequestError(400, "metadata keys and values must be printable ASCII: " + key);
            }
            if (key.length() > MAX_KEY) throw new FileRequestError(400, "metadata key longer than 246 bytes: " + key);
            total += key.length() + value.length();
            if (total > MAX_TOTAL) throw new FileRequestError(400, "metadata larger than 4096 bytes");
            out.put(key, value);
        }
        return out;
    }

    private static boolean printable(String s) {
        return s.chars().allMatch(c -> c >= 0x20 && c < 0x7f);
    }

    /** Replaces the file's metadata: old {@code user.e2b.*} attributes go, the new ones are written. */
    static void replace(Path file, Map<String, String> metadata) throws IOException {
        UserDefinedFileAttributeView view = Files.getFileAttributeView(file, UserDefinedFileAttributeView.class);
        if (view == null) {
            if (metadata.isEmpty()) return;
            throw new FileRequestError(400, "the filesystem does not support metadata");
        }
        try {
            for (String attr : view.list()) {
                if (attr.startsWith(Entries.METADATA_PREFIX)) view.delete(attr);
            }
            for (var e : metadata.entrySet()) {
                view.write(Entries.METADATA_PREFIX + e.getKey(),
                        ByteBuffer.wrap(e.getValue().getBytes(StandardCharsets.US_ASCII)));
            }
        } catch (UnsupportedOperationException e) {
            if (!metadata.isEmpty()) throw new FileRequestError(400, "the filesystem does not support metadata");
        } catch (java.nio.file.FileSystemException e) {
            if (metadata.isEmpty() && e.getReason() != null && e.getReason().contains("not supported")) return;
            throw e;
        }
    }
}
