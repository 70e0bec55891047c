package dev.boxwood.server.auth;

import dev.boxwood.server.api.ApiException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;

/**
 * Token buckets for the control-plane API: one per valid API key, and one per client IP for requests that carry no
 * key or a wrong one, so that guessing keys or flooding without one is limited too. Over the limit a request gets
 * 429 with {@code Retry-After}. A rate of 0 turns limiting off.
 */
public final class RateLimiter {
    /** Buckets idle this long are full again anyway; dropping them bounds memory under a flood from many IPs. */
    private static final long IDLE_NANOS = 10 * 60 * 1_000_000_000L;
    private static final int SWEEP_EVERY = 4096;

    private final double perSecond;
    private final double burst;
    private final ConcurrentHashMap<String, Bucket> buckets = new ConcurrentHashMap<>();
    private final java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();

    /**
     * @param perSecond tokens added per second; 0 or less turns limiting off
     * @param burst     most requests admitted at once after a quiet period (at least 1)
     */
    public RateLimiter(double perSecond, int burst) {
        this.perSecond = perSecond;
        this.burst = Math.max(1, burst);
    }

    public boolean enabled() {
        return perSecond > 0;
    }

    /**
     * Authenticates and charges the request to its key's bucket, or to its client IP's when it has no valid key.
     * Keyless requests are charged before anything else is done for them.
     */
    public <T> T admit(Request request, Response response, Function<Request, T> authenticate) {
        if (!enabled()) return authenticate.apply(request);
        String key = request.getHeaders().get("X-API-Key");
        if (key == null || key.isBlank()) {
            take("ip:" + Request.getRemoteAddr(request), response);
            return authenticate.apply(request);
        }
        T team;
        try {
            team = authenticate.apply(request);
        } catch (ApiException e) {
            take("ip:" + Request.getRemoteAddr(request), response);
            throw e;
        }
        // Keys are held only as hashes elsewhere; the limiter does the same.
        take("key:" + sha256(key.trim()), response);
        return team;
    }

    /** Takes one token or throws 429 with {@code Retry-After} set on the response. */
    void take(String bucketName, Response response) {
        long now = System.nanoTime();
        if (calls.incrementAndGet() % SWEEP_EVERY == 0) {
            buckets.values().removeIf(b -> b.idleSince(now) > IDLE_NANOS);
        }
        Bucket bucket = buckets.computeIfAbsent(bucketName, k -> new Bucket(burst, now));
        double wait = bucket.take(now, perSecond, burst);
        if (wait > 0) {
            long seconds = Math.max(1, (long) Math.ceil(wait));
            response.getHeaders().put("Retry-After", Long.toString(seconds));
            throw new ApiException(429, "rate limit exceeded: at most " + format(perSecond) + " requests per second"
                    + " (burst " + (long) burst + "); retry after " + seconds + " s");
        }
    }

    private static String format(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }

    private static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static final class Bucket {
        private double tokens;
        private long last;

        Bucket(double tokens, long now) {
            this.tokens = tokens;
            this.last = now;
        }

        /** 0 when a token was taken, else the seconds until one will be there. */
        synchronized double take(long now, double perSecond, double burst) {
            tokens = Math.min(burst, tokens + (now - last) / 1e9 * perSecond);
            last = now;
            if (tokens >= 1) {
                tokens -= 1;
                return 0;
            }
            return (1 - tokens) / perSecond;
        }

        synchronized long idleSince(long now) {
            return now - last;
        }
    }
}
