// What the gateway console and the emulator inbox share: the script helpers that keep data out of markup,
// and the base stylesheet. Each page inlines them into its own script and style (one file each, served from
// memory), so the CSP stays 'self' and nothing loads from elsewhere.

/// Script helpers, inserted inside each page's function scope: `$`, `el` (strings become text nodes, never
/// markup), `text` and `details`.
public enum PageScripts {
    public static let domHelpers = #"""
          function $(id) { return document.getElementById(id); }

          // Builds an element; strings become text nodes, so data never turns into markup.
          function el(tag, attributes) {
            var node = document.createElement(tag);
            var key;
            for (key in attributes || {}) {
              if (key === 'text') { node.textContent = attributes[key]; } else { node.setAttribute(key, attributes[key]); }
            }
            for (var i = 2; i < arguments.length; i++) {
              var child = arguments[i];
              if (child === null || child === undefined) { continue; }
              node.append(typeof child === 'string' ? document.createTextNode(child) : child);
            }
            return node;
          }

          function text(value) {
            if (value === null || value === undefined) { return ''; }
            return typeof value === 'string' ? value : JSON.stringify(value);
          }

          // A definition list of [label, value] pairs; empty values are left out.
          function details(pairs) {
            var list = el('dl');
            pairs.forEach(function (pair) {
              if (pair[1] === null || pair[1] === undefined || pair[1] === '') { return; }
              list.append(el('dt', { text: pair[0] }), el('dd', {}, pair[1] instanceof Node ? pair[1] : text(pair[1])));
            });
            return list;
          }

        """#
}

/// The stylesheet both pages start from (colours, focus outlines, layout), and the narrow-screen rules each
/// page ends with.
public enum PageStyles {
    public static let base = #"""
        :root { color-scheme: light; --ink: #1b1f24; --muted: #4a5361; --line: #c9d1db; --accent: #0b5cad;
          --ok: #0f6b2f; --bad: #a4161a; --warn: #7a4b00; --paper: #ffffff; --wash: #f3f5f8; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
          background: var(--wash); }
        .bar { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; justify-content: space-between;
          padding: .75rem 1rem; background: var(--accent); color: #fff; }
        .bar h1 { margin: 0; font-size: 1.25rem; }
        main { max-width: 72rem; margin: 0 auto; padding: 1rem; }
        section { background: var(--paper); border: 1px solid var(--line); border-radius: 6px; padding: 1rem;
          margin-bottom: 1rem; }
        label { display: block; font-weight: 600; margin: .25rem 0; }
        .check { display: flex; gap: .4rem; align-items: center; }
        .check label { display: inline; font-weight: normal; }
        button { padding: .45rem .9rem; border: 1px solid var(--accent); border-radius: 4px; background: var(--accent);
          color: #fff; cursor: pointer; }
        button.quiet { background: transparent; border-color: #fff; color: #fff; }
        :focus-visible { outline: 3px solid #f2b600; outline-offset: 2px; }
        dl { display: grid; grid-template-columns: max-content 1fr; gap: .15rem .75rem; margin: .25rem 0; }
        dt { font-weight: 600; color: var(--muted); }
        dd { margin: 0; overflow-wrap: anywhere; }
        .badge { display: inline-block; padding: 0 .45rem; border-radius: 999px; font-size: .85rem; font-weight: 600;
          border: 1px solid currentColor; color: var(--muted); white-space: nowrap; }
        .scroll { overflow-x: auto; }
        table { border-collapse: collapse; width: 100%; }
        th, td { text-align: left; vertical-align: top; padding: .4rem; border-bottom: 1px solid var(--line);
          overflow-wrap: anywhere; }
        .error { color: var(--bad); font-weight: 600; }
        .hint, .empty { color: var(--muted); }
        .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }

        """#

    public static let narrowScreens = #"""
        @media (max-width: 40rem) {
          main { padding: .5rem; }
          dl { grid-template-columns: 1fr; }
          thead { display: none; }
          tr { display: block; border-bottom: 1px solid var(--line); padding: .4rem 0; }
          td { display: block; border: 0; padding: .1rem .4rem; }
        }

        """#
}
