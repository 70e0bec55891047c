package dev.boxwood.protocol.envd.process;

import java.util.List;
import java.util.Map;

/** process.ProcessConfig: what to run. {@code cwd} null means the user's home. */
public record ProcessConfig(String cmd, List<String> args, Map<String, String> envs, String cwd) {}
