package dev.boxwood.agent.filesystem;

import dev.boxwood.agent.connect.ConnectError;
import dev.boxwood.agent.users.Account;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;

/** Resolves client paths as envd does: absolute as given, {@code ~} and relative paths against the user's home. */
public final class Paths {
    private Paths() {}

    /** Throws invalid_argument for empty paths or paths with NUL bytes. */
    public static Path resolve(String raw, Account user) {
        if (raw == null || raw.isEmpty()) throw ConnectError.invalidArgument("path is required");
        try {
            Path path;
            if (raw.equals("~")) path = user.home();
            else if (raw.startsWith("~/")) path = user.home().resolve(raw.substring(2));
            else if (raw.startsWith("/")) path = Path.of(raw);
            else path = user.home().resolve(raw);
            return path.normalize();
        } catch (InvalidPathException e) {
            throw ConnectError.invalidArgument("invalid path '" + raw + "': " + e.getReason());
        }
    }
}
