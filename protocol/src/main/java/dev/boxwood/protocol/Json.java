package dev.boxwood.protocol;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;

/**
 * The JSON conventions of envd's wire (proto3 canonical JSON as protobuf-es writes it): default values are left out,
 * unknown fields are ignored, empty messages serialize as {@code {}}. Wire records that need a field sent even when it
 * holds its default (proto3 {@code optional}, empty oneof members) say so with their own {@code @JsonInclude}.
 */
public final class Json {
    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
            .serializationInclusion(JsonInclude.Include.NON_DEFAULT)
            .build();

    private Json() {}

    /** A shared, thread-safe mapper configured for envd's wire. */
    public static ObjectMapper mapper() {
        return MAPPER;
    }
}
