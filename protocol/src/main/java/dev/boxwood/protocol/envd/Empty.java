package dev.boxwood.protocol.envd;

/** Any empty response message ({@code {}}): UpdateResponse, SendInputResponse, RemoveResponse, ... */
public record Empty() {}
