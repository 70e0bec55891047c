package dev.boxwood.agent.users;

import dev.boxwood.agent.Settings;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Optional;

/** Picks the user a request acts as: the Basic-auth user name, else the sandbox default from /init. */
public final class Users {
    private final Accounts accounts;
    private final Settings settings;

    public Users(Accounts accounts, Settings settings) {
        this.accounts = accounts;
        this.settings = settings;
    }

    public Accounts accounts() {
        return accounts;
    }

    /** The named user, or the default one for a null or empty name; empty when no such user exists. */
    public Optional<Account> byName(String name) {
        return accounts.byName(name == null || name.isEmpty() ? settings.defaultUser() : name);
    }

    /**
     * The user named by {@code Authorization: Basic base64("<user>:")}; empty when the header names no known user.
     * A header that is absent or not Basic selects the default user, as envd does.
     */
    public Optional<Account> fromAuthorization(String header) {
        if (header == null || !header.regionMatches(true, 0, "Basic ", 0, 6)) return byName(null);
        String decoded;
        try {
            decoded = new String(Base64.getDecoder().decode(header.substring(6).trim()), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
        int colon = decoded.indexOf(':');
        String name = colon < 0 ? decoded : decoded.substring(0, colon);
        return name.isEmpty() ? byName(null) : accounts.byName(name);
    }
}
