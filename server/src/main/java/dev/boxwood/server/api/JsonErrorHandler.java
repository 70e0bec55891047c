package dev.boxwood.server.api;

import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/** Jetty's own errors (bad request line, oversized headers, ...) in E2B's JSON shape instead of HTML. */
public final class JsonErrorHandler extends ErrorHandler {
    @Override
    protected void generateResponse(Request request, Response response, int code, String message, Throwable cause,
                                    Callback callback) {
        String text = message != null && !message.isBlank() ? message
                : org.eclipse.jetty.http.HttpStatus.getMessage(code);
        HttpJson.error(response, callback, code, text);
    }
}
