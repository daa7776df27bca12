// Bindings that wrangler.toml leaves commented out, so `wrangler types` does not generate them.
declare namespace Cloudflare {
  interface Env {
    /** An origin that is a Worker: a service binding, used in place of ORIGIN_URL when bound. */
    ORIGIN?: Fetcher;
  }
}
