package dev.boxwood.server.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.regex.Pattern;

/** The shape of API keys: {@code e2b_} + 40 hex digits, which both E2B SDK generations accept. */
public final class ApiKeys {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Pattern FORMAT = Pattern.compile("e2b_[0-9a-f]{40}");
    /** How much of a key is kept in clear so that people can tell keys apart in {@code keys list}. */
    public static final int VISIBLE_PREFIX = 12;

    private ApiKeys() {}

    public static String generate() {
        return "e2b_" + randomHex(20);
    }

    public static boolean wellFormed(String key) {
        return key != null && FORMAT.matcher(key).matches();
    }

    /** What the database stores instead of the key. */
    public static String hash(String key) {
        return sha256Hex(key);
    }

    public static String visiblePrefix(String key) {
        return key.substring(0, Math.min(VISIBLE_PREFIX, key.length()));
    }

    public static String randomHex(int bytes) {
        byte[] b = new byte[bytes];
        RANDOM.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    static String sha256Hex(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
