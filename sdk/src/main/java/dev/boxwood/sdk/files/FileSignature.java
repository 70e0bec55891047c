package dev.boxwood.sdk.files;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;

/**
 * The v1 signature that lets a URL read or write one file without the access token: {@code v1_} followed by the
 * unpadded base64 of SHA-256 over {@code <path>:<operation>:<username>:<accessToken>[:<expiration>]}.
 */
public final class FileSignature {
    private FileSignature() {}

    /**
     * @param path        the path exactly as it appears in the URL's {@code path} parameter
     * @param operation   {@code read} or {@code write}
     * @param username    the URL's {@code username}, or null when it carries none
     * @param accessToken the sandbox's agent access token
     * @param expiration  the unix second the signature stops working, or null for never
     */
    public static String compute(String path, String operation, String username, String accessToken,
                                 Long expiration) {
        String raw = path + ":" + operation + ":" + (username == null ? "" : username) + ":" + accessToken
                + (expiration == null ? "" : ":" + expiration);
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256").digest(raw.getBytes(StandardCharsets.UTF_8));
            return "v1_" + Base64.getEncoder().withoutPadding().encodeToString(hash);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }
}
