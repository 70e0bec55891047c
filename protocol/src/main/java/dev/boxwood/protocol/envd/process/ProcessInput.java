package dev.boxwood.protocol.envd.process;

/** process.ProcessInput: oneof stdin or pty bytes (base64 on the wire). */
public record ProcessInput(byte[] stdin, byte[] pty) {}
