package dev.boxwood.agent.connect;

import java.util.function.Supplier;

/** One RPC: its request type and its body. */
public sealed interface Method permits Method.Unary, Method.ServerStream {
    Class<?> requestType();

    interface UnaryBody<Q, R> {
        R call(Call call, Q request) throws Exception;
    }

    interface StreamBody<Q, R> {
        /** Returns normally to end the stream with {@code {}}; throws ConnectError to end it with that error. */
        void call(Call call, Q request, StreamSink<R> sink) throws Exception;
    }

    record Unary<Q, R>(Class<Q> requestType, UnaryBody<Q, R> body) implements Method {}

    /** {@code keepalive} builds the message sent after each idle keepalive interval. */
    record ServerStream<Q, R>(Class<Q> requestType, StreamBody<Q, R> body, Supplier<R> keepalive)
            implements Method {}

    static <Q, R> Method unary(Class<Q> type, UnaryBody<Q, R> body) {
        return new Unary<>(type, body);
    }

    static <Q, R> Method serverStream(Class<Q> type, StreamBody<Q, R> body, Supplier<R> keepalive) {
        return new ServerStream<>(type, body, keepalive);
    }
}
