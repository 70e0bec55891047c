package dev.boxwood.agent.filesystem;

import dev.boxwood.agent.connect.Code;
import dev.boxwood.agent.connect.ConnectError;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;

/** Maps Java I/O failures to the Connect codes envd uses. */
public final class Failures {
    private Failures() {}

    public static ConnectError of(IOException e, Path path) {
        String reason = e instanceof FileSystemException fse && fse.getReason() != null ? fse.getReason() : "";
        return switch (e) {
            case NoSuchFileException x -> ConnectError.notFound("path '" + path + "' does not exist");
            case AccessDeniedException x -> ConnectError.permissionDenied("permission denied: '" + path + "'");
            case FileAlreadyExistsException x -> ConnectError.alreadyExists("path '" + path + "' already exists");
            case NotDirectoryException x -> ConnectError.invalidArgument("path '" + path + "' is not a directory");
            case DirectoryNotEmptyException x -> ConnectError.failedPrecondition("directory '" + path + "' is not empty");
            default -> {
                if (reason.contains("symbolic links")) {
                    yield ConnectError.failedPrecondition("too many levels of symbolic links: '" + path + "'");
                }
                if (reason.contains("No space left")) {
                    yield ConnectError.resourceExhausted("no space left on device");
                }
                if (reason.contains("File name too long")) {
                    // ENAMETOOLONG: the client's path is at fault, not the agent (found by AgentInputFuzzTest).
                    yield ConnectError.invalidArgument("path '" + path + "' has a name longer than the filesystem allows");
                }
                if (reason.contains("Not a directory")) {
                    yield ConnectError.invalidArgument("a component of '" + path + "' is not a directory");
                }
                yield new ConnectError(Code.INTERNAL, "'" + path + "': " + e);
            }
        };
    }
}
