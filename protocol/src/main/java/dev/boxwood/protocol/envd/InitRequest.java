package dev.boxwood.protocol.envd;

import com.fasterxml.jackson.annotation.JsonAlias;
import java.util.Map;

/**
 * Body of the agent's {@code POST /init}: sent once by the server after the sandbox boots, with header
 * {@code X-Boxwood-Init-Token}. Every field may be null (left unchanged).
 */
public record InitRequest(
        @JsonAlias("access_token") String accessToken,
        @JsonAlias("env_vars") Map<String, String> envVars,
        @JsonAlias("default_user") String defaultUser,
        @JsonAlias("default_workdir") String defaultWorkdir) {}
