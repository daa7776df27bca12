/**
 * Domains under which anyone can register a name, so a credentialed pattern
 * over them (`https://*.github.io`) would let every tenant in.
 *
 * The full Public Suffix List is ~40 KiB gzipped, more than the whole worker
 * may weigh, so this is a deliberate subset: every top-level domain, the
 * generic second levels of country domains (`co.uk`, `com.au`), and the
 * shared hosting platforms a browser app is most likely to sit on.
 */

export const HOSTING: ReadonlySet<string> = new Set([
  "github.io", "githubusercontent.com", "gitlab.io", "bitbucket.io", "codeberg.page",
  "pages.dev", "workers.dev", "r2.dev", "trycloudflare.com",
  "vercel.app", "now.sh", "netlify.app", "netlify.com", "herokuapp.com", "herokussl.com",
  "fly.dev", "onrender.com", "railway.app", "up.railway.app", "deno.dev", "deno.net",
  "web.app", "firebaseapp.com", "appspot.com", "run.app", "cloudfunctions.net", "googleapis.com",
  "storage.googleapis.com", "blogspot.com", "withgoogle.com",
  "azurewebsites.net", "azurestaticapps.net", "cloudapp.net", "azureedge.net", "azurefd.net",
  "windows.net", "blob.core.windows.net", "web.core.windows.net",
  "amazonaws.com", "s3.amazonaws.com", "cloudfront.net", "elasticbeanstalk.com", "amplifyapp.com",
  "awsapprunner.com", "on.aws", "lambda-url.us-east-1.on.aws",
  "glitch.me", "repl.co", "replit.app", "replit.dev", "codesandbox.io", "csb.app", "stackblitz.io",
  "webcontainer.io", "surge.sh", "neocities.org", "wordpress.com", "wixsite.com", "squarespace.com",
  "myshopify.com", "webflow.io", "ngrok.io", "ngrok.app", "ngrok-free.app", "ngrok.dev", "loca.lt",
  "localtunnel.me", "serveo.net", "pythonanywhere.com", "digitaloceanspaces.com", "ondigitalocean.app",
  "fastly.net", "global.ssl.fastly.net", "edgecompute.app", "fly.io", "readthedocs.io", "gitbook.io",
  "hf.space", "streamlit.app", "supabase.co", "firebaseio.com", "dyndns.org", "duckdns.org", "no-ip.org",
]);

/** Second-level labels that country registries hand out to the public. */
export const GENERIC_SECOND_LEVEL: ReadonlySet<string> = new Set([
  "ac", "co", "com", "edu", "gov", "go", "gob", "gouv", "govt", "ltd", "me", "mil", "ne", "net",
  "nhs", "nic", "nom", "or", "org", "plc", "sch", "info", "biz", "gen", "firm", "ind", "web",
]);

/** Whether names directly under `domain` are handed out to the public. */
export function isPublicSuffix(domain: string): boolean {
  // Without splitting into labels: a policy may hold 100,000 patterns.
  const dot = domain.indexOf(".");
  if (dot === -1) return true;
  if (HOSTING.has(domain)) return true;
  const twoLabels = domain.indexOf(".", dot + 1) === -1;
  return twoLabels && domain.length - dot - 1 === 2 && GENERIC_SECOND_LEVEL.has(domain.slice(0, dot));
}
