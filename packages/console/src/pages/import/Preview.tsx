import type { ParsedItem } from './parse-file.js';

/** What will happen to each item: created, updated, skipped as existing, or refused and why. */
export function Preview({
  items,
  existing,
  overwrite,
}: {
  items: ParsedItem[];
  existing: ReadonlySet<string>;
  overwrite: boolean;
}) {
  const outcome = (item: ParsedItem): [string, string] => {
    if (item.problem) return ['bad', `fails validation: ${item.problem}`];
    if (existing.has(item.input.key)) return overwrite ? ['update', 'will be updated'] : ['bad', 'exists: refused unless “Update keys that already exist” is ticked'];
    return ['create', 'will be created'];
  };
  const failing = items.filter((item) => outcome(item)[0] === 'bad').length;
  return (
    <section aria-labelledby="preview-title">
      <h2 id="preview-title">
        Preview: {items.length - failing} to import, {failing} failing
      </h2>
      <div class="table-scroll preview">
        <table class="table">
          <thead>
            <tr>
              <th scope="col">Key</th>
              <th scope="col">Value</th>
              <th scope="col">Result</th>
            </tr>
          </thead>
          <tbody>
            {items.map((item, i) => {
              const [kind, text] = outcome(item);
              return (
                <tr key={i} class={`outcome-${kind}`}>
                  <td class="mono">{String(item.input.key)}</td>
                  <td>{typeof item.input.value === 'string' ? `${item.input.value.length} characters` : '—'}</td>
                  <td>{text}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}
