import { ScrollRegion } from '../../components/ScrollRegion.js';
import type { ParsedItem } from './parse-file.js';

/** What will happen to one item: ['create' | 'update' | 'bad', in words]. */
export function outcomeOf(
  item: ParsedItem,
  existing: ReadonlySet<string>,
  overwrite: boolean,
): [string, string] {
  if (item.problem) return ['bad', `fails validation: ${item.problem}`];
  if (existing.has(item.input.key)) {
    return overwrite
      ? ['update', 'will be updated']
      : ['bad', 'exists: refused unless “Update keys that already exist” is ticked'];
  }
  return ['create', 'will be created'];
}

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
  const outcome = (item: ParsedItem) => outcomeOf(item, existing, overwrite);
  const failing = items.filter((item) => outcome(item)[0] === 'bad').length;
  return (
    <section aria-labelledby="preview-title">
      <h2 id="preview-title">
        Preview: {items.length - failing} to import, {failing} failing
      </h2>
      <ScrollRegion label="Preview" extra="preview">
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
                  <td>
                    {typeof item.input.value === 'string'
                      ? `${item.input.value.length} character${item.input.value.length === 1 ? '' : 's'}`
                      : '—'}
                  </td>
                  <td>{text}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </ScrollRegion>
    </section>
  );
}
