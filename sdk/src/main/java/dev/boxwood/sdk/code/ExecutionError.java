package dev.boxwood.sdk.code;

/**
 * An error raised by the executed code (not by the SDK): for Python e.g. {@code NameError}.
 *
 * @param name      the error's class name
 * @param value     its message
 * @param traceback the traceback as the kernel printed it
 */
public record ExecutionError(String name, String value, String traceback) {}
