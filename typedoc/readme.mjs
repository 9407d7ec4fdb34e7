// TypeDoc plugin for the README as the reference's front page: its `# concurrent-futures` title
// goes, since the page already carries the project's name; and a heading with code in it keeps
// that code in the page's table of contents and in its anchor (TypeDoc takes a heading's plain
// text only, so that "`AsyncPoolExecutor(maxWorkers)`" came out empty).
import { Application, Converter } from 'typedoc';

/** Heading code as `<code>` around plain text: rendered the same, and read by TypeDoc's heading text. */
function codeInHeadingsAsText(md) {
  md.core.ruler.push('heading-code-as-text', (state) => {
    for (let i = 0; i + 1 < state.tokens.length; i++) {
      if (state.tokens[i].type !== 'heading_open') continue;
      const inline = state.tokens[i + 1];
      inline.children = (inline.children ?? []).flatMap((child) => {
        if (child.type !== 'code_inline') return [child];
        const parts = [['html_inline', '<code>'], ['text', child.content], ['html_inline', '</code>']];
        return parts.map(([type, content]) => Object.assign(new state.Token(type, '', 0), { content }));
      });
    }
  });
}

export function load(app) {
  // Once the options are read: reading them sets every option back to its default first.
  app.on(Application.EVENT_BOOTSTRAP_END, () => {
    const loader = app.options.getValue('markdownItLoader');
    app.options.setValue('markdownItLoader', (md) => {
      loader(md);
      codeInHeadingsAsText(md);
    });
  });

  app.converter.on(Converter.EVENT_RESOLVE_END, (context) => {
    const { project } = context;
    const first = project.readme?.[0];
    if (first?.kind !== 'text') return;
    const title = `# ${project.name}\n`;
    if (first.text.startsWith(title)) first.text = first.text.slice(title.length).replace(/^\n+/, '');
  });
}
