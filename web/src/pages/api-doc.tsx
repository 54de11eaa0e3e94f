// The OpenAPI document rendered by Scalar (api.html, its standalone bundle served from this site),
// in a same-origin frame so its styles and scripts stay out of the console.
export function ApiPage() {
  return (
    <section class="page page-api">
      <div class="page-head">
        <h1 tabIndex={-1}>API</h1>
        <a href="/api.html" target="_blank" rel="noopener">
          Open in its own tab
        </a>
      </div>
      <iframe class="api-frame" src="/api.html" title="Switchyard control API reference" />
    </section>
  );
}
