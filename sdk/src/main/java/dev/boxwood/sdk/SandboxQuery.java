package dev.boxwood.sdk;

import java.time.Instant;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Filters for {@link Sandbox#list(SandboxQuery)}: exact-match metadata, states, template, start time, order and
 * page size.
 *
 * <pre>{@code
 * SandboxQuery q = SandboxQuery.builder().metadata("user", "alice").state(SandboxState.RUNNING).limit(20).build();
 * }</pre>
 */
public record SandboxQuery(Map<String, String> metadata, Set<SandboxState> states, String template,
                           Instant startedAfter, Boolean ascending, Integer limit) {
    public SandboxQuery {
        metadata = Map.copyOf(metadata);
        states = states.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(states));
        if (limit != null && (limit < 1 || limit > 100)) {
            throw new IllegalArgumentException("limit must be between 1 and 100");
        }
    }

    /** No filter: every sandbox of the team, newest first, the server's page size. */
    public static SandboxQuery all() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builds a {@link SandboxQuery}. */
    public static final class Builder {
        private final Map<String, String> metadata = new LinkedHashMap<>();
        private final Set<SandboxState> states = EnumSet.noneOf(SandboxState.class);
        private String template;
        private Instant startedAfter;
        private Boolean ascending;
        private Integer limit;

        /** Only sandboxes whose metadata has this exact pair (several pairs must all match). */
        public Builder metadata(String key, String value) {
            metadata.put(key, value);
            return this;
        }

        public Builder metadata(Map<String, String> pairs) {
            metadata.putAll(pairs);
            return this;
        }

        /** Only sandboxes in one of the given states (default: all). */
        public Builder state(SandboxState... states) {
            this.states.addAll(java.util.List.of(states));
            return this;
        }

        public Builder template(String templateIdOrAlias) {
            this.template = templateIdOrAlias;
            return this;
        }

        public Builder startedAfter(Instant instant) {
            this.startedAfter = instant;
            return this;
        }

        /** Oldest first instead of the default newest first. */
        public Builder ascending(boolean ascending) {
            this.ascending = ascending;
            return this;
        }

        /** Page size, 1 to 100. */
        public Builder limit(int limit) {
            this.limit = limit;
            return this;
        }

        public SandboxQuery build() {
            return new SandboxQuery(metadata, states, template, startedAfter, ascending, limit);
        }
    }
}
