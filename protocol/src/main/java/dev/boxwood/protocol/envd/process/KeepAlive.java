package dev.boxwood.protocol.envd.process;

/** process.ProcessEvent.KeepAlive: sent on idle streams so proxies keep them open; clients ignore it. */
public record KeepAlive() {}
