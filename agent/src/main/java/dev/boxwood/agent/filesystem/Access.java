package dev.boxwood.agent.filesystem;

import dev.boxwood.agent.connect.ConnectError;
import dev.boxwood.agent.users.Account;
import dev.boxwood.agent.users.Accounts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

/**
 * The agent runs as root but acts for a user, so it checks the user's Unix permissions itself before touching a
 * path (owner, group and other bits; root may do anything), then chowns what it creates to that user.
 */
public final class Access {
    public static final int READ = 4;
    public static final int WRITE = 2;
    public static final int EXECUTE = 1;
    private static final boolean AGENT_IS_ROOT = "root".equals(System.getProperty("user.name"));

    private final Accounts accounts;

    public Access(Accounts accounts) {
        this.accounts = accounts;
    }

    /** Requires search permission on every ancestor of {@code path}. */
    public void requireReachable(Path path, Account user) {
        if (user.isRoot()) return;
        Set<Integer> groups = accounts.groupsOf(user);
        for (Path dir = path.getParent(); dir != null; dir = dir.getParent()) {
            if (Files.isDirectory(dir)) check(dir, user, groups, EXECUTE);
        }
    }

    /** Requires {@code want} (READ|WRITE|EXECUTE bits) on an existing path, after reachability. */
    public void require(Path path, Account user, int want) {
        if (user.isRoot()) return;
        requireReachable(path, user);
        check(path, user, accounts.groupsOf(user), want);
    }

    /** Requires write and search permission on the nearest existing ancestor: where {@code path} would be made. */
    public void requireCreatable(Path path, Account user) {
        if (user.isRoot()) return;
        Path dir = path.getParent();
        while (dir != null && !Files.exists(dir)) dir = dir.getParent();
        if (dir != null) require(dir, user, WRITE | EXECUTE);
    }

    /**
     * Requires what unlink(2) and rename(2) need: write and search permission on the parent, and in a sticky
     * directory such as /tmp, ownership of the entry or of the directory.
     */
    public void requireRemovable(Path path, Account user) {
        if (user.isRoot()) return;
        Path parent = path.getParent();
        if (parent == null) throw ConnectError.permissionDenied("user '" + user.name() + "' may not remove '/'");
        require(parent, user, WRITE | EXECUTE);
        try {
            int dirMode = (Integer) Files.getAttribute(parent, "unix:mode");
            if ((dirMode & 01000) == 0) return;
            int dirUid = (Integer) Files.getAttribute(parent, "unix:uid");
            int uid = (Integer) Files.getAttribute(path, "unix:uid", java.nio.file.LinkOption.NOFOLLOW_LINKS);
            if (uid != user.uid() && dirUid != user.uid()) {
                throw ConnectError.permissionDenied("user '" + user.name() + "' may not remove '" + path
                        + "' from the sticky directory '" + parent + "'");
            }
        } catch (IOException e) {
            // vanished meanwhile: the operation itself reports it
        }
    }

    private static void check(Path path, Account user, Set<Integer> groups, int want) {
        int uid;
        int gid;
        int mode;
        try {
            uid = (Integer) Files.getAttribute(path, "unix:uid");
            gid = (Integer) Files.getAttribute(path, "unix:gid");
            mode = (Integer) Files.getAttribute(path, "unix:mode");
        } catch (IOException e) {
            return; // vanished meanwhile: the operation itself reports it
        }
        int bits = uid == user.uid() ? (mode >> 6) & 7 : groups.contains(gid) ? (mode >> 3) & 7 : mode & 7;
        if ((bits & want) != want) {
            throw ConnectError.permissionDenied("user '" + user.name() + "' may not access '" + path + "'");
        }
    }

    /** Makes {@code path} belong to the user (no-op unless the agent is root and the user is not). */
    public static void chown(Path path, Account user) throws IOException {
        if (!AGENT_IS_ROOT || user.isRoot()) return;
        Files.setAttribute(path, "unix:uid", user.uid(), java.nio.file.LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(path, "unix:gid", user.gid(), java.nio.file.LinkOption.NOFOLLOW_LINKS);
    }

    /** Creates missing directories down to {@code dir} with mode 0755, each owned by the user. */
    public static void makeDirs(Path dir, Account user) throws IOException {
        if (Files.isDirectory(dir)) return;
        Path parent = dir.getParent();
        if (parent != null) makeDirs(parent, user);
        try {
            Files.createDirectory(dir);
        } catch (java.nio.file.FileAlreadyExistsException e) {
            if (Files.isDirectory(dir)) return;
            throw e;
        }
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        chown(dir, user);
    }
}
