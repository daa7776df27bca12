/**
 * A wrapped binding that stands in for `CORS_POLICY` in the many-hostnames
 * benchmark: hostname `hN.tenants.test` has a policy of its own, made up on
 * each read (100,000 keys need not be written first), `default` holds the load
 * policy, anything else nothing. Each read is counted in Node through `COUNT`.
 */
import { LOAD_POLICY } from "../policies.js";

interface Inner {
  COUNT: Fetcher;
}

const TENANT = /^h(\d+)\.tenants\.test$/;

/** The policy text of a tenant hostname, which allows that tenant's app only. */
export function tenantPolicy(n: number): string {
  return JSON.stringify({ ...LOAD_POLICY, origins: [`https://app.h${n}.tenants.test`] });
}

export default function wrap(env: Inner): Pick<KVNamespace, "get"> {
  return {
    async get(key: string, options?: { type?: string }) {
      await env.COUNT.fetch("http://count/");
      const tenant = TENANT.exec(key);
      const text = tenant ? tenantPolicy(Number(tenant[1])) : key === "default" ? JSON.stringify(LOAD_POLICY) : null;
      if (text === null) return null;
      return options?.type === "stream" ? new Blob([text]).stream() : text;
    },
  } as Pick<KVNamespace, "get">;
}
