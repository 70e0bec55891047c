package dev.boxwood.protocol.envd.process;

/** process.ConnectResponse: one streamed event of Connect. */
public record ConnectResponse(ProcessEvent event) {}
