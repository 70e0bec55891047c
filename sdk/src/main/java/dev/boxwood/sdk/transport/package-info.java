/**
 * The SDK's wire layer: HTTP requests, the Connect protocol (JSON codec, unary calls and server-streaming envelopes)
 * and the mapping of error answers to the SDK's exceptions. Public only so the SDK's packages can share it; it is
 * not a stable API.
 */
package dev.boxwood.sdk.transport;
