package dev.boxwood.agent;

import dev.boxwood.protocol.envd.InitRequest;
import java.util.Map;
import java.util.TreeMap;

/**
 * What {@code POST /init} configures: the access token, the sandbox-wide environment, the default user and workdir.
 * Read on every request, written rarely, so each piece is swapped atomically as an immutable value.
 */
public final class Settings {
    private volatile String accessToken;
    private volatile Map<String, String> envVars = Map.of();
    private volatile String defaultUser;
    private volatile String defaultWorkdir;

    public Settings(String defaultUser) {
        this.defaultUser = defaultUser;
    }

    /** Null until /init sets one; while null, no request needs a token (envd does the same). */
    public String accessToken() {
        return accessToken;
    }

    public Map<String, String> envVars() {
        return envVars;
    }

    public String defaultUser() {
        return defaultUser;
    }

    /** Null means the user's home. */
    public String defaultWorkdir() {
        return defaultWorkdir;
    }

    public synchronized void apply(InitRequest init) {
        if (init.accessToken() != null && !init.accessToken().isEmpty()) accessToken = init.accessToken();
        if (init.envVars() != null) {
            var merged = new TreeMap<>(envVars);
            merged.putAll(init.envVars());
            envVars = Map.copyOf(merged);
        }
        if (init.defaultUser() != null && !init.defaultUser().isEmpty()) defaultUser = init.defaultUser();
        if (init.defaultWorkdir() != null && !init.defaultWorkdir().isEmpty()) defaultWorkdir = init.defaultWorkdir();
    }
}
