package dev.boxwood.agent.users;

import java.nio.file.Path;

/** A local user as /etc/passwd describes it. */
public record Account(String name, int uid, int gid, Path home, String shell) {
    public boolean isRoot() {
        return uid == 0;
    }
}
