package dev.boxwood.protocol.envd.process;

/** process.ProcessEvent.DataEvent: oneof stdout, stderr or pty bytes. */
public record DataEvent(byte[] stdout, byte[] stderr, byte[] pty) {}
