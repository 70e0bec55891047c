package dev.boxwood.sdk.code;

/**
 * An independent interpreter state (a kernel): variables defined in one context are invisible to others.
 *
 * @param id       its ID
 * @param language its language ({@code python}, {@code javascript}, ...)
 * @param cwd      its working directory
 */
public record CodeContext(String id, String language, String cwd) {}
