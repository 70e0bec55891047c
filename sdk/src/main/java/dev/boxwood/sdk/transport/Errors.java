package dev.boxwood.sdk.transport;

import com.fasterxml.jackson.databind.JsonNode;
import dev.boxwood.sdk.AuthenticationException;
import dev.boxwood.sdk.InvalidArgumentException;
import dev.boxwood.sdk.NotEnoughSpaceException;
import dev.boxwood.sdk.NotFoundException;
import dev.boxwood.sdk.RateLimitException;
import dev.boxwood.sdk.SandboxException;
import dev.boxwood.sdk.SandboxNotFoundException;
import dev.boxwood.sdk.TimeoutException;
import java.nio.charset.StandardCharsets;

/** Turns error answers into the SDK's typed exceptions, keeping the server's message. */
public final class Errors {
    private Errors() {}

    /**
     * Maps an HTTP error answer whose body is {@code {"code":<int>,"message":"..."}} (control plane, agent REST,
     * proxy). The numeric {@code code} in the body wins over the HTTP status, as in the official SDKs.
     *
     * @param sandboxScoped true when a 404 means the sandbox itself is unknown
     */
    public static SandboxException fromHttp(int status, byte[] body, boolean sandboxScoped) {
        JsonNode json = Json.parseOrNull(body);
        int code = status;
        String message = null;
        if (json != null && json.isObject()) {
            if (json.path("code").canConvertToInt()) {
                code = json.path("code").asInt();
            }
            message = Json.text(json, "message");
        }
        if (message == null) {
            message = body == null || body.length == 0 ? "HTTP " + status : new String(body, StandardCharsets.UTF_8).strip();
        }
        return switch (code) {
            case 400 -> new InvalidArgumentException(message, status, null, null);
            case 401, 403 -> new AuthenticationException(message, status, null, null);
            case 404 -> sandboxScoped
                    ? new SandboxNotFoundException(message, status, null, null)
                    : new NotFoundException(message, status, null, null);
            case 429 -> new RateLimitException(message, status, null, null);
            // A proxy answers 502 for a sandbox that is gone, which usually means it timed out.
            case 502 -> new TimeoutException("the sandbox is not running or timed out: " + message, status, null, null);
            case 504 -> new TimeoutException(message, status, null, null);
            case 507 -> new NotEnoughSpaceException(message, status, null, null);
            default -> new SandboxException(code + ": " + message, status, null, null);
        };
    }

    /** Maps a Connect error (code string such as {@code not_found}) to an exception. */
    public static SandboxException fromConnect(String code, String message, int status) {
        String msg = message == null || message.isEmpty() ? code : message;
        return switch (code) {
            case "invalid_argument" -> new InvalidArgumentException(msg, status, code, null);
            case "unauthenticated", "permission_denied" -> new AuthenticationException(msg, status, code, null);
            case "not_found" -> new NotFoundException(msg, status, code, null);
            case "resource_exhausted" -> new RateLimitException(msg, status, code, null);
            case "unavailable" -> new TimeoutException("the sandbox is not running or timed out: " + msg, status, code, null);
            case "canceled" -> new TimeoutException("the request was canceled or timed out: " + msg, status, code, null);
            case "deadline_exceeded" -> new TimeoutException("the operation's timeout passed: " + msg, status, code, null);
            default -> new SandboxException(code + ": " + msg, status, code, null);
        };
    }

    /** The Connect code implied by an HTTP status when the body carries none (Connect protocol's table). */
    public static String connectCodeForStatus(int status) {
        return switch (status) {
            case 400 -> "internal";
            case 401 -> "unauthenticated";
            case 403 -> "permission_denied";
            case 404 -> "unimplemented";
            case 429, 502, 503, 504 -> "unavailable";
            default -> "unknown";
        };
    }
}
