package dev.boxwood.protocol.envd;

import com.fasterxml.jackson.annotation.JsonInclude;

/** envd's REST error body: {@code {"code":<http status>,"message":"..."}}. */
@JsonInclude(JsonInclude.Include.ALWAYS)
public record ErrorBody(int code, String message) {}
