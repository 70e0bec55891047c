package dev.boxwood.agent.filesystem;

import dev.boxwood.protocol.envd.filesystem.EntryInfo;
import dev.boxwood.protocol.envd.filesystem.FileType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.util.Map;
import java.util.TreeMap;

/**
 * Builds EntryInfo as envd reports it. A symlink is described by its target (type, size, mode) with
 * {@code symlinkTarget} holding the fully resolved target path; a dangling link is reported as a symlink, a link
 * loop fails with the kernel's "Too many levels of symbolic links".
 */
public final class Entries {
    /** The xattr namespace for file metadata ({@code user.} is implied by Java's user-defined view). */
    public static final String METADATA_PREFIX = "e2b.";

    private Entries() {}

    public static EntryInfo of(Path path) throws IOException {
        PosixFileAttributes own = Files.readAttributes(path, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        PosixFileAttributes attrs = own;
        String target = null;
        FileType type;
        if (own.isSymbolicLink()) {
            try {
                target = path.toRealPath().toString();
                attrs = Files.readAttributes(path, PosixFileAttributes.class);
                type = attrs.isDirectory() ? FileType.FILE_TYPE_DIRECTORY : FileType.FILE_TYPE_FILE;
            } catch (IOException dangling) {
                if (dangling instanceof java.nio.file.FileSystemException fse && fse.getReason() != null
                        && fse.getReason().contains("symbolic links")) {
                    throw dangling; // a loop, not a dangling link: callers report failed_precondition
                }
                Path raw = Files.readSymbolicLink(path);
                target = (path.getParent() == null ? raw : path.getParent().resolve(raw)).normalize().toString();
                type = FileType.FILE_TYPE_SYMLINK;
            }
        } else {
            type = own.isDirectory() ? FileType.FILE_TYPE_DIRECTORY : FileType.FILE_TYPE_FILE;
        }
        int mode;
        try {
            mode = ((Integer) Files.getAttribute(path, "unix:mode")) & 0777;
        } catch (IOException e) {
            mode = ((Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS)) & 0777;
        }
        char kind = type == FileType.FILE_TYPE_DIRECTORY ? 'd' : type == FileType.FILE_TYPE_SYMLINK ? 'L' : '-';
        String name = path.getFileName() == null ? "/" : path.getFileName().toString();
        return new EntryInfo(name, type, path.toString(), attrs.size(), mode,
                kind + PosixFilePermissions.toString(attrs.permissions()),
                attrs.owner().getName(), attrs.group().getName(),
                attrs.lastModifiedTime().toInstant().toString(), target, metadata(path));
    }

    /** The file's {@code user.e2b.*} xattrs without the prefix; empty when the filesystem has none. */
    public static Map<String, String> metadata(Path path) {
        Map<String, String> out = new TreeMap<>();
        try {
            UserDefinedFileAttributeView view = Files.getFileAttributeView(path, UserDefinedFileAttributeView.class);
            if (view == null) return out;
            for (String attr : view.list()) {
                if (!attr.startsWith(METADATA_PREFIX)) continue;
                ByteBuffer buf = ByteBuffer.allocate(view.size(attr));
                view.read(attr, buf);
                out.put(attr.substring(METADATA_PREFIX.length()), new String(buf.array(), 0, buf.position(),
                        StandardCharsets.UTF_8));
            }
        } catch (IOException | UnsupportedOperationException e) {
            // no xattr support here: no metadata
        }
        return out;
    }
}
