package dev.boxwood.agent.sudo;

import dev.boxwood.agent.users.Account;
import dev.boxwood.agent.users.Accounts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Who may use sudo: root, members of group {@code sudo}, and users or {@code %groups} granted {@code NOPASSWD: ALL}
 * in the sudoers files (the one form E2B-style images write, e.g. {@code user ALL=(ALL:ALL) NOPASSWD: ALL}). Every
 * grant means "any command as any user": there are no passwords in a sandbox, so nothing narrower is honoured.
 * Files are read on each check, so a grant written inside a running sandbox counts at once.
 */
public final class SudoPolicy {
    private static final Pattern GRANT =
            Pattern.compile("^(\\S+)\\s+ALL\\s*=\\s*(\\([^)]*\\)\\s*)?NOPASSWD:\\s*ALL\\s*$");

    private final Accounts accounts;
    private final List<Path> sources;

    /** @param sources sudoers files, and directories read as sudo reads {@code @includedir} */
    public SudoPolicy(Accounts accounts, List<Path> sources) {
        this.accounts = accounts;
        this.sources = List.copyOf(sources);
    }

    public static SudoPolicy system(Accounts accounts) {
        String dir = System.getProperty("boxwood.sudo.sudoersDir", "/etc/sudoers.d");
        return new SudoPolicy(accounts, List.of(Path.of("/etc/sudoers"), Path.of(dir)));
    }

    public boolean allows(Account caller) {
        if (caller.isRoot()) return true;
        var groupNames = accounts.groupNames();
        Set<Integer> gids = accounts.groupsOf(caller);
        List<String> groups = gids.stream().map(groupNames::get).filter(n -> n != null).toList();
        if (groups.contains("sudo")) return true;
        for (String line : lines()) {
            var m = GRANT.matcher(line);
            if (!m.matches()) continue;
            String who = m.group(1);
            if (who.equals(caller.name()) || who.startsWith("%") && groups.contains(who.substring(1))) return true;
        }
        return false;
    }

    private List<String> lines() {
        List<String> out = new ArrayList<>();
        for (Path source : sources) {
            if (Files.isDirectory(source)) {
                // sudo skips names with a dot or a trailing ~ (editor backups, package manager leftovers)
                try (Stream<Path> files = Files.list(source)) {
                    files.filter(f -> !f.getFileName().toString().contains(".")
                                    && !f.getFileName().toString().endsWith("~"))
                            .sorted().forEach(f -> read(f, out));
                } catch (IOException ignored) {
                    // unreadable directory: grants nothing
                }
            } else {
                read(source, out);
            }
        }
        return out;
    }

    private static void read(Path file, List<String> out) {
        try {
            for (String line : Files.readAllLines(file)) {
                String t = line.strip();
                if (!t.isEmpty() && !t.startsWith("#")) out.add(t);
            }
        } catch (IOException ignored) {
            // missing or unreadable file: grants nothing
        }
    }
}
