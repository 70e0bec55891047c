package dev.boxwood.agent.interpreter.jupyter;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * HMAC-SHA256 over header, parent header, metadata and content, hex-encoded: the signature scheme every Jupyter
 * kernel checks. A kernel drops unsigned or wrongly signed requests silently, so both directions are signed.
 */
public final class MessageSigner {
    private final SecretKeySpec key;

    public MessageSigner(String key) {
        this.key = new SecretKeySpec(key.getBytes(StandardCharsets.US_ASCII), "HmacSHA256");
    }

    public String sign(byte[] header, byte[] parent, byte[] metadata, byte[] content) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(key);
            mac.update(header);
            mac.update(parent);
            mac.update(metadata);
            mac.update(content);
            return HexFormat.of().formatHex(mac.doFinal());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
        }
    }

    /** Constant-time comparison, so a process in the sandbox cannot learn the key byte by byte. */
    public boolean verify(String signature, byte[] header, byte[] parent, byte[] metadata, byte[] content) {
        byte[] expected = sign(header, parent, metadata, content).getBytes(StandardCharsets.US_ASCII);
        return MessageDigest.isEqual(expected, signature.getBytes(StandardCharsets.US_ASCII));
    }
}
