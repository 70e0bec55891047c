/**
 * The code interpreter: the types of {@code Sandbox.runCode} ({@link dev.boxwood.sdk.code.Execution},
 * {@link dev.boxwood.sdk.code.Result}, {@link dev.boxwood.sdk.code.RunCodeOptions}) and code contexts.
 */
package dev.boxwood.sdk.code;
