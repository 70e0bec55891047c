package dev.boxwood.server.snapshot;

import java.time.Instant;

/**
 * A sandbox's filesystem kept as a template other sandboxes start from.
 *
 * @param id         the template id it is created from (E2B's {@code snapshotID})
 * @param sandboxId  the sandbox it was taken of
 * @param templateId the template that sandbox ran (the layers under this one)
 * @param fork       a fork's hidden snapshot, removed with the last sandbox that runs from it
 * @param name       the team's name for it, or null
 * @param sizeBytes  what its layer takes on disk, charged to the team
 */
public record Snapshot(String id, String teamId, String sandboxId, String templateId, boolean fork, String name,
                       long sizeBytes, Instant createdAt) {}
