package dev.boxwood.agent.users;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Looks users and groups up in /etc/passwd and /etc/group. Read on each lookup: the files are small, and users added
 * inside a running sandbox (useradd in a command) must be visible at once.
 */
public final class Accounts {
    private final Path passwd;
    private final Path group;

    public Accounts() {
        this(Path.of("/etc/passwd"), Path.of("/etc/group"));
    }

    public Accounts(Path passwd, Path group) {
        this.passwd = passwd;
        this.group = group;
    }

    public Optional<Account> byName(String name) {
        if (name == null || name.isEmpty()) return Optional.empty();
        for (String[] f : rows(passwd)) {
            if (f.length >= 7 && f[0].equals(name)) {
                try {
                    return Optional.of(new Account(f[0], Integer.parseInt(f[2]), Integer.parseInt(f[3]),
                            Path.of(f[5].isEmpty() ? "/" : f[5]), f[6]));
                } catch (NumberFormatException e) {
                    return Optional.empty();
                }
            }
        }
        return Optional.empty();
    }

    /** uid → user name, for owner columns; unknown ids come back as their number. */
    public Map<Integer, String> userNames() {
        return names(passwd);
    }

    public Map<Integer, String> groupNames() {
        return names(group);
    }

    /** The primary group and every group that lists the user as a member. */
    public java.util.Set<Integer> groupsOf(Account account) {
        var out = new java.util.HashSet<Integer>();
        out.add(account.gid());
        for (String[] f : rows(group)) {
            if (f.length >= 4 && java.util.Arrays.asList(f[3].split(",")).contains(account.name())) {
                try {
                    out.add(Integer.parseInt(f[2]));
                } catch (NumberFormatException ignored) {
                    // malformed line
                }
            }
        }
        return out;
    }

    private Map<Integer, String> names(Path file) {
        var out = new HashMap<Integer, String>();
        for (String[] f : rows(file)) {
            if (f.length >= 3) {
                try {
                    out.putIfAbsent(Integer.parseInt(f[2]), f[0]);
                } catch (NumberFormatException ignored) {
                    // malformed line: skip it, as getpwent does
                }
            }
        }
        return out;
    }

    private static Iterable<String[]> rows(Path file) {
        try {
            return Files.readAllLines(file).stream()
                    .filter(l -> !l.isBlank() && !l.startsWith("#"))
                    .map(l -> l.split(":", -1))
                    .toList();
        } catch (IOException e) {
            return java.util.List.of();
        }
    }
}
