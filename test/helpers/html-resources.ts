/**
 * Every place an HTML page could make the browser fetch something: src/href/srcset/action/poster/
 * data attributes, xlink:href, CSS url(...) and @import. Returns those pointing off the page
 * (http:, https:, protocol-relative //).
 */
export function externalResourceRefs(html: string): string[] {
  const refs: string[] = [];
  const attr =
    /\b(?:src|href|xlink:href|srcset|action|formaction|poster|data|background|ping|manifest|cite)\s*=\s*("([^"]*)"|'([^']*)'|([^\s>]+))/gi;
  for (const m of html.matchAll(attr)) refs.push(m[2] ?? m[3] ?? m[4] ?? '');
  for (const m of html.matchAll(/url\(\s*['"]?([^'")]+)/gi)) refs.push(m[1] ?? '');
  for (const m of html.matchAll(/@import\s+(?:url\()?\s*['"]?([^'");\s]+)/gi)) refs.push(m[1] ?? '');
  return refs.filter((r) => /^\s*(?:https?:)?\/\//i.test(r));
}
