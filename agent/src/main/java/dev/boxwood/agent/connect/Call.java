package dev.boxwood.agent.connect;

import dev.boxwood.agent.users.Account;
import dev.boxwood.agent.users.Users;
import org.eclipse.jetty.http.HttpFields;

/** What an RPC body may ask about its call: the acting user, the deadline, the keepalive interval. */
public final class Call {
    /** envd's keepalive when the client sends no {@code Keepalive-Ping-Interval}. */
    static final long DEFAULT_KEEPALIVE_SECONDS = 90;

    private final HttpFields headers;
    private final Users users;
    private final long deadlineNanos;

    Call(HttpFields headers, Users users, long deadlineNanos) {
        this.headers = headers;
        this.users = users;
        this.deadlineNanos = deadlineNanos;
    }

    /** The user named by the Basic authorization header, or the default user; unknown → unauthenticated. */
    public Account user() {
        return users.fromAuthorization(headers.get("Authorization"))
                .orElseThrow(() -> ConnectError.unauthenticated("invalid username"));
    }

    public boolean hasDeadline() {
        return deadlineNanos != Long.MAX_VALUE;
    }

    /** {@link System#nanoTime()} at which the call's {@code Connect-Timeout-Ms} expires, or Long.MAX_VALUE. */
    public long deadlineNanos() {
        return deadlineNanos;
    }

    public long keepaliveSeconds() {
        String v = headers.get("Keepalive-Ping-Interval");
        if (v != null) {
            try {
                long s = Long.parseLong(v.trim());
                if (s > 0) return s;
            } catch (NumberFormatException ignored) {
                // fall back to the default, as envd does
            }
        }
        return DEFAULT_KEEPALIVE_SECONDS;
    }

    /** Parses {@code Connect-Timeout-Ms}: at most 10 digits, per the Connect spec. */
    static long parseDeadline(String header, long nowNanos) {
        if (header == null) return Long.MAX_VALUE;
        String v = header.trim();
        if (v.isEmpty() || v.length() > 10 || !v.chars().allMatch(Character::isDigit)) {
            throw ConnectError.invalidArgument("invalid Connect-Timeout-Ms: " + header);
        }
        long ms = Long.parseLong(v);
        return nowNanos + ms * 1_000_000L;
    }
}
