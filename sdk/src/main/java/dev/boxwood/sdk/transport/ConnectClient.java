package dev.boxwood.sdk.transport;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * A small client for the Connect protocol (version 1) with the JSON codec: unary calls and server-streaming calls,
 * which is all the agent's {@code process.Process} and {@code filesystem.Filesystem} services need.
 */
public final class ConnectClient {
    /** How often the agent should send keepalive events on an idle stream, in seconds (as the official SDKs ask). */
    static final String KEEPALIVE_SECONDS = "50";

    private final SandboxEndpoint endpoint;

    public ConnectClient(SandboxEndpoint endpoint) {
        this.endpoint = endpoint;
    }

    public SandboxEndpoint endpoint() {
        return endpoint;
    }

    /**
     * Calls a unary RPC such as {@code process.Process/List}.
     *
     * @param user the user the call runs as ({@code Authorization: Basic}), or null for the sandbox default
     * @throws dev.boxwood.sdk.SandboxException the mapped Connect error
     */
    public JsonNode unary(String procedure, JsonNode message, String user) {
        HttpRequest.Builder b = endpoint.request("/" + procedure)
                .header("Content-Type", "application/json")
                .header("Connect-Protocol-Version", "1")
                .POST(HttpRequest.BodyPublishers.ofByteArray(Json.bytes(message)));
        authorize(b, user);
        HttpResponse<byte[]> response = Http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
        if (response.statusCode() == 200) {
            return Json.parse(response.body());
        }
        throw errorFromResponse(response.statusCode(), response.body());
    }

    /**
     * Starts a server-streaming RPC such as {@code process.Process/Start}.
     *
     * @param timeout the stream's deadline, sent as {@code Connect-Timeout-Ms}; {@link Duration#ZERO} sends none
     */
    public ServerStream stream(String procedure, JsonNode message, String user, Duration timeout) {
        HttpRequest.Builder b = endpoint.request("/" + procedure)
                .header("Content-Type", "application/connect+json")
                .header("Connect-Protocol-Version", "1")
                .header("Keepalive-Ping-Interval", KEEPALIVE_SECONDS)
                .POST(HttpRequest.BodyPublishers.ofByteArray(new Envelope(0, Json.bytes(message)).encode()));
        if (timeout != null && !timeout.isZero()) {
            b.header("Connect-Timeout-Ms", Long.toString(timeout.toMillis()));
        }
        authorize(b, user);
        HttpResponse<InputStream> response = Http.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
        if (response.statusCode() != 200) {
            throw errorFromResponse(response.statusCode(), Http.drain(response.body()));
        }
        return new ServerStream(response.body(), procedure);
    }

    private void authorize(HttpRequest.Builder b, String user) {
        String effective = endpoint.effectiveUser(user);
        if (effective != null) {
            b.header("Authorization", SandboxEndpoint.basicAuth(effective));
        }
    }

    /** A Connect error answer: the JSON body's string {@code code} wins; otherwise the HTTP status decides. */
    static dev.boxwood.sdk.SandboxException errorFromResponse(int status, byte[] body) {
        JsonNode json = Json.parseOrNull(body);
        if (json != null && json.path("code").isTextual()) {
            return Errors.fromConnect(json.path("code").asText(), Json.text(json, "message"), status);
        }
        String message = json != null && json.hasNonNull("message") ? json.get("message").asText()
                : body == null || body.length == 0 ? "HTTP " + status
                : new String(body, java.nio.charset.StandardCharsets.UTF_8).strip();
        return Errors.fromConnect(Errors.connectCodeForStatus(status), message, status);
    }
}
