package dev.boxwood.cli;

import dev.boxwood.server.Config;
import dev.boxwood.server.store.ApiKeyRow;
import dev.boxwood.server.store.Database;
import dev.boxwood.server.store.Team;
import dev.boxwood.server.store.TeamStore;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Works on the database directly, so it also works while the server is down (SQLite WAL allows both at once). */
@Command(name = "keys", mixinStandardHelpOptions = true, description = "Create, list and revoke API keys",
        subcommands = {KeysCommand.Create.class, KeysCommand.ListKeys.class, KeysCommand.Revoke.class})
final class KeysCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        System.err.println("usage: boxwood keys create --team T | keys list | keys revoke <id or key prefix>");
        return 2;
    }

    abstract static class DatabaseCommand implements Callable<Integer> {
        @Option(names = "--data-dir", description = "Data directory (default: ${DEFAULT-VALUE})",
                defaultValue = "${sys:boxwood.dataDir:-" + Config.DEFAULT_DATA_DIR + "}")
        Path dataDir;

        @Override
        public Integer call() {
            try (Database db = new Database(dataDir.resolve("boxwood.db"))) {
                return run(new TeamStore(db));
            } catch (IllegalArgumentException e) {
                System.err.println("boxwood keys: " + e.getMessage());
                return 1;
            }
        }

        abstract int run(TeamStore teams);
    }

    @Command(name = "create", description = "Create an API key for a team (the team is created if new); prints the key once")
    static final class Create extends DatabaseCommand {
        @Option(names = "--team", required = true, description = "Team name")
        String team;

        @Override
        int run(TeamStore teams) {
            Team t = teams.ensureTeam(team);
            System.out.println(teams.createKey(t));
            return 0;
        }
    }

    @Command(name = "list", description = "List API keys (only their first characters are stored in clear)")
    static final class ListKeys extends DatabaseCommand {
        @Override
        int run(TeamStore teams) {
            System.out.printf("%-22s %-20s %-16s %-24s %s%n", "ID", "TEAM", "KEY", "CREATED", "STATUS");
            for (ApiKeyRow k : teams.listKeys()) {
                System.out.printf("%-22s %-20s %-16s %-24s %s%n", k.id(), k.teamName(), k.prefix() + "…",
                        k.createdAt(), k.revoked() ? "revoked " + k.revokedAt() : "active");
            }
            return 0;
        }
    }

    @Command(name = "revoke", description = "Revoke a key, named by its id or the start of the key")
    static final class Revoke extends DatabaseCommand {
        @Parameters(paramLabel = "ID_OR_PREFIX")
        String key;

        @Override
        int run(TeamStore teams) {
            ApiKeyRow revoked = teams.revoke(key);
            System.out.println("revoked " + revoked.id() + " (" + revoked.prefix() + "…, team " + revoked.teamName() + ")");
            return 0;
        }
    }
}
