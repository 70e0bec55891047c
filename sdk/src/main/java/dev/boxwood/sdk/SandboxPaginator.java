package dev.boxwood.sdk;

import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * Pages through {@link Sandbox#list(SandboxQuery)}. Each {@link #nextItems()} fetches one page from the server,
 * following its {@code X-Next-Token} cursor.
 *
 * <pre>{@code
 * SandboxPaginator pages = Sandbox.list(query);
 * while (pages.hasNext()) {
 *     for (SandboxInfo info : pages.nextItems()) { ... }
 * }
 * }</pre>
 */
public final class SandboxPaginator {
    private final ControlPlane api;
    private final SandboxQuery query;
    private String nextToken;
    private boolean hasNext = true;

    SandboxPaginator(ControlPlane api, SandboxQuery query) {
        this.api = api;
        this.query = query;
    }

    /** True until a page came back without a next-page cursor. */
    public boolean hasNext() {
        return hasNext;
    }

    /** The cursor of the next page, or null. */
    public String nextToken() {
        return nextToken;
    }

    /** Fetches the next page. */
    public List<SandboxInfo> nextItems() {
        if (!hasNext) {
            throw new NoSuchElementException("no more sandboxes to list");
        }
        ControlPlane.Page page = api.list(query, nextToken);
        nextToken = page.nextToken();
        hasNext = nextToken != null && !nextToken.isEmpty();
        return page.items();
    }

    /** Fetches every remaining page. */
    public List<SandboxInfo> all() {
        List<SandboxInfo> out = new ArrayList<>();
        while (hasNext()) {
            out.addAll(nextItems());
        }
        return out;
    }
}
