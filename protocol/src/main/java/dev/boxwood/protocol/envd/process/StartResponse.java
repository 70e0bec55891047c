package dev.boxwood.protocol.envd.process;

/** process.StartResponse: one streamed event of Start. */
public record StartResponse(ProcessEvent event) {}
