package dev.boxwood.protocol.envd;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;

/**
 * envd's {@code v1_} signatures for {@code /files} URLs: base64 (standard, unpadded) SHA-256 of
 * {@code path:operation:username:accessToken[:expiration]}; {@code username} is empty when the URL has none.
 */
public final class FileSignatures {
    public static final String READ = "read";
    public static final String WRITE = "write";

    private FileSignatures() {}

    /** {@code expiration} in unix seconds, or null for a signature that never expires. */
    public static String sign(String path, String operation, String username, String accessToken, Long expiration) {
        String text = path + ":" + operation + ":" + (username == null ? "" : username) + ":" + accessToken
                + (expiration == null ? "" : ":" + expiration);
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
            return "v1_" + Base64.getEncoder().withoutPadding().encodeToString(hash);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
