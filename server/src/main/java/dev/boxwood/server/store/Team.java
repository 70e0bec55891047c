package dev.boxwood.server.store;

/** A tenant: it owns API keys and sandboxes and sees only its own. */
public record Team(String id, String name) {}
