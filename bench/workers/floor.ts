/** The preflight floor: a constant 204, with no routing and no CORS work. */
export default {
  fetch: () => new Response(null, { status: 204 }),
} satisfies ExportedHandler;
