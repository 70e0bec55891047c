package dev.boxwood.agent.connect;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.boxwood.agent.http.AgentHandler;
import dev.boxwood.agent.http.Bodies;
import dev.boxwood.agent.users.Users;
import dev.boxwood.protocol.Json;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Connect protocol (JSON codec, HTTP/1.1) for unary and server-streaming RPCs at {@code /<service>/<method>}.
 * Unary: {@code application/json} in and out, errors as a JSON body with the mapped HTTP status. Server streams:
 * {@code application/connect+json}, one request envelope, response envelopes flushed one by one, ending with the
 * end-of-stream envelope (flag 0x02) holding {@code {}} or {@code {"error":...}}; stream errors keep HTTP 200.
 */
public final class ConnectRouter implements AgentHandler.Route {
    private static final Logger LOG = LoggerFactory.getLogger(ConnectRouter.class);
    /**
     * Largest request message. The agent runs with a 64 MiB heap, and a SendInput body is held three times over
     * (raw, parsed, decoded), so a bigger cap would let a few concurrent calls exhaust it.
     */
    public static final int MAX_MESSAGE = 4 << 20;

    private final Map<String, Method> methods = new HashMap<>();
    private final Users users;

    public ConnectRouter(Users users) {
        this.users = users;
    }

    /** Registers {@code /<service>/<name>}, e.g. service {@code process.Process}, name {@code Start}. */
    public ConnectRouter add(String service, String name, Method method) {
        methods.put("/" + service + "/" + name, method);
        return this;
    }

    @Override
    public void handle(Request request, Response response, Callback callback) throws Exception {
        String path = Request.getPathInContext(request);
        Method method = methods.get(path);
        if (method == null) {
            Bodies.discard(request);
            unaryError(response, callback, new ConnectError(Code.UNIMPLEMENTED, path + " is not implemented"));
            return;
        }
        if (!request.getMethod().equals("POST")) {
            response.getHeaders().put(HttpHeader.ALLOW, "POST");
            unaryError(response, callback, 405, new ConnectError(Code.UNIMPLEMENTED, "only POST is supported"));
            return;
        }
        String type = mediaType(request.getHeaders().get(HttpHeader.CONTENT_TYPE));
        switch (method) {
            case Method.Unary<?, ?> unary -> {
                if (!type.equals("application/json")) {
                    Bodies.discard(request);
                    unsupported(response, callback, type, "application/json");
                    return;
                }
                unary(request, response, callback, unary);
            }
            case Method.ServerStream<?, ?> stream -> {
                if (!type.equals("application/connect+json")) {
                    Bodies.discard(request);
                    unsupported(response, callback, type, "application/connect+json");
                    return;
                }
                stream(request, response, callback, stream);
            }
        }
    }

    private <Q, R> void unary(Request request, Response response, Callback callback, Method.Unary<Q, R> method) {
        R result;
        try {
            long deadline = Call.parseDeadline(request.getHeaders().get("Connect-Timeout-Ms"), System.nanoTime());
            byte[] body;
            try {
                body = Bodies.read(request, MAX_MESSAGE);
            } catch (Bodies.TooLarge e) {
                Bodies.discard(request);
                throw ConnectError.resourceExhausted(e.getMessage());
            }
            Q message = parse(body, method.requestType());
            result = method.body().call(new Call(request.getHeaders(), users, deadline), message);
        } catch (ConnectError e) {
            unaryError(response, callback, e);
            return;
        } catch (Exception e) {
            LOG.warn("{} failed", Request.getPathInContext(request), e);
            unaryError(response, callback, ConnectError.internal(e.toString()));
            return;
        }
        byte[] bytes;
        try {
            bytes = Json.mapper().writeValueAsBytes(result);
        } catch (JacksonException e) {
            unaryError(response, callback, ConnectError.internal("cannot encode the response: " + e.getMessage()));
            return;
        }
        response.setStatus(200);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, bytes.length);
        response.write(true, ByteBuffer.wrap(bytes), callback);
    }

    private <Q, R> void stream(Request request, Response response, Callback callback,
                               Method.ServerStream<Q, R> method) {
        response.setStatus(200);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/connect+json");
        OutputStream out = Content.Sink.asOutputStream(response);
        Sink<R> sink = new Sink<>(out, response);
        ConnectError failure = null;
        Thread keepalive = null;
        try {
            long deadline = Call.parseDeadline(request.getHeaders().get("Connect-Timeout-Ms"), System.nanoTime());
            byte[] body;
            try (InputStream in = Content.Source.asInputStream(request)) {
                body = Envelopes.readRequest(in, MAX_MESSAGE);
            }
            Q message = parse(body, method.requestType());
            Call call = new Call(request.getHeaders(), users, deadline);
            keepalive = Thread.ofVirtual().name("keepalive").start(
                    () -> sink.keepalive(call.keepaliveSeconds() * 1000, method.keepalive()));
            method.body().call(call, message, sink);
        } catch (ConnectError e) {
            failure = e;
        } catch (Bodies.TooLarge e) {
            failure = ConnectError.resourceExhausted(e.getMessage());
        } catch (IOException e) {
            if (sink.broken) {
                // the client went away; there is nobody to tell
                if (keepalive != null) keepalive.interrupt();
                callback.failed(e);
                return;
            }
            failure = ConnectError.invalidArgument("cannot read the request: " + e.getMessage());
        } catch (Exception e) {
            LOG.warn("{} failed", Request.getPathInContext(request), e);
            failure = ConnectError.internal(e.toString());
        } finally {
            if (keepalive != null) keepalive.interrupt();
        }
        try {
            sink.end(failure);
            callback.succeeded();
        } catch (IOException e) {
            callback.failed(e);
        }
    }

    private static <Q> Q parse(byte[] body, Class<Q> type) {
        try {
            if (body.length == 0) body = "{}".getBytes();
            Q message = Json.mapper().readValue(body, type);
            if (message == null) message = Json.mapper().readValue("{}", type);
            return message;
        } catch (ConnectError e) {
            throw e;
        } catch (JacksonException e) {
            throw ConnectError.invalidArgument("malformed request: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw ConnectError.invalidArgument("malformed request: " + e.getMessage());
        } catch (IllegalArgumentException e) {
            throw ConnectError.invalidArgument("malformed request: " + e.getMessage());
        }
    }

    private static String mediaType(String contentType) {
        if (contentType == null) return "";
        int semi = contentType.indexOf(';');
        return (semi < 0 ? contentType : contentType.substring(0, semi)).trim().toLowerCase();
    }

    private static void unsupported(Response response, Callback callback, String got, String want) {
        unaryError(response, callback, 415, new ConnectError(Code.INVALID_ARGUMENT,
                "unsupported content type '" + got + "', expected " + want));
    }

    private static void unaryError(Response response, Callback callback, ConnectError e) {
        unaryError(response, callback, e.code().httpStatus(), e);
    }

    private static void unaryError(Response response, Callback callback, int status, ConnectError e) {
        byte[] bytes = errorJson(e).toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, bytes.length);
        response.write(true, ByteBuffer.wrap(bytes), callback);
    }

    static ObjectNode errorJson(ConnectError e) {
        ObjectNode node = JsonNodeFactory.instance.objectNode();
        node.put("code", e.code().wire());
        if (e.getMessage() != null && !e.getMessage().isEmpty()) node.put("message", e.getMessage());
        return node;
    }

    /**
     * Serializes writes from the RPC body and the keepalive thread; remembers when it last wrote. A last message
     * waits for the end-of-stream envelope, and both go out with the response's final chunk in one write.
     */
    private static final class Sink<R> implements StreamSink<R> {
        private final OutputStream out;
        private final Response response;
        private final ReentrantLock lock = new ReentrantLock();
        private volatile long lastWrite = System.nanoTime();
        private volatile boolean broken;
        private boolean ended;
        private byte[] held;

        Sink(OutputStream out, Response response) {
            this.out = out;
            this.response = response;
        }

        @Override
        public void send(R message) throws IOException {
            write(0, Json.mapper().writeValueAsBytes(message));
        }

        @Override
        public void sendLast(R message) throws IOException {
            byte[] frame = Envelopes.frame(0, Json.mapper().writeValueAsBytes(message));
            lock.lock();
            try {
                if (broken) throw new IOException("client disconnected");
                if (ended) throw new IOException("stream already ended");
                held = held == null ? frame : concat(held, frame);
            } finally {
                lock.unlock();
            }
        }

        private static byte[] concat(byte[] a, byte[] b) {
            byte[] both = java.util.Arrays.copyOf(a, a.length + b.length);
            System.arraycopy(b, 0, both, a.length, b.length);
            return both;
        }

        @Override
        public boolean isOpen() {
            return !broken && !ended;
        }

        void end(ConnectError failure) throws IOException {
            ObjectNode end = JsonNodeFactory.instance.objectNode();
            if (failure != null) end.set("error", errorJson(failure));
            write(Envelopes.END_STREAM, end.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }

        private void write(int flags, byte[] payload) throws IOException {
            lock.lock();
            try {
                if (broken) throw new IOException("client disconnected");
                if (ended) throw new IOException("stream already ended");
                byte[] frame = Envelopes.frame(flags, payload);
                if (held != null) {
                    frame = concat(held, frame);
                    held = null;
                }
                if (flags == Envelopes.END_STREAM) {
                    ended = true;
                    // the response's last write: the frames and the final chunk together
                    Content.Sink.write(response, true, ByteBuffer.wrap(frame));
                } else {
                    out.write(frame);
                    out.flush();
                }
                lastWrite = System.nanoTime();
            } catch (IOException e) {
                broken = true;
                throw e;
            } finally {
                lock.unlock();
            }
        }

        void keepalive(long intervalMillis, java.util.function.Supplier<R> message) {
            try {
                while (!Thread.currentThread().isInterrupted()) {
                    long idle = (System.nanoTime() - lastWrite) / 1_000_000;
                    if (idle >= intervalMillis) {
                        send(message.get());
                        continue;
                    }
                    Thread.sleep(intervalMillis - idle);
                }
            } catch (InterruptedException | IOException e) {
                // stream over or client gone: the RPC body notices on its next send
            }
        }
    }
}
