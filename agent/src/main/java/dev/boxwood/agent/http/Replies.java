package dev.boxwood.agent.http;

import dev.boxwood.protocol.Json;
import dev.boxwood.protocol.envd.ErrorBody;
import java.nio.ByteBuffer;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/** Complete (non-streamed) responses. */
public final class Replies {
    private Replies() {}

    public static void empty(Response response, Callback callback, int status) {
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, 0);
        response.write(true, null, callback);
    }

    public static void json(Response response, Callback callback, int status, Object body) {
        byte[] bytes;
        try {
            bytes = Json.mapper().writeValueAsBytes(body);
        } catch (Exception e) {
            throw new IllegalStateException("cannot serialize " + body.getClass(), e);
        }
        bytes(response, callback, status, "application/json", bytes);
    }

    public static void bytes(Response response, Callback callback, int status, String type, byte[] bytes) {
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, type);
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, bytes.length);
        response.write(true, ByteBuffer.wrap(bytes), callback);
    }

    /** envd's REST error shape, {@code {"code":status,"message":...}}. */
    public static void error(Response response, Callback callback, int status, String message) {
        byte[] bytes;
        try {
            bytes = Json.mapper().writeValueAsBytes(new ErrorBody(status, message));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        bytes(response, callback, status, "application/json; charset=utf-8", bytes);
    }
}
