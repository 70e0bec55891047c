package dev.boxwood.protocol.envd;

import java.util.Map;

/** One element of {@code POST /files}'s response array; {@code type} is {@code "file"} (REST spelling). */
public record WrittenFile(String path, String name, String type, Map<String, String> metadata) {}
